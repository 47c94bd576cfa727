// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuWatchdog.h"

#include "ProcessStat.h"

#include <QDir>

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
    const pid_t self = ::getpid();
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool isPid = false;
        const pid_t pid = entry.toInt(&isPid);
        const auto stat = isPid ? ProcessStat::read(pid) : std::nullopt;
        if (stat && stat->command == "criu" && stat->parent == self) {
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
