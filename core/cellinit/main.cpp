// SPDX-License-Identifier: GPL-2.0-or-later
//
// rewind-cell-init: starts a checkpointable cell and is its pid 1.
//
//   rewind-cell-init [--cgroup DIR] [--hostname NAME] [--log FILE] -- COMMAND [ARG...]
//
// The calling process joins the cgroup DIR, unshares pid, ipc, uts and mount
// namespaces and forks the cell's init. The init makes itself session leader
// (CRIU refuses a session whose leader is outside the pid namespace), gives
// the cell a private /proc and /tmp, opens its stdio inside its own mount
// namespace (CRIU cannot resolve an fd opened before the unshare), closes
// everything else, runs COMMAND and reaps every process of the cell. Once the
// init is ready the caller prints its pid and returns, so a cell outlives the
// program that started it. SIGTERM to the init stops the whole cell: SIGTERM
// to every process of it, and SIGKILL to those still there 5 s later.
//
// Deliberately free of Qt: this process is part of every snapshot.

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace
{

/// How long the processes of an ending cell get between SIGTERM and SIGKILL.
constexpr long long killDelaySeconds = 5;

struct Options {
    int readyFd = -1; ///< set in the init itself, after it re-executed
    std::string cgroup;
    std::string hostname = "rewind-cell";
    std::string log = "/dev/null";
    std::vector<char *> command;
};

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: rewind-cell-init [--cgroup DIR] [--hostname NAME] [--log FILE] -- COMMAND [ARG...]\n");
    std::exit(2);
}

Options parseOptions(int argc, char **argv)
{
    Options options;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (i + 1 >= argc) {
            usage();
        }
        if (arg == "--init-ready-fd") {
            options.readyFd = std::atoi(argv[++i]);
        } else if (arg == "--cgroup") {
            options.cgroup = argv[++i];
        } else if (arg == "--hostname") {
            options.hostname = argv[++i];
        } else if (arg == "--log") {
            options.log = argv[++i];
        } else {
            usage();
        }
    }
    for (; i < argc; ++i) {
        options.command.push_back(argv[i]);
    }
    if (options.command.empty()) {
        usage();
    }
    options.command.push_back(nullptr);
    return options;
}

/// Reports a failed set-up step to the waiting caller and gives up.
[[noreturn]] void failSetup(int readyFd, const char *step)
{
    char message[512];
    const int length = std::snprintf(message, sizeof message, "%s: %s", step, std::strerror(errno));
    if (length > 0) {
        (void)!::write(readyFd, message, std::min<size_t>(length, sizeof message - 1));
    }
    _exit(1);
}

/// Unmounts what is mounted at path, with everything below it; nothing if
/// path is a plain directory of its parent's mount.
void detachIfMountPoint(const char *path)
{
    while (::umount2(path, MNT_DETACH) == 0) { }
}

void setUpCell(const Options &options, int readyFd)
{
    if (::setsid() < 0) {
        failSetup(readyFd, "setsid");
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
        failSetup(readyFd, "making mounts private");
    }
    // The host's /proc and /tmp (if a mount of its own) leave the cell rather
    // than lie below the cell's: hidden, they would still be dumped or bound.
    detachIfMountPoint("/proc");
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
        failSetup(readyFd, "mounting /proc");
    }
    detachIfMountPoint("/tmp");
    if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) {
        failSetup(readyFd, "mounting a private /tmp");
    }
    if (::sethostname(options.hostname.data(), options.hostname.size()) < 0) {
        failSetup(readyFd, "setting the host name");
    }
    const int input = ::open("/dev/null", O_RDONLY);
    const int output = ::open(options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    if (input < 0 || output < 0) {
        failSetup(readyFd, "opening the cell's stdio");
    }
    ::dup2(input, STDIN_FILENO);
    ::dup2(output, STDOUT_FILENO);
    ::dup2(output, STDERR_FILENO);
    ::close(input);
    ::close(output);
}

void closeAllExcept(int keep)
{
    if (keep > 3) {
        ::close_range(3, keep - 1, 0);
    }
    ::close_range(std::max(3, keep + 1), ~0U, 0);
}

/// Sets up the cell and runs this program again inside it: the binary
/// mapped before the unshare lives on a mount of the parent's namespace,
/// which CRIU cannot find in the cell's.
[[noreturn]] void becomeInit(const Options &options, char **argv, int readyFd)
{
    setUpCell(options, readyFd);
    closeAllExcept(readyFd);
    char self[4096];
    const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) {
        failSetup(readyFd, "finding rewind-cell-init");
    }
    self[length] = '\0';
    const std::string fd = std::to_string(readyFd);
    std::vector<char *> arguments{argv[0], const_cast<char *>("--init-ready-fd"), const_cast<char *>(fd.c_str()), const_cast<char *>("--")};
    arguments.insert(arguments.end(), options.command.begin(), options.command.end());
    ::execv(self, arguments.data());
    failSetup(readyFd, "running rewind-cell-init inside the cell");
}

/// pid 1 of the cell: runs the command and reaps until the cell is empty.
[[noreturn]] void runInit(const Options &options, int readyFd)
{
    sigset_t handled;
    sigemptyset(&handled);
    for (int signal : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
        sigaddset(&handled, signal);
    }
    sigprocmask(SIG_BLOCK, &handled, nullptr);

    const pid_t main = ::fork();
    if (main < 0) {
        failSetup(readyFd, "starting the command");
    }
    if (main == 0) {
        ::close(readyFd);
        sigprocmask(SIG_UNBLOCK, &handled, nullptr);
        ::execvp(options.command[0], options.command.data());
        std::fprintf(stderr, "rewind-cell-init: cannot run %s: %s\n", options.command[0], std::strerror(errno));
        _exit(127);
    }
    ::close(readyFd); // tells the caller the cell is up

    int exitCode = 0;
    bool stopping = false;
    bool killed = false;
    timespec killAt{};
    // SIGTERM to everyone, then SIGKILL to whatever is still there 5 s later.
    const auto stop = [&] {
        stopping = true;
        clock_gettime(CLOCK_MONOTONIC, &killAt);
        killAt.tv_sec += killDelaySeconds;
        ::kill(-1, SIGTERM);
    };
    for (;;) {
        siginfo_t info;
        int signal;
        if (stopping && !killed) {
            timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long remaining = (killAt.tv_sec - now.tv_sec) * 1000000000LL + (killAt.tv_nsec - now.tv_nsec);
            // A restore may have moved the clock: never wait longer than the delay itself.
            remaining = std::min(remaining, killDelaySeconds * 1000000000LL);
            if (remaining <= 0) {
                killed = true;
                ::kill(-1, SIGKILL);
                continue;
            }
            const timespec wait{time_t(remaining / 1000000000LL), long(remaining % 1000000000LL)};
            signal = sigtimedwait(&handled, &info, &wait);
            if (signal < 0 && errno == EAGAIN) {
                killed = true;
                ::kill(-1, SIGKILL);
                continue;
            }
        } else {
            signal = sigwaitinfo(&handled, &info);
        }
        if (signal < 0) {
            continue; // EINTR, also after a restore
        }
        if (signal != SIGCHLD) {
            if (!stopping) {
                stop();
            } else {
                ::kill(-1, SIGTERM);
            }
            continue;
        }
        for (;;) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid == 0) {
                break;
            }
            if (pid < 0) {
                _exit(exitCode); // ECHILD: the cell is empty
            }
            // The main command ended: the session is over, so is the cell.
            // Its pid stays recorded only in this process, which a restore brings back.
            if (pid == main && !stopping) {
                exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                stop();
            }
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    const Options options = parseOptions(argc, argv);
    if (options.readyFd >= 0) {
        runInit(options, options.readyFd);
    }

    if (!options.cgroup.empty()) {
        const std::string procs = options.cgroup + "/cgroup.procs";
        const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        const std::string self = std::to_string(::getpid());
        if (fd < 0 || ::write(fd, self.data(), self.size()) < 0) {
            std::fprintf(stderr, "rewind-cell-init: cannot join cgroup %s: %s\n", options.cgroup.c_str(), std::strerror(errno));
            return 1;
        }
        ::close(fd);
    }
    if (::unshare(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS) < 0) {
        std::fprintf(stderr, "rewind-cell-init: cannot create the cell's namespaces: %s\n", std::strerror(errno));
        return 1;
    }
    int ready[2];
    if (::pipe(ready) < 0) {
        std::perror("rewind-cell-init: pipe");
        return 1;
    }
    const pid_t init = ::fork();
    if (init < 0) {
        std::perror("rewind-cell-init: fork");
        return 1;
    }
    if (init == 0) {
        ::close(ready[0]);
        becomeInit(options, argv, ready[1]);
    }
    ::close(ready[1]);
    char message[512];
    ssize_t length;
    do {
        length = ::read(ready[0], message, sizeof message - 1);
    } while (length < 0 && errno == EINTR);
    if (length > 0) {
        message[length] = '\0';
        std::fprintf(stderr, "rewind-cell-init: could not set up the cell: %s\n", message);
        ::waitpid(init, nullptr, 0);
        return 1;
    }
    std::printf("%d\n", init);
    return 0;
}
