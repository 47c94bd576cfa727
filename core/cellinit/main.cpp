// SPDX-License-Identifier: GPL-2.0-or-later
//
// rewind-cell-init: starts a checkpointable cell and is its pid 1.
//
//   rewind-cell-init [--cgroup DIR]... [--max-processes N] [--owner UID:GID] [--tmp-size BYTES] [--hostname NAME] [--log FILE] [--wait-for-start]
//                    -- COMMAND [ARG...]
//
// The calling process (root) joins each cgroup DIR (the cell's cgroup v2
// directory, and its directories in cgroup v1 hierarchies that limit it),
// sets RLIMIT_NPROC to N where no pids controller limits the cell (the
// kernel counts it per user in the cell's user namespace, so per cell) and, in a mount namespace
// of its own, detaches the mounts a cell must not have (the host's /tmp,
// tmpfs and kernel file systems below /proc, /sys, /dev and /run). It then
// clones the cell's init into a new user namespace that owns the cell's pid,
// mount, ipc, uts and network namespaces (the last with only its loopback up). The user namespace maps the owner's uid and
// gid to themselves and the cell's root to CellIds::root, an unprivileged id
// Rewind reserves; nothing else, so host root is nobody inside. CRIU, as host
// root, holds every capability in it (which it lacks towards another uid
// outside: CAP_SYS_RESOURCE), while a restore opens files with no more than
// the cell's root may, which is what the owner may.
//
// The init makes itself session leader (CRIU refuses a session whose leader
// is outside the pid namespace), gives the cell a private /proc, /tmp,
// /dev/shm and /dev/pts, forbids nested user namespaces, opens its stdio inside its own
// mount namespace (CRIU cannot resolve an fd opened before the unshare),
// closes everything else, runs COMMAND and reaps every process of the cell.
// Once the init is ready the caller prints its pid and returns, so a cell
// outlives the program that started it. With --wait-for-start the init runs
// COMMAND only once it gets SIGUSR1, so that whoever started the cell can
// first connect it to the network from outside (CellNetwork). SIGTERM to the init stops the whole
// cell: SIGTERM to every process of it, and SIGKILL to those still there 5 s
// later.
//
// Deliberately free of Qt: this process is part of every snapshot.

#include "../CellIds.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace
{

/// How long the processes of an ending cell get between SIGTERM and SIGKILL.
constexpr long long killDelaySeconds = 5;

struct Options {
    int readyFd = -1; ///< set in the init itself, after it re-executed
    std::vector<std::string> cgroups;
    unsigned long long maxProcesses = 0; ///< RLIMIT_NPROC; 0: unchanged
    uid_t ownerUid = 0;
    gid_t ownerGid = 0;
    std::string tmpSize; ///< bytes, of /tmp and /dev/shm each; empty: tmpfs's default
    std::string hostname = "rewind-cell";
    std::string log = "/dev/null";
    bool waitForStart = false; ///< run the command at SIGUSR1 only
    std::vector<char *> command;
};

[[noreturn]] void usage()
{
    std::fprintf(stderr,
                 "usage: rewind-cell-init [--cgroup DIR]... [--max-processes N] [--owner UID:GID] [--tmp-size BYTES] [--hostname NAME] [--log FILE] "
                 "[--wait-for-start] -- COMMAND [ARG...]\n");
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
        if (arg == "--wait-for-start") {
            options.waitForStart = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage();
        }
        if (arg == "--init-ready-fd") {
            options.readyFd = std::atoi(argv[++i]);
        } else if (arg == "--cgroup") {
            options.cgroups.emplace_back(argv[++i]);
        } else if (arg == "--max-processes") {
            const std::string value = argv[++i];
            if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos) {
                usage();
            }
            options.maxProcesses = std::stoull(value);
            if (options.maxProcesses == 0) {
                usage();
            }
        } else if (arg == "--owner") {
            unsigned long uid = 0;
            unsigned long gid = 0;
            char end = 0;
            if (std::sscanf(argv[++i], "%lu:%lu%c", &uid, &gid, &end) != 2 || uid == Rewind::CellIds::root || gid == Rewind::CellIds::rootGroup
                || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1) {
                usage();
            }
            options.ownerUid = uid_t(uid);
            options.ownerGid = gid_t(gid);
        } else if (arg == "--tmp-size") {
            options.tmpSize = argv[++i];
            if (options.tmpSize.empty() || options.tmpSize.find_first_not_of("0123456789") != std::string::npos) {
                usage();
            }
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

bool startsWith(const std::string &text, const char *prefix)
{
    return text.rfind(prefix, 0) == 0;
}

/// Whether a mount of the host stays visible in the cell. The cell keeps the
/// root and the file systems that hold files (disks, binds of them, network
/// shares), plus the /proc, /sys, /dev and /run it cannot mount afresh
/// inside a user namespace (they are external to its snapshots). The
/// host's /tmp, memory file systems elsewhere (other users' files) and
/// everything mounted below /proc, /sys, /dev and /run go: mounts copied into
/// a user namespace are locked together and could not be removed there.
bool belongsInCell(const std::string &mountPoint, const std::string &fsType)
{
    if (mountPoint == "/" || mountPoint == "/dev" || mountPoint == "/run") {
        return true;
    }
    if (mountPoint == "/proc") {
        return fsType == "proc"; // the cell's own proc can only be mounted over a visible one
    }
    if (mountPoint == "/sys") {
        return fsType == "sysfs";
    }
    for (const char *tree : {"/proc/", "/sys/", "/dev/", "/run/", "/tmp/"}) {
        if (startsWith(mountPoint, tree)) {
            return false;
        }
    }
    if (mountPoint == "/tmp") {
        return false;
    }
    // Mounted by users themselves (fusermount): they could change what is
    // there, or make whoever reads it wait forever.
    if (fsType == "fuse" || startsWith(fsType, "fuse.")) {
        return false;
    }
    static const char *const memoryOrKernel[] = {"tmpfs",   "ramfs",     "proc",    "sysfs",       "devpts", "devtmpfs", "mqueue",
                                                 "cgroup",  "cgroup2",   "debugfs", "tracefs",     "pstore", "bpf",      "configfs",
                                                 "fusectl", "hugetlbfs", "autofs",  "binfmt_misc", "nsfs",   "efivarfs", "securityfs"};
    return std::none_of(std::begin(memoryOrKernel), std::end(memoryOrKernel), [&fsType](const char *type) {
        return fsType == type;
    });
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string &field)
{
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            out += char(std::stoi(field.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

/// The mount point of the last listed mount of this mount namespace that
/// does not belong in the cell (the last listed lies on top of the others);
/// empty when there is none.
std::string lastUnwantedMount()
{
    FILE *mountinfo = std::fopen("/proc/self/mountinfo", "re");
    if (!mountinfo) {
        return {};
    }
    std::string unwanted;
    char *line = nullptr;
    size_t capacity = 0;
    while (::getline(&line, &capacity, mountinfo) > 0) {
        std::vector<std::string> fields;
        for (char *field = std::strtok(line, " \n"); field; field = std::strtok(nullptr, " \n")) {
            fields.emplace_back(field);
        }
        const auto separator = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 7 || separator == fields.end() || separator + 1 == fields.end()) {
            continue;
        }
        const std::string mountPoint = unescape(fields[4]);
        if (!belongsInCell(mountPoint, *(separator + 1))) {
            unwanted = mountPoint;
        }
    }
    std::free(line);
    std::fclose(mountinfo);
    return unwanted;
}

/// Detaches, in this (private) mount namespace, every mount the cell must not have.
bool detachHostMounts()
{
    for (int round = 0; round < 10000; ++round) {
        const std::string mountPoint = lastUnwantedMount();
        if (mountPoint.empty()) {
            return true;
        }
        if (::umount2(mountPoint.c_str(), MNT_DETACH) < 0) {
            std::fprintf(stderr, "rewind-cell-init: cannot keep %s out of the cell: %s\n", mountPoint.c_str(), std::strerror(errno));
            return false;
        }
    }
    errno = ELOOP;
    return false;
}

bool writeProcFile(const std::string &path, const std::string &content)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    const bool written = fd >= 0 && ::write(fd, content.data(), content.size()) == ssize_t(content.size());
    if (fd >= 0) {
        ::close(fd);
    }
    return written;
}

/// The cell's id maps: its root to the reserved id, the owner to themselves
/// (without an owner, the cell's root is all there is).
bool writeIdMaps(pid_t init, const Options &options)
{
    std::string uids = "0 " + std::to_string(Rewind::CellIds::root) + " 1\n";
    std::string gids = "0 " + std::to_string(Rewind::CellIds::rootGroup) + " 1\n";
    if (options.ownerUid != 0) {
        uids += std::to_string(options.ownerUid) + ' ' + std::to_string(options.ownerUid) + " 1\n";
    }
    if (options.ownerGid != 0) {
        gids += std::to_string(options.ownerGid) + ' ' + std::to_string(options.ownerGid) + " 1\n";
    }
    const std::string proc = "/proc/" + std::to_string(init);
    return writeProcFile(proc + "/uid_map", uids) && writeProcFile(proc + "/gid_map", gids);
}

/// The cell's own network namespace starts with its loopback down; the
/// cell's root holds CAP_NET_ADMIN there (its user namespace owns it). The
/// way out, if any, is added from outside (CellNetwork).
bool bringUpLoopback()
{
    const int socketFd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socketFd < 0) {
        return false;
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ::ioctl(socketFd, SIOCGIFFLAGS, &request) == 0;
    request.ifr_flags |= IFF_UP;
    up = up && ::ioctl(socketFd, SIOCSIFFLAGS, &request) == 0;
    ::close(socketFd);
    return up;
}

void setUpCell(const Options &options, int readyFd)
{
    // The maps are written: become the root of the user namespace, with no
    // supplementary group of the host's root left.
    if (::setgroups(0, nullptr) < 0 || ::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) {
        failSetup(readyFd, "becoming the cell's root");
    }
    if (::setsid() < 0) {
        failSetup(readyFd, "setsid");
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
        failSetup(readyFd, "making mounts private");
    }
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
        failSetup(readyFd, "mounting /proc");
    }
    // Memory the session's user fills: bounded, as an administrator set it.
    const std::string tmpOptions = options.tmpSize.empty() ? std::string("mode=1777") : "mode=1777,size=" + options.tmpSize;
    if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpOptions.c_str()) < 0) {
        failSetup(readyFd, "mounting a private /tmp");
    }
    if (::access("/dev/shm", F_OK) == 0 && ::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, tmpOptions.c_str()) < 0) {
        failSetup(readyFd, "mounting a private /dev/shm");
    }
    // Terminals of its own: a branch restores them with the same numbers.
    if (::access("/dev/pts", F_OK) == 0 && ::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0) {
        failSetup(readyFd, "mounting a private /dev/pts");
    }
    // Namespaces nested in the cell would make it undumpable: sandboxes of
    // browsers fall back to what works without them.
    if (!writeProcFile("/proc/sys/user/max_user_namespaces", "0")) {
        failSetup(readyFd, "forbidding nested user namespaces");
    }
    if (::sethostname(options.hostname.data(), options.hostname.size()) < 0) {
        failSetup(readyFd, "setting the host name");
    }
    if (!bringUpLoopback()) {
        failSetup(readyFd, "bringing up the cell's loopback");
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
    std::vector<char *> arguments{argv[0], const_cast<char *>("--init-ready-fd"), const_cast<char *>(fd.c_str())};
    if (options.waitForStart) {
        arguments.push_back(const_cast<char *>("--wait-for-start"));
    }
    arguments.push_back(const_cast<char *>("--"));
    arguments.insert(arguments.end(), options.command.begin(), options.command.end());
    ::execv(self, arguments.data());
    failSetup(readyFd, "running rewind-cell-init inside the cell");
}

/// Waits for SIGUSR1, the caller's word to run the command; a stop request
/// (SIGTERM, SIGINT, SIGHUP) ends the cell instead. SIGUSR1 and the signals
/// of handled are blocked already; SIGUSR1 is unblocked again on return, so
/// that the command does not inherit it blocked.
void waitForStart(const sigset_t &handled, const sigset_t &start)
{
    sigset_t waited = handled;
    sigaddset(&waited, SIGUSR1);
    for (;;) {
        const int signal = sigwaitinfo(&waited, nullptr);
        if (signal == SIGUSR1) {
            break;
        }
        if (signal == SIGTERM || signal == SIGINT || signal == SIGHUP) {
            _exit(0);
        }
    }
    sigprocmask(SIG_UNBLOCK, &start, nullptr);
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

    if (options.waitForStart) {
        // Blocked before the caller hears that the cell is up: the kernel
        // discards a signal pid 1 of a namespace has no handler for, so a
        // SIGUSR1 sent before sigwaitinfo would be lost, not kept pending.
        sigset_t start;
        sigemptyset(&start);
        sigaddset(&start, SIGUSR1);
        sigprocmask(SIG_BLOCK, &start, nullptr);
        ::close(readyFd); // tells the caller the cell is up, without its command yet
        readyFd = -1;
        waitForStart(handled, start);
    }
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
    if (readyFd >= 0) {
        ::close(readyFd); // tells the caller the cell is up
    }

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

    for (const std::string &cgroup : options.cgroups) {
        const std::string procs = cgroup + "/cgroup.procs";
        const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        const std::string self = std::to_string(::getpid());
        if (fd < 0 || ::write(fd, self.data(), self.size()) < 0) {
            std::fprintf(stderr, "rewind-cell-init: cannot join cgroup %s: %s\n", cgroup.c_str(), std::strerror(errno));
            return 1;
        }
        ::close(fd);
    }
    // Soft and hard: the cell's processes cannot raise it again.
    if (options.maxProcesses > 0) {
        const rlimit processes{rlim_t(options.maxProcesses), rlim_t(options.maxProcesses)};
        if (::setrlimit(RLIMIT_NPROC, &processes) < 0) {
            std::fprintf(stderr, "rewind-cell-init: cannot limit the cell's processes: %s\n", std::strerror(errno));
            return 1;
        }
    }
    // A mount namespace of root's own, to take out what the cell must not see.
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
        std::fprintf(stderr, "rewind-cell-init: cannot prepare the cell's mounts: %s\n", std::strerror(errno));
        return 1;
    }
    if (!detachHostMounts()) {
        return 1;
    }
    // Supplementary groups survive into a user namespace: root's must not.
    if (::setgroups(0, nullptr) < 0) {
        std::perror("rewind-cell-init: setgroups");
        return 1;
    }
    int ready[2];
    int mapped[2];
    if (::pipe(ready) < 0 || ::pipe2(mapped, O_CLOEXEC) < 0) {
        std::perror("rewind-cell-init: pipe");
        return 1;
    }
    // One clone: the user namespace comes first and owns the others. The
    // network namespace is the cell's own: its abstract sockets and ports do
    // not collide with a branch's or the host's.
    const pid_t init = pid_t(::syscall(SYS_clone,
                                       CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | SIGCHLD,
                                       nullptr,
                                       nullptr,
                                       nullptr,
                                       nullptr));
    if (init < 0) {
        std::fprintf(stderr, "rewind-cell-init: cannot create the cell's namespaces: %s\n", std::strerror(errno));
        return 1;
    }
    if (init == 0) {
        ::close(ready[0]);
        ::close(mapped[1]);
        char byte;
        while (::read(mapped[0], &byte, 1) < 0 && errno == EINTR) { }
        ::close(mapped[0]);
        becomeInit(options, argv, ready[1]);
    }
    ::close(mapped[0]);
    if (!writeIdMaps(init, options)) {
        std::fprintf(stderr, "rewind-cell-init: cannot map the cell's users and groups: %s\n", std::strerror(errno));
        ::kill(init, SIGKILL);
        ::waitpid(init, nullptr, 0);
        return 1;
    }
    ::close(mapped[1]); // the init goes on
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
