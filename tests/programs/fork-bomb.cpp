// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-fork-bomb FILE: forks children that wait forever, as fast as
// it can and for ever, and keeps FILE holding "started N refused M": how
// many children it made and how many forks the kernel refused.
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-fork-bomb FILE\n");
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror("rewind-test-fork-bomb");
        return 1;
    }
    long started = 0;
    long refused = 0;
    const timespec pause{0, 1000 * 1000};
    for (;;) {
        const pid_t child = ::fork();
        if (child == 0) {
            for (;;) {
                ::pause();
            }
        }
        if (child > 0) {
            ++started;
        } else if (errno == EAGAIN) {
            ++refused;
            nanosleep(&pause, nullptr); // the limit holds: keep trying, a little slower
        } else {
            std::perror("rewind-test-fork-bomb: fork");
            return 1;
        }
        // Fixed width: a reader never sees the file half rewritten.
        char text[64];
        const int length = std::snprintf(text, sizeof text, "started %8ld refused %8ld\n", started, refused);
        if (::pwrite(fd, text, length, 0) != length) {
            return 1;
        }
    }
}
