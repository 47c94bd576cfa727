// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QString>

#include <chrono>

namespace Rewind
{

/// The cgroup.events file of one cgroup v2 directory ("populated 0/1",
/// "frozen 0/1"), and waiting for one of its keys to reach a value. The
/// kernel notifies every change to that file to poll() as POLLPRI|POLLERR,
/// so waiting costs no polling loop. The kernel announces changes of one
/// cgroup's files at most about every 10 ms (CGROUP_FILE_NOTIFY_MIN_INTV):
/// a change that follows another that closely is seen up to 10 ms late.
class CgroupEvents
{
public:
    static Result<CgroupEvents> open(const QString &cgroupDir);

    /// The current value of KEY ("populated", "frozen").
    Result<int> value(const QByteArray &key) const;

    /// Waits until KEY has VALUE or the deadline passes. true: reached,
    /// false: timed out; an Error when the file cannot be read or polled.
    Result<bool> waitFor(const QByteArray &key, int value, std::chrono::steady_clock::time_point deadline) const;

    QString directory() const
    {
        return m_directory;
    }

private:
    CgroupEvents(UniqueFd fd, const QString &directory);

    UniqueFd m_fd;
    QString m_directory;
};

} // namespace Rewind
