// SPDX-License-Identifier: GPL-2.0-or-later
//
// rewind-live-relay --target-fd T --directory-fd D --name NAME --cell-fd P
//                   [--idle-seconds S] [--status-fd F]
//
// Lets a session's owner reach its display without root. The VNC socket of a
// session lies inside its cell, below /proc/<init>/root, where only root can
// look things up; the helper opens it as the O_PATH descriptor T and starts
// this program as the owner (no new privileges, in a cgroup of its own).
// It listens on NAME in the owner's directory D and forwards every
// connection to T, byte for byte: the RFB protocol is not parsed here.
//
// Once listening it detaches and exits 0, so its starter knows the socket is
// ready. On failure it writes one line to F (default: stdout) and exits 1.
// The relay ends when the cell's init (pidfd P) ends, or after S seconds
// (default 60) without any connection, removing its socket if it is still
// the one it made. It is not dumpable: other processes of its owner cannot
// trace it or use its descriptors through /proc.

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace
{

constexpr int maximumConnections = 8;
constexpr size_t bufferSize = 64 * 1024;

/// Where a failure is reported: --status-fd, else stdout.
int statusFd = STDOUT_FILENO;

[[noreturn]] void fail(const char *what, int error = 0)
{
    char line[256];
    const int length = error != 0 ? std::snprintf(line, sizeof line, "%s: %s\n", what, std::strerror(error)) : std::snprintf(line, sizeof line, "%s\n", what);
    (void)!::write(statusFd, line, size_t(std::clamp(length, 0, int(sizeof line) - 1)));
    std::_Exit(1);
}

int descriptorArgument(const char *text)
{
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 65535) {
        fail("invalid descriptor number");
    }
    return int(value);
}

/// One direction of a connection: what was read from one side and not yet written to the other.
struct Pending {
    std::array<char, bufferSize> data;
    size_t begin = 0;
    size_t end = 0;

    bool empty() const
    {
        return begin == end;
    }
};

/// A viewer's connection and the relay's connection to the display.
struct Connection {
    int viewer = -1;
    int display = -1;
    Pending toDisplay;
    Pending toViewer;
};

/// Reads from one side into (empty) pending; false when that side has ended.
bool readInto(int fd, Pending &pending)
{
    const ssize_t got = ::read(fd, pending.data.data(), pending.data.size());
    if (got > 0) {
        pending.begin = 0;
        pending.end = size_t(got);
        return true;
    }
    return got < 0 && (errno == EAGAIN || errno == EINTR);
}

/// Writes what is pending to the other side; false if that side is gone.
bool writeFrom(int fd, Pending &pending)
{
    const ssize_t put = ::send(fd, pending.data.data() + pending.begin, pending.end - pending.begin, MSG_NOSIGNAL);
    if (put > 0) {
        pending.begin += size_t(put);
        return true;
    }
    return put < 0 && (errno == EAGAIN || errno == EINTR);
}

/// Connects to the display's socket through T's /proc/self/fd link, so no path is looked up.
int connectToDisplay(int target)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d", target);
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct Listener {
    int fd = -1;
    dev_t device = 0;
    ino_t inode = 0;
};

/// Binds NAME in directory D and listens. Whatever is in the way (an earlier
/// relay's socket, or a link) is the owner's, in the owner's directory: it
/// is removed, never followed.
Listener listenIn(int directory, const std::string &name)
{
    if (::unlinkat(directory, name.c_str(), 0) != 0 && errno != ENOENT) {
        fail("cannot remove what is in the way of the live view socket", errno);
    }
    Listener listener;
    listener.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener.fd < 0) {
        fail("cannot make a socket", errno);
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const int length = std::snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/%s", directory, name.c_str());
    if (length < 0 || size_t(length) >= sizeof address.sun_path) {
        fail("the live view socket's name is too long");
    }
    ::umask(077);
    if (::bind(listener.fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
        fail("cannot make the live view socket", errno);
    }
    struct stat bound;
    if (::fstatat(directory, name.c_str(), &bound, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(bound.st_mode)) {
        fail("the live view socket went away");
    }
    listener.device = bound.st_dev;
    listener.inode = bound.st_ino;
    if (::listen(listener.fd, maximumConnections) != 0) {
        fail("cannot listen on the live view socket", errno);
    }
    return listener;
}

void closeConnection(Connection &connection)
{
    ::close(connection.viewer);
    ::close(connection.display);
    connection.viewer = connection.display = -1;
}

/// Forwards until the cell ends or nobody connected for idleSeconds.
void relay(const Listener &listener, int target, int cell, int idleSeconds)
{
    std::vector<Connection> connections;
    connections.reserve(maximumConnections);
    int idleMilliseconds = 0;
    constexpr int tick = 1000;
    for (;;) {
        std::vector<pollfd> watched{{listener.fd, POLLIN, 0}, {cell, POLLIN, 0}};
        for (const Connection &c : connections) {
            // Read from a side only once what it sent before has been passed on;
            // a side with nothing to do is left out, or its hang-up would wake poll at once.
            const short viewerWanted = short((c.toDisplay.empty() ? POLLIN : 0) | (c.toViewer.empty() ? 0 : POLLOUT));
            const short displayWanted = short((c.toViewer.empty() ? POLLIN : 0) | (c.toDisplay.empty() ? 0 : POLLOUT));
            watched.push_back({viewerWanted != 0 ? c.viewer : -1, viewerWanted, 0});
            watched.push_back({displayWanted != 0 ? c.display : -1, displayWanted, 0});
        }
        const int ready = ::poll(watched.data(), watched.size(), tick);
        if (ready < 0 && errno != EINTR) {
            return;
        }
        if (watched[1].revents != 0) {
            return; // the cell ended: so did its display
        }
        if (ready == 0 && connections.empty()) {
            idleMilliseconds += tick;
            if (idleMilliseconds >= idleSeconds * 1000) {
                return;
            }
            continue;
        }
        idleMilliseconds = 0;

        for (size_t i = 0; i < connections.size(); ++i) {
            Connection &c = connections[i];
            const short viewerEvents = watched[2 + 2 * i].revents;
            const short displayEvents = watched[3 + 2 * i].revents;
            // A hang-up is read like data: what the side sent before it comes
            // first, then the end, which ends the connection.
            constexpr short readable = POLLIN | POLLHUP | POLLERR;
            bool alive = !((viewerEvents | displayEvents) & POLLNVAL);
            if (alive && (viewerEvents & readable) && c.toDisplay.empty()) {
                alive = readInto(c.viewer, c.toDisplay);
            }
            if (alive && (displayEvents & readable) && c.toViewer.empty()) {
                alive = readInto(c.display, c.toViewer);
            }
            if (alive && !c.toDisplay.empty()) {
                alive = writeFrom(c.display, c.toDisplay);
            }
            if (alive && !c.toViewer.empty()) {
                alive = writeFrom(c.viewer, c.toViewer);
            }
            // Either side ending ends the connection: RFB has no half-closed state.
            if (!alive) {
                closeConnection(c);
            }
        }
        std::erase_if(connections, [](const Connection &c) {
            return c.viewer < 0;
        });

        if (watched[0].revents & POLLIN) {
            const int viewer = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (viewer < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                ::usleep(100 * 1000); // out of descriptors or memory: the listener stays readable
            }
            if (viewer >= 0) {
                const int display = connections.size() < maximumConnections ? connectToDisplay(target) : -1;
                if (display < 0) {
                    ::close(viewer); // the viewer sees the connection end at once
                } else {
                    Connection &c = connections.emplace_back();
                    c.viewer = viewer;
                    c.display = display;
                }
            }
        }
    }
}

/// Removes the socket if it is still the one this relay bound: a newer relay may have replaced it.
void removeSocket(int directory, const std::string &name, const Listener &listener)
{
    struct stat current;
    if (::fstatat(directory, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) == 0 && current.st_dev == listener.device && current.st_ino == listener.inode) {
        ::unlinkat(directory, name.c_str(), 0);
    }
}

} // namespace

int main(int argc, char **argv)
{
    // First of all: the owner's other processes must not reach into this one.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    int target = -1;
    int directory = -1;
    int cell = -1;
    int idleSeconds = 60;
    std::string name;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--target-fd") {
            target = descriptorArgument(argv[i + 1]);
        } else if (option == "--directory-fd") {
            directory = descriptorArgument(argv[i + 1]);
        } else if (option == "--cell-fd") {
            cell = descriptorArgument(argv[i + 1]);
        } else if (option == "--idle-seconds") {
            idleSeconds = std::clamp(std::atoi(argv[i + 1]), 1, 24 * 3600);
        } else if (option == "--status-fd") {
            statusFd = descriptorArgument(argv[i + 1]);
        } else if (option == "--name") {
            name = argv[i + 1];
        } else {
            fail("unknown option");
        }
    }
    if (target < 0 || directory < 0 || cell < 0 || name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
        fail("usage: rewind-live-relay --target-fd T --directory-fd D --name NAME --cell-fd P [--idle-seconds S] [--status-fd F]");
    }
    struct stat status;
    if (::fstat(target, &status) != 0 || !S_ISSOCK(status.st_mode)) {
        fail("the display's VNC socket is not a socket");
    }
    if (::fstat(directory, &status) != 0 || !S_ISDIR(status.st_mode)) {
        fail("the live view directory is not a directory");
    }
    const Listener listener = listenIn(directory, name);

    const pid_t child = ::fork();
    if (child < 0) {
        fail("cannot detach", errno);
    }
    if (child > 0) {
        std::_Exit(0); // listening: the starter may hand the socket over
    }
    ::setsid();
    if (statusFd != STDOUT_FILENO) {
        ::close(statusFd); // the starter reads it until every copy is closed
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
    }
    std::signal(SIGPIPE, SIG_IGN);
    relay(listener, target, cell, idleSeconds);
    removeSocket(directory, name, listener);
    return 0;
}
