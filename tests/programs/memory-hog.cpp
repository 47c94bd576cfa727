// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-memory-hog FILE: takes memory in steps of 4 MiB, touching
// every page, up to 4 GiB, and keeps FILE holding how many MiB it holds.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-memory-hog FILE\n");
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror("rewind-test-memory-hog");
        return 1;
    }
    constexpr size_t step = 4 * 1024 * 1024;
    for (size_t held = step; held <= 4096 * size_t(1024 * 1024); held += step) {
        char *memory = static_cast<char *>(std::malloc(step));
        if (!memory) {
            return 1;
        }
        std::memset(memory, 0x5a, step);
        char text[32];
        const int length = std::snprintf(text, sizeof text, "%zu\n", held / (1024 * 1024));
        if (::pwrite(fd, text, length, 0) != length) {
            return 1;
        }
    }
    for (;;) {
        ::pause();
    }
}
