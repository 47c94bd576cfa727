// SPDX-License-Identifier: GPL-2.0-or-later
#include "NetlinkBacklog.h"

#include <QFile>
#include <QList>
#include <QThread>

#include <algorithm>

namespace Rewind
{
namespace
{

/// True if a socket of pid's network namespace has unread messages; nothing if unreadable.
std::optional<bool> anyUnread(pid_t pid)
{
    const auto sockets = NetlinkBacklog::sockets(pid);
    if (!sockets) {
        return std::nullopt;
    }
    return std::any_of(sockets->cbegin(), sockets->cend(), [](const NetlinkBacklog::Socket &socket) {
        return socket.unreadBytes > 0;
    });
}

} // namespace

std::optional<QList<NetlinkBacklog::Socket>> NetlinkBacklog::sockets(pid_t pid)
{
    QFile table(QStringLiteral("/proc/%1/net/netlink").arg(pid));
    if (!table.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    QList<Socket> sockets;
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    const QList<QByteArray> lines = table.readAll().split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QList<QByteArray> columns = lines.at(i).simplified().split(' ');
        if (columns.size() > 4) {
            sockets.append(Socket{columns.at(1).toInt(), columns.at(3).toUInt(nullptr, 16), columns.at(4).toLongLong()});
        }
    }
    return sockets;
}

bool NetlinkBacklog::refusedDump(const Error &error)
{
    return error.fullText().contains(QLatin1String("netlink: The socket has data to read"));
}

bool NetlinkBacklog::waitUntilRead(pid_t cellInit, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto unread = anyUnread(cellInit);
        if (!unread) {
            return false;
        }
        if (!*unread) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        QThread::msleep(10);
    }
}

} // namespace Rewind
