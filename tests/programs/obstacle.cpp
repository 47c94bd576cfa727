// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-obstacle KIND: makes one thing CRIU cannot dump, as an
// application would, writes "ready" to /tmp/obstacle.ready and waits forever.
//   nested-user, nested-ipc, nested-uts, nested-pid, nested-time,
//   nested-cgroup: a user namespace of its own, with (for all but
//   nested-user) a namespace of that kind beside it, as browsers' sandboxes
//   make them (Firefox: CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWPID ...).
//   A cell forbids new user namespaces; the program waits until it may make
//   one, so that a test can lift the cell's limit first. For nested-pid and
//   nested-time a child is born into the new namespace; for nested-pid the
//   program then ends and leaves its child.
//   message-queue: a POSIX message queue held open.
//   queued-credentials: a unix socket that asks for its senders'
//   credentials (SO_PASSCRED, as sd-bus does) with a message it has not
//   read yet.
//   vsock: a socket for talking to a virtual machine or its host (AF_VSOCK).
//   vsock-in-flight: an AF_VSOCK socket sent over a unix socket and not
//   received yet, held by nothing else: in flight, where the scan cannot see it.
//   receive-file fd|map|cwd SOCKET: receives a descriptor over the unix
//   socket SOCKET, closes the connection, and keeps the file open, maps it
//   (the descriptor closed) or makes the directory its working directory.
//   traced-child: traces a child of its own, as a debugger or a crash
//   handler does (PTRACE_SEIZE).
//   probed: calls rewindTestProbeTarget() every 20 ms, for a test to set
//   a uprobe on (writes ready first).
//   exec-when-nesting-allowed COMMAND...: waits until the cell allows user
//   namespaces, then runs COMMAND (a real application, such as a browser).
//   mptcp: a Multipath TCP socket listening on 127.0.0.1, as Go programs
//   make their listeners.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace
{
void markReady()
{
    const int fd = ::open("/tmp/obstacle.ready", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!::write(fd, "ready", 5);
        ::close(fd);
    }
}

[[noreturn]] void waitForever()
{
    for (;;) {
        ::pause();
    }
}

/// unshare(CLONE_NEWUSER | FLAGS), once the cell allows a user namespace.
bool unshareWhenAllowed(int flags)
{
    for (;;) {
        if (::unshare(CLONE_NEWUSER | flags) == 0) {
            return true;
        }
        // ENOSPC: the cell's user.max_user_namespaces is 0, as Rewind sets it.
        if (errno != ENOSPC) {
            std::fprintf(stderr, "rewind-test-obstacle: unshare: %s\n", std::strerror(errno));
            return false;
        }
        const timespec pause{.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
}

int nestedNamespace(const std::string &kind)
{
    int flags = 0;
    bool child = false;
    if (kind == "nested-ipc") {
        flags = CLONE_NEWIPC;
    } else if (kind == "nested-uts") {
        flags = CLONE_NEWUTS;
    } else if (kind == "nested-pid") {
        flags = CLONE_NEWPID;
        child = true;
    } else if (kind == "nested-time") {
        flags = CLONE_NEWTIME;
        child = true;
    } else if (kind == "nested-cgroup") {
        flags = CLONE_NEWCGROUP;
    } else if (kind != "nested-user") {
        return 2;
    }
    if (!unshareWhenAllowed(flags)) {
        return 1;
    }
    if (child) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            return 1;
        }
        if (pid == 0) {
            markReady();
            waitForever();
        }
        // The first process of a PID namespace stays alone: CRIU, which
        // looks at a parent first, then names that namespace.
        if (flags == CLONE_NEWPID) {
            return 0;
        }
    }
    markReady();
    waitForever();
}
}

// The probed function: its first instruction is one the kernel single-steps
// out of line (a push or a jump it would emulate, and map no code page for).
#if defined(__x86_64__)
asm(".text\n"
    ".globl rewindTestProbeTarget\n"
    ".type rewindTestProbeTarget, @function\n"
    "rewindTestProbeTarget:\n"
    "    lea 1(%rdi), %eax\n"
    "    ret\n"
    ".size rewindTestProbeTarget, .-rewindTestProbeTarget\n");
extern "C" int rewindTestProbeTarget(int value);
#else
extern "C" __attribute__((noinline, used)) int rewindTestProbeTarget(int value)
{
    return value + 1;
}
#endif

/// One descriptor received over the unix socket at PATH; -1 on failure.
int receiveDescriptor(const char *path)
{
    const int connection = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (connection < 0 || ::connect(connection, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0) {
        return -1;
    }
    char byte = 0;
    iovec data{.iov_base = &byte, .iov_len = 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    int fd = -1;
    if (::recvmsg(connection, &message, 0) == 1) {
        const cmsghdr *rights = CMSG_FIRSTHDR(&message);
        if (rights && rights->cmsg_type == SCM_RIGHTS) {
            std::memcpy(&fd, CMSG_DATA(rights), sizeof fd);
        }
    }
    ::close(connection);
    return fd;
}

int heldFromOutside(const std::string &mode, const char *path)
{
    const int fd = receiveDescriptor(path);
    if (fd < 0) {
        std::fprintf(stderr, "rewind-test-obstacle: nothing received at %s\n", path);
        return 1;
    }
    if (mode == "map") {
        if (::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) {
            return 1;
        }
        ::close(fd);
    } else if (mode == "cwd") {
        if (::fchdir(fd) < 0) {
            return 1;
        }
        ::close(fd);
    } else if (mode != "fd") {
        return 2;
    }
    markReady();
    waitForever();
}

/// Whether a new process may make a user namespace now.
bool userNamespacesAllowed()
{
    const pid_t probe = ::fork();
    if (probe == 0) {
        _exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    }
    int status = 0;
    return probe > 0 && ::waitpid(probe, &status, 0) == probe && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && std::string(argv[1]) == "exec-when-nesting-allowed") {
        while (!userNamespacesAllowed()) {
            const timespec pause{.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
            ::nanosleep(&pause, nullptr);
        }
        ::execvp(argv[2], argv + 2);
        std::fprintf(stderr, "rewind-test-obstacle: %s: %s\n", argv[2], std::strerror(errno));
        return 127;
    }
    if (argc == 4 && std::string(argv[1]) == "receive-file") {
        return heldFromOutside(argv[2], argv[3]);
    }
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-obstacle KIND\n");
        return 2;
    }
    const std::string kind = argv[1];
    if (kind == "message-queue") {
        const std::string name = "/rewind-test-obstacle-" + std::to_string(::getpid());
        mq_attr attributes{};
        attributes.mq_maxmsg = 4;
        attributes.mq_msgsize = 64;
        const mqd_t queue = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attributes);
        if (queue == mqd_t(-1)) {
            std::fprintf(stderr, "rewind-test-obstacle: mq_open: %s\n", std::strerror(errno));
            return 1;
        }
        ::mq_unlink(name.c_str());
        markReady();
        waitForever();
    }
    if (kind == "queued-credentials") {
        int pair[2];
        const int on = 1;
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 || ::setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0
            || ::write(pair[0], "unread", 6) != 6) {
            std::fprintf(stderr, "rewind-test-obstacle: %s\n", std::strerror(errno));
            return 1;
        }
        markReady();
        waitForever();
    }
    if (kind == "mptcp") {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0 || ::listen(fd, 4) < 0) {
            std::fprintf(stderr, "rewind-test-obstacle: MPTCP: %s\n", std::strerror(errno));
            return 1;
        }
        markReady();
        waitForever();
    }
    if (kind == "vsock-in-flight") {
        int pair[2];
        const int vsock = ::socket(AF_VSOCK, SOCK_STREAM, 0);
        if (vsock < 0 || ::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) {
            std::fprintf(stderr, "rewind-test-obstacle: %s\n", std::strerror(errno));
            return 1;
        }
        char byte = 'x';
        iovec data{.iov_base = &byte, .iov_len = 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr message{};
        message.msg_iov = &data;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        cmsghdr *rights = CMSG_FIRSTHDR(&message);
        rights->cmsg_level = SOL_SOCKET;
        rights->cmsg_type = SCM_RIGHTS;
        rights->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(rights), &vsock, sizeof vsock);
        if (::sendmsg(pair[0], &message, 0) != 1) {
            std::fprintf(stderr, "rewind-test-obstacle: sendmsg: %s\n", std::strerror(errno));
            return 1;
        }
        ::close(vsock);
        markReady();
        waitForever();
    }
    if (kind == "traced-child") {
        const pid_t child = ::fork();
        if (child < 0) {
            return 1;
        }
        if (child == 0) {
            waitForever();
        }
        if (::ptrace(PTRACE_SEIZE, child, nullptr, nullptr) < 0) {
            std::fprintf(stderr, "rewind-test-obstacle: PTRACE_SEIZE: %s\n", std::strerror(errno));
            return 1;
        }
        markReady();
        waitForever();
    }
    if (kind == "probed") {
        markReady();
        for (int calls = 0;; calls = rewindTestProbeTarget(calls)) {
            const timespec pause{.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
            ::nanosleep(&pause, nullptr);
        }
    }
    if (kind == "vsock") {
        if (::socket(AF_VSOCK, SOCK_STREAM, 0) < 0) {
            std::fprintf(stderr, "rewind-test-obstacle: AF_VSOCK: %s\n", std::strerror(errno));
            return 1;
        }
        markReady();
        waitForever();
    }
    return nestedNamespace(kind);
}
