// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>
#include <QString>

#include <chrono>

#include <sys/types.h>

namespace Rewind
{

/// Threads of a frozen cell that wait for a child they started with vfork()
/// to exec or exit. The cgroup v2 freezer counts such a parent as frozen, but
/// its wait is uninterruptible (state D): CRIU's ptrace interrupt does not
/// reach it, and once CRIU has stopped the child as well, the parent waits out
/// CRIU's whole timeout and the snapshot fails. dash starts every command
/// with vfork(), so a freeze catches a shell loop there now and then.
class VforkWaits
{
public:
    struct Thread {
        pid_t tid = 0;
        QString command;
    };

    /// The threads of the cgroup CGROUPDIR and the cgroups below it that are
    /// in state D, as pids of this pid namespace. Only meaningful while the
    /// cgroup is frozen: then state D means a vfork() parent's wait.
    static Result<QList<Thread>> inFrozenCgroup(const QString &cgroupDir);

    /// Waits until each of THREADS has been seen out of state D (or gone)
    /// once, or DEADLINE passes: true when they all moved on.
    static bool waitUntilMovedOn(const QList<Thread> &threads, std::chrono::steady_clock::time_point deadline);
};

} // namespace Rewind
