// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QVariantMap>

#include <sys/types.h>

namespace Rewind
{

/// What CRIU 4.2 does not bring back, recorded while the cell is frozen for
/// its dump and applied to the restored tree before it runs:
/// - each thread's CPU affinity;
/// - periodic timerfds that expired while the cell was frozen: CRIU reads
///   their remaining time from fdinfo, where the kernel shows 0 until the
///   timer is read again, and restores them disarmed. Every armed periodic
///   timerfd is recorded; those the restore left disarmed are armed again.
/// Threads are known by their ids inside the cell, which a restore keeps.
class RestoreFixups
{
public:
    /// Records them for every process of the (frozen) cell whose init is cellInit.
    static QVariantMap record(pid_t cellInit);
    /// Applies what record() found to the restored processes of the cell
    /// whose init is cellInit; nothing outside that cell.
    static Result<void> apply(const QVariantMap &recorded, pid_t cellInit);
};

} // namespace Rewind
