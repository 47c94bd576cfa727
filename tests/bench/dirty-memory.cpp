// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-bench-dirty-memory MB PERCENT READY_FILE: a memory hog for the
// benchmark. Allocates MB megabytes, fills them with pseudo-random data that
// neither compresses nor deduplicates, creates READY_FILE, then rewrites one
// word in PERCENT % of its pages (chosen at random) every 100 ms, so that its
// memory keeps changing between snapshots.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace
{

/// splitmix64: a fast generator whose output never repeats within 2^64 values.
struct Random {
    uint64_t state;
    uint64_t next()
    {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: rewind-bench-dirty-memory MB PERCENT READY_FILE\n");
        return 2;
    }
    const long megabytes = std::strtol(argv[1], nullptr, 10);
    const double percent = std::strtod(argv[2], nullptr);
    if (megabytes <= 0 || percent < 0 || percent > 100) {
        std::fprintf(stderr, "rewind-bench-dirty-memory: MB must be positive and PERCENT between 0 and 100\n");
        return 2;
    }
    const size_t pageSize = size_t(::sysconf(_SC_PAGESIZE));
    const size_t size = size_t(megabytes) * 1024 * 1024;
    void *mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
        std::perror("rewind-bench-dirty-memory: mmap");
        return 1;
    }
    auto *words = static_cast<uint64_t *>(mapped);
    const size_t wordCount = size / sizeof(uint64_t);
    const size_t wordsPerPage = pageSize / sizeof(uint64_t);
    const size_t pages = size / pageSize;

    Random random{uint64_t(::getpid()) ^ uint64_t(std::time(nullptr))};
    for (size_t i = 0; i < wordCount; ++i) {
        words[i] = random.next();
    }

    const int ready = ::open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ready < 0) {
        std::perror("rewind-bench-dirty-memory: ready file");
        return 1;
    }
    ::close(ready);

    const size_t touchedPerTick = size_t(double(pages) * percent / 100.0);
    const timespec tick{0, 100 * 1000 * 1000};
    for (;;) {
        for (size_t i = 0; i < touchedPerTick; ++i) {
            const size_t page = random.next() % pages;
            words[page * wordsPerPage + random.next() % wordsPerPage] = random.next();
        }
        nanosleep(&tick, nullptr);
    }
}
