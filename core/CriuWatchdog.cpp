// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuWatchdog.h"

#include <QByteArray>
#include <QDir>
#include <QFile>

#include <csignal>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// Kills this process's children that run criu (libcriu forks its worker
/// from whichever thread asks, so they are children of this process).
void killCriuChildren()
{
    const QByteArray self = QByteArray::number(::getpid());
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool isPid = false;
        const pid_t pid = entry.toInt(&isPid);
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (!isPid || !stat.open(QIODevice::ReadOnly)) {
            continue;
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        const QByteArray line = stat.read(4096);
        const qsizetype open = line.indexOf('(');
        const qsizetype close = line.lastIndexOf(')');
        if (open < 0 || close < open) {
            continue;
        }
        const QList<QByteArray> rest = line.mid(close + 2).split(' ');
        if (line.mid(open + 1, close - open - 1) == "criu" && rest.size() > 1 && rest[1] == self) {
            ::kill(pid, SIGKILL);
        }
    }
}

} // namespace

CriuWatchdog::CriuWatchdog(std::chrono::milliseconds limit)
    : m_thread(&CriuWatchdog::watch, this, limit)
{
}

CriuWatchdog::~CriuWatchdog()
{
    {
        const std::lock_guard lock(m_mutex);
        m_finished = true;
    }
    m_done.notify_all();
    m_thread.join();
}

bool CriuWatchdog::expired() const
{
    const std::lock_guard lock(m_mutex);
    return m_expired;
}

void CriuWatchdog::watch(std::chrono::milliseconds limit)
{
    std::unique_lock lock(m_mutex);
    if (m_done.wait_for(lock, limit, [this] {
            return m_finished;
        })) {
        return;
    }
    m_expired = true;
    // Again until the operation gives up: a worker libcriu forked just as the
    // time ran out may not have been criu yet at the first look.
    do {
        killCriuChildren();
    } while (!m_done.wait_for(lock, std::chrono::milliseconds(100), [this] {
        return m_finished;
    }));
}

} // namespace Rewind
