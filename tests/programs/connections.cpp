// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-connections DIRECTORY PORT [HOST OUTSIDE-PORT]: network state a
// restore must bring back. It listens on PORT (all addresses), holds an
// established loopback connection to that listener (both ends its own), a
// connection waiting in the queue of a second listener on PORT+1 that never
// accepts it (a busy server's, which a snapshot drops) and, with HOST, a
// connection to HOST:OUTSIDE-PORT, an echo server outside the cell. It writes "ready" to DIRECTORY/report once all are there. Each
// time DIRECTORY/command holds a new number N it checks all of them and
// writes "N loopback=... accept=... outside-old=... outside-new=..." to
// DIRECTORY/report:
// - loopback: a line sent each way over the held loopback connection arrives;
// - accept: the listener accepts a new connection from 127.0.0.1;
// - outside-old: a line sent on the held outside connection comes back
//   ("echo"), or how it failed ("ECONNABORTED", "ECONNRESET", "EOF", ...);
// - outside-new: a new connection to HOST:OUTSIDE-PORT echoes a line.
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace
{

constexpr int waitMs = 3000;

std::string errorName(int error)
{
    switch (error) {
    case ECONNABORTED:
        return "ECONNABORTED";
    case ECONNRESET:
        return "ECONNRESET";
    case EPIPE:
        return "EPIPE";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case ENETUNREACH:
        return "ENETUNREACH";
    default:
        return "errno-" + std::to_string(error);
    }
}

sockaddr_in address(const char *host, int port)
{
    sockaddr_in result{};
    result.sin_family = AF_INET;
    result.sin_port = htons(uint16_t(port));
    ::inet_pton(AF_INET, host, &result.sin_addr);
    return result;
}

/// A connected socket, or -errno.
int connectTo(const char *host, int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in to = address(host, port);
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&to), sizeof to) != 0) {
        const int error = errno;
        ::close(fd);
        return -error;
    }
    return fd;
}

/// A socket listening on all addresses, or -errno.
int listenOn(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    const sockaddr_in any = address("0.0.0.0", port);
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&any), sizeof any) != 0 || ::listen(fd, 16) != 0) {
        const int error = errno;
        ::close(fd);
        return -error;
    }
    return fd;
}

/// Reads one line (up to '\n') within waitMs; "" with what went wrong in *failure.
std::string readLine(int fd, std::string *failure)
{
    std::string line;
    for (;;) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, waitMs) <= 0) {
            *failure = "timeout";
            return {};
        }
        char c;
        const ssize_t got = ::read(fd, &c, 1);
        if (got < 0) {
            *failure = errorName(errno);
            return {};
        }
        if (got == 0) {
            *failure = "EOF";
            return {};
        }
        if (c == '\n') {
            return line;
        }
        line += c;
    }
}

/// Sends line and expects it back on the same socket (an echo server).
std::string echoes(int fd, const std::string &line)
{
    const std::string sent = line + '\n';
    if (::send(fd, sent.data(), sent.size(), MSG_NOSIGNAL) != ssize_t(sent.size())) {
        return errorName(errno);
    }
    std::string failure;
    const std::string back = readLine(fd, &failure);
    if (!failure.empty()) {
        return failure;
    }
    return back == line ? "echo" : "garbled";
}

/// A line from one end arrives at the other.
bool carries(int from, int to, const std::string &line)
{
    const std::string sent = line + '\n';
    std::string failure;
    return ::send(from, sent.data(), sent.size(), MSG_NOSIGNAL) == ssize_t(sent.size()) && readLine(to, &failure) == line;
}

void writeReport(const std::string &directory, const std::string &text)
{
    const std::string temporary = directory + "/report.new";
    FILE *file = std::fopen(temporary.c_str(), "we");
    if (!file) {
        return;
    }
    std::fprintf(file, "%s\n", text.c_str());
    std::fclose(file);
    std::rename(temporary.c_str(), (directory + "/report").c_str());
}

long readCommand(const std::string &directory)
{
    FILE *file = std::fopen((directory + "/command").c_str(), "re");
    if (!file) {
        return 0;
    }
    long command = 0;
    if (std::fscanf(file, "%ld", &command) != 1) {
        command = 0;
    }
    std::fclose(file);
    return command;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        std::fprintf(stderr, "usage: rewind-test-connections DIRECTORY PORT [HOST OUTSIDE-PORT]\n");
        return 2;
    }
    const std::string directory = argv[1];
    const int port = std::atoi(argv[2]);
    const char *outsideHost = argc == 5 ? argv[3] : nullptr;
    const int outsidePort = argc == 5 ? std::atoi(argv[4]) : 0;
    std::signal(SIGPIPE, SIG_IGN);

    const int listener = listenOn(port);
    const int busyListener = listenOn(port + 1);
    if (listener < 0 || busyListener < 0) {
        writeReport(directory, "cannot listen: " + errorName(listener < 0 ? -listener : -busyListener));
        return 1;
    }
    // Never accepted: CRIU would refuse the listener ("In-flight connection")
    // unless told to leave such connections out.
    const int waiting = connectTo("127.0.0.1", port + 1);
    if (waiting < 0) {
        writeReport(directory, "no waiting connection: " + errorName(-waiting));
        return 1;
    }
    const int loopbackClient = connectTo("127.0.0.1", port);
    const int loopbackServer = loopbackClient >= 0 ? ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
    if (loopbackServer < 0) {
        writeReport(directory, "no loopback connection: " + errorName(loopbackClient < 0 ? -loopbackClient : errno));
        return 1;
    }
    int outside = -1;
    if (outsideHost) {
        outside = connectTo(outsideHost, outsidePort);
        if (outside < 0) {
            writeReport(directory, "no outside connection: " + errorName(-outside));
            return 1;
        }
    }
    writeReport(directory, "ready");

    long done = 0;
    for (;;) {
        const long command = readCommand(directory);
        if (command == 0 || command == done) {
            ::usleep(20000);
            continue;
        }
        done = command;
        const std::string n = std::to_string(command);
        const bool loopback = carries(loopbackClient, loopbackServer, "ping " + n) && carries(loopbackServer, loopbackClient, "pong " + n);

        bool accepted = false;
        const int client = connectTo("127.0.0.1", port);
        pollfd pending{listener, POLLIN, 0};
        if (client >= 0 && ::poll(&pending, 1, waitMs) == 1) {
            const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            accepted = server >= 0 && carries(client, server, "hello " + n);
            ::close(server);
        }
        if (client >= 0) {
            ::close(client);
        }

        std::string outsideOld = "none";
        std::string outsideNew = "none";
        if (outsideHost) {
            outsideOld = echoes(outside, "old " + n);
            const int fresh = connectTo(outsideHost, outsidePort);
            outsideNew = fresh >= 0 ? echoes(fresh, "new " + n) : errorName(-fresh);
            if (fresh >= 0) {
                ::close(fresh);
            }
        }
        writeReport(directory,
                    n + " loopback=" + (loopback ? "ok" : "failed") + " accept=" + (accepted ? "ok" : "failed") + " outside-old=" + outsideOld
                        + " outside-new=" + outsideNew);
    }
}
