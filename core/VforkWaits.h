// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>
#include <QString>

#include <chrono>

#include <sys/types.h>

namespace Rewind
{

/// Processes of a cell caught in vfork(): a child that still shares its
/// parent's memory because it has not exec'd or exited yet, and the parent
/// that waits for it. The cgroup v2 freezer counts that parent as frozen, but
/// its wait is uninterruptible: CRIU's ptrace interrupt does not reach it,
/// and once CRIU has stopped the child as well, the parent waits out CRIU's
/// whole timeout and the snapshot fails. dash starts every command with
/// vfork(), so a freeze catches a shell loop there now and then.
/// (The parent's state D alone does not tell: a thaw wakes it for a moment.)
class VforkWaits
{
public:
    struct Wait {
        pid_t parent = 0;
        pid_t child = 0;
        /// The parent's command.
        QString command;
    };

    /// The vfork() waits in the cgroup CGROUPDIR and the cgroups below it,
    /// as pids of this pid namespace.
    static Result<QList<Wait>> inCgroup(const QString &cgroupDir);

    /// Waits until the child of each of WAITS has exec'd or exited, or
    /// DEADLINE passes: true when they all did.
    static bool waitUntilMovedOn(const QList<Wait> &waits, std::chrono::steady_clock::time_point deadline);
};

} // namespace Rewind
