// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-timers FILE: state a restore must bring back beyond memory and
// files. Three periodic timers of 50 ms (a timerfd, a POSIX timer, an
// itimer) count their expirations, and a second thread runs with its own
// CPU affinity (the highest CPU it may use), scheduling policy
// (SCHED_BATCH) and nice value (7). Every 50 ms FILE gets "TIMERFD POSIX ITIMER WORKER-TID" (the
// thread id as the process's pid namespace sees it).
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace
{
std::atomic<long> posixExpirations{0};
std::atomic<long> itimerExpirations{0};
std::atomic<pid_t> workerTid{0};

void onPosixTimer(int)
{
    ++posixExpirations;
}

void onItimer(int)
{
    ++itimerExpirations;
}

void *worker(void *)
{
    // The highest CPU this thread may run on.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    ::sched_getaffinity(0, sizeof allowed, &allowed);
    int last = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        last = CPU_ISSET(cpu, &allowed) ? cpu : last;
    }
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(last, &cpus);
    sched_param parameter{};
    if (::sched_setaffinity(0, sizeof cpus, &cpus) != 0 || ::sched_setscheduler(0, SCHED_BATCH, &parameter) != 0 || ::setpriority(PRIO_PROCESS, 0, 7) != 0) {
        std::perror("rewind-test-timers: worker");
        ::_exit(1);
    }
    workerTid = pid_t(::syscall(SYS_gettid)); // only once all of it is set
    for (;;) {
        ::pause();
    }
    return nullptr;
}
} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-timers FILE\n");
        return 2;
    }
    const itimerspec period{{0, 50'000'000}, {0, 50'000'000}};

    const int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (timer < 0 || ::timerfd_settime(timer, 0, &period, nullptr) != 0) {
        std::perror("rewind-test-timers: timerfd");
        return 1;
    }

    std::signal(SIGUSR1, onPosixTimer);
    sigevent event{};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGUSR1;
    timer_t posixTimer;
    if (::timer_create(CLOCK_MONOTONIC, &event, &posixTimer) != 0 || ::timer_settime(posixTimer, 0, &period, nullptr) != 0) {
        std::perror("rewind-test-timers: timer_create");
        return 1;
    }

    std::signal(SIGALRM, onItimer);
    const itimerval interval{{0, 50'000}, {0, 50'000}};
    if (::setitimer(ITIMER_REAL, &interval, nullptr) != 0) {
        std::perror("rewind-test-timers: setitimer");
        return 1;
    }

    pthread_t thread;
    if (::pthread_create(&thread, nullptr, worker, nullptr) != 0) {
        std::perror("rewind-test-timers: pthread_create");
        return 1;
    }

    long timerfdExpirations = 0;
    for (;;) {
        std::uint64_t expired = 0;
        if (::read(timer, &expired, sizeof expired) == sizeof expired) {
            timerfdExpirations += long(expired);
        }
        char line[128];
        const int length =
            std::snprintf(line, sizeof line, "%ld %ld %ld %d\n", timerfdExpirations, posixExpirations.load(), itimerExpirations.load(), int(workerTid.load()));
        // Whole or not at all for a reader: written beside it, then renamed.
        char temporary[4096];
        std::snprintf(temporary, sizeof temporary, "%s.new", argv[1]);
        const int fd = ::open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            const bool written = ::write(fd, line, size_t(length)) == length;
            ::close(fd);
            if (written) {
                ::rename(temporary, argv[1]);
            }
        }
    }
}
