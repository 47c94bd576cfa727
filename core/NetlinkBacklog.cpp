// SPDX-License-Identifier: GPL-2.0-or-later
#include "NetlinkBacklog.h"

#include <QFile>
#include <QThread>

namespace Rewind
{
namespace
{

/// True if a socket of /proc/<pid>/net/netlink has unread messages (its Rmem, the 5th column); nothing if unreadable.
std::optional<bool> anyUnread(pid_t pid)
{
    QFile table(QStringLiteral("/proc/%1/net/netlink").arg(pid));
    if (!table.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    const QList<QByteArray> lines = table.readAll().split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QList<QByteArray> columns = lines.at(i).simplified().split(' ');
        if (columns.size() > 4 && columns.at(4) != "0") {
            return true;
        }
    }
    return false;
}

} // namespace

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
