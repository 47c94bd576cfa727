// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "SnapshotStore.h"

#include <QString>

#include <sys/types.h>

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
///   [Store]
///   BytesPerUser=20G      # what one user's snapshots may take in the store
///   SnapshotsPerUser=500  # how many snapshots one user may keep
///   FreeSpaceFloor=1G     # free space no snapshot may take
///
/// Missing keys, or a missing file, take these defaults. Root is not limited
/// in the number of its sessions or by the per-user quotas; the floor holds
/// for everyone. TasksMax and MemoryMax apply where the user's systemd slice
/// sets no limit of its own (see CellLimits).
struct SessionLimits {
    int runningPerUser = 4;
    qint64 tmpBytes = 2LL * 1024 * 1024 * 1024;
    qint64 tasksMax = 4096;
    qint64 memoryMaxBytes = physicalMemory() / 4 * 3;
    qint64 storeBytesPerUser = 20LL * 1024 * 1024 * 1024;
    qint64 snapshotsPerUser = 500;
    qint64 freeSpaceFloor = 1024LL * 1024 * 1024;

    /// The machine's memory in bytes.
    static qint64 physicalMemory();
    /// The quota of owner's snapshots.
    StoreQuota storeQuotaFor(uid_t owner) const;

    static QString configFile();
    /// The limits of configFile(); an Error names the key that is wrong.
    static Result<SessionLimits> read(const QString &file = configFile());
};

} // namespace Rewind
