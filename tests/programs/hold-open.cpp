// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-hold-open PATH: connects to PATH if it is a unix socket, opens
// it for reading otherwise (for writing where reading is refused, as the
// kernel log refuses it to a cell), and then waits forever, so that a test can look
// at a process holding such a thing.
// rewind-test-hold-open --pair PATH: listens on a unix socket at PATH and
// connects a child process to it: a connection that stays within the cell.
// --pending PATH does the same but never accepts the connection.
// rewind-test-hold-open --io-uring: holds an io_uring instance.
// rewind-test-hold-open --userfaultfd: holds a userfaultfd (user faults only).
// rewind-test-hold-open --saved-kernel-objects: holds an eventfd, an epoll,
// an inotify, a signalfd and a timerfd, which a snapshot saves.
// rewind-test-hold-open --tcp PORT: a TCP connection to 127.0.0.1:PORT;
// --tcp-listen 0 a TCP socket listening on 127.0.0.1.
// rewind-test-hold-open --read|--read-write|--map-shared|--cwd|--directory|--listen PATH:
// holds PATH open for reading, for reading and writing, mapped shared and writable (the
// descriptor closed), as its working directory, open as a directory, or a
// unix socket listening at PATH: what a restore reopens by path. Each writes
// "ready" to /tmp/hold-open.ready once it holds it.
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

namespace
{
sockaddr_un addressOf(const char *path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    return address;
}

bool connectTo(const char *path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un address = addressOf(path);
    return fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
}

/// With accept false the connection stays in the listener's queue, as an X
/// client's does for a moment after it connected.
bool connectPair(const char *path, bool accept = true)
{
    const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un address = addressOf(path);
    if (listener < 0 || ::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) < 0 || ::listen(listener, 1) < 0) {
        return false;
    }
    const pid_t child = ::fork();
    if (child < 0) {
        return false;
    }
    if (child == 0) {
        ::close(listener);
        return connectTo(path);
    }
    if (!accept) {
        return true;
    }
    return ::accept(listener, nullptr, nullptr) >= 0;
}
}

/// 127.0.0.1 at the port PORT names.
sockaddr_in loopback(const char *port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(std::atoi(port)));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

/// What a restore reopens by path, held as MODE says.
bool holdByPath(const std::string &mode, const char *path)
{
    if (mode == "--read") {
        return ::open(path, O_RDONLY) >= 0;
    }
    if (mode == "--read-write") {
        return ::open(path, O_RDWR) >= 0;
    }
    if (mode == "--map-shared") {
        const int fd = ::open(path, O_RDWR);
        struct stat status{};
        if (fd < 0 || ::fstat(fd, &status) != 0 || status.st_size <= 0) {
            return false;
        }
        const bool mapped = ::mmap(nullptr, size_t(status.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED;
        ::close(fd);
        return mapped;
    }
    if (mode == "--cwd") {
        return ::chdir(path) == 0;
    }
    if (mode == "--directory") {
        return ::open(path, O_RDONLY | O_DIRECTORY) >= 0;
    }
    if (mode == "--tcp") {
        const int connection = ::socket(AF_INET, SOCK_STREAM, 0);
        const sockaddr_in address = loopback(path);
        return connection >= 0 && ::connect(connection, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
    }
    if (mode == "--tcp-listen") {
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        const sockaddr_in address = loopback(path);
        return listener >= 0 && ::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 && ::listen(listener, 1) == 0;
    }
    if (mode == "--listen") {
        const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
        const sockaddr_un address = addressOf(path);
        return listener >= 0 && ::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 && ::listen(listener, 1) == 0;
    }
    return false;
}

int main(int argc, char **argv)
{
    bool held = false;
    if (argc == 2 && std::string(argv[1]) == "--io-uring") {
        io_uring_params parameters{};
        held = ::syscall(SYS_io_uring_setup, 4, &parameters) >= 0;
    } else if (argc == 2 && std::string(argv[1]) == "--userfaultfd") {
        held = ::syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY) >= 0;
    } else if (argc == 2 && std::string(argv[1]) == "--saved-kernel-objects") {
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGUSR1);
        held = ::eventfd(0, 0) >= 0 && ::epoll_create1(0) >= 0 && ::inotify_init1(0) >= 0 && ::signalfd(-1, &signals, 0) >= 0
            && ::timerfd_create(CLOCK_MONOTONIC, 0) >= 0;
    } else if (argc == 3 && std::string(argv[1]) == "--pair") {
        held = connectPair(argv[2]);
    } else if (argc == 3 && std::string(argv[1]) == "--pending") {
        held = connectPair(argv[2], false);
    } else if (argc == 3 && std::string(argv[1]).rfind("--", 0) == 0) {
        held = holdByPath(argv[1], argv[2]);
        const int ready = held ? ::open("/tmp/hold-open.ready", O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        held = held && ready >= 0 && ::write(ready, "ready\n", 6) == 6 && ::close(ready) == 0;
    } else if (argc == 2) {
        struct stat status{};
        if (::stat(argv[1], &status) == 0) {
            held = S_ISSOCK(status.st_mode) ? connectTo(argv[1]) : (::open(argv[1], O_RDONLY | O_NONBLOCK) >= 0 || ::open(argv[1], O_WRONLY | O_NONBLOCK) >= 0);
        }
    } else {
        std::fprintf(stderr,
                     "usage: rewind-test-hold-open [--pair|--pending|--tcp|--tcp-listen|--read|--read-write|--map-shared|--cwd|--directory|--listen] PATH | "
                     "--io-uring\n");
        return 2;
    }
    if (!held) {
        std::perror("rewind-test-hold-open");
        return 1;
    }
    for (;;) {
        ::pause();
    }
}
