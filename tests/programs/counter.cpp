// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-counter FILE: counts up every 10 ms and keeps FILE holding the
// current value, so a test can tell whether a restored process carried on.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-counter FILE\n");
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        std::perror("rewind-test-counter");
        return 1;
    }
    const timespec tick{0, 10 * 1000 * 1000};
    for (long value = 1;; ++value) {
        char text[32];
        const int length = std::snprintf(text, sizeof text, "%ld\n", value);
        if (::pwrite(fd, text, length, 0) != length) {
            return 1;
        }
        nanosleep(&tick, nullptr);
    }
}
