// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-vfork-waiter FIFO: makes the FIFO, and starts a child with
// vfork() that exits only when a byte arrives in it. Until then this process
// waits in vfork(), in state D, as a shell does for a moment whenever it
// starts a command; afterwards it sleeps.
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-vfork-waiter FIFO\n");
        return 2;
    }
    if (::mkfifo(argv[1], 0600) != 0) {
        std::perror("rewind-test-vfork-waiter: mkfifo");
        return 1;
    }
    const pid_t child = ::vfork();
    if (child == 0) {
        // Read and write, so that opening it waits for no writer.
        const int fd = ::open(argv[1], O_RDWR);
        char byte = 0;
        ::_exit(fd >= 0 && ::read(fd, &byte, 1) == 1 ? 0 : 1);
    }
    if (child < 0) {
        std::perror("rewind-test-vfork-waiter: vfork");
        return 1;
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    for (;;) {
        ::pause();
    }
}
