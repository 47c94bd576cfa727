// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QString>

namespace Rewind
{

/// What one user's sessions may take of the machine, set by an
/// administrator in /etc/rewind/limits.conf (REWIND_LIMITS_FILE moves it):
///
///   [Sessions]
///   RunningPerUser=4    # sessions one user may have running at once
///   TmpSize=2G          # the size of each cell's /tmp and /dev/shm (K, M, G)
///   TasksMax=4096       # processes and threads of one user's sessions together
///   MemoryMax=75%       # memory of one user's sessions together (K, M, G, or % of the machine's)
///
/// Missing keys, or a missing file, take these defaults. Root is not limited
/// in the number of its sessions. TasksMax and MemoryMax apply where the
/// user's systemd slice sets no limit of its own (see CellLimits).
struct SessionLimits {
    int runningPerUser = 4;
    qint64 tmpBytes = 2LL * 1024 * 1024 * 1024;
    qint64 tasksMax = 4096;
    qint64 memoryMaxBytes = physicalMemory() / 4 * 3;

    /// The machine's memory in bytes.
    static qint64 physicalMemory();

    static QString configFile();
    /// The limits of configFile(); an Error names the key that is wrong.
    static Result<SessionLimits> read(const QString &file = configFile());
};

} // namespace Rewind
