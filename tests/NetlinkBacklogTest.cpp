// SPDX-License-Identifier: GPL-2.0-or-later
// Unread netlink messages in a network namespace, as CRIU would find them:
// a process subscribed to link changes gets one it has not read, then reads it.
#include "NetlinkBacklog.h"
#include "TestSkip.h"

#include <QTest>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

/// In a network namespace of its own: subscribes to link changes, brings its
/// loopback up (a message it does not read), says 'r' on toParent, reads
/// everything once fromParent says so, then says 'd'.
[[noreturn]] void subscriber(int toParent, int fromParent)
{
    if (::unshare(CLONE_NEWNET) != 0) {
        ::_exit(1);
    }
    const int netlink = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = RTMGRP_LINK;
    if (netlink < 0 || ::bind(netlink, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::_exit(2);
    }
    const int inet = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (inet < 0 || ::ioctl(inet, SIOCGIFFLAGS, &request) != 0) {
        ::_exit(3);
    }
    request.ifr_flags = short(request.ifr_flags | IFF_UP);
    if (::ioctl(inet, SIOCSIFFLAGS, &request) != 0) {
        ::_exit(4);
    }
    char command = 0;
    if (::write(toParent, "r", 1) != 1 || ::read(fromParent, &command, 1) != 1) {
        ::_exit(5);
    }
    char buffer[65536];
    while (::recv(netlink, buffer, sizeof buffer, MSG_DONTWAIT) > 0) { }
    if (::write(toParent, "d", 1) != 1) {
        ::_exit(6);
    }
    ::pause();
    ::_exit(0);
}

} // namespace

class NetlinkBacklogTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void unreadMessagesAreSeenUntilRead()
    {
        if (::geteuid() != 0) {
            REWIND_SKIP("needs root for a network namespace");
        }
        int up[2];
        int down[2];
        QVERIFY(::pipe2(up, O_CLOEXEC) == 0 && ::pipe2(down, O_CLOEXEC) == 0);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            subscriber(up[1], down[0]);
        }
        ::close(up[1]);
        ::close(down[0]);
        char said = 0;
        const bool ready = ::read(up[0], &said, 1) == 1 && said == 'r';
        const bool unreadSeen = ready && !NetlinkBacklog::waitUntilRead(child, std::chrono::milliseconds(50));
        const bool drained = ready && ::write(down[1], "x", 1) == 1 && ::read(up[0], &said, 1) == 1 && said == 'd';
        const bool readSeen = drained && NetlinkBacklog::waitUntilRead(child, std::chrono::seconds(1));
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        ::close(up[0]);
        ::close(down[1]);
        QVERIFY2(ready, "the subscriber could not set itself up");
        QVERIFY(unreadSeen);
        QVERIFY(drained);
        QVERIFY(readSeen);
        // A process that is gone has no table to read.
        QVERIFY(!NetlinkBacklog::waitUntilRead(child, std::chrono::milliseconds(0)));
    }

    void criusRefusalIsRecognised()
    {
        const Error refused{QStringLiteral("Checkpointing process 12 failed."),
                            QStringLiteral("Error (criu/sk-netlink.c:77): netlink: The socket has data to read\nError (criu/cr-dump.c:1975): Dumping FAILED.")};
        QVERIFY(NetlinkBacklog::refusedDump(refused));
        QVERIFY(!NetlinkBacklog::refusedDump(
            Error{QStringLiteral("Checkpointing process 12 failed."), QStringLiteral("Error (criu/sk-unix.c:1): Dumping FAILED.")}));
    }
};

QTEST_GUILESS_MAIN(NetlinkBacklogTest)
#include "NetlinkBacklogTest.moc"
