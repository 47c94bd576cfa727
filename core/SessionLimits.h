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
///
///   [Store]
///   BytesPerUser=20G      # what one user's snapshots may take in the store
///   SnapshotsPerUser=500  # how many snapshots one user may keep
///   FreeSpaceFloor=1G     # free space no snapshot may take
///
/// Missing keys, or a missing file, take these defaults. Root is not limited
/// in the number of its sessions or by the per-user quotas; the floor holds
/// for everyone.
struct SessionLimits {
    int runningPerUser = 4;
    qint64 tmpBytes = 2LL * 1024 * 1024 * 1024;
    qint64 storeBytesPerUser = 20LL * 1024 * 1024 * 1024;
    qint64 snapshotsPerUser = 500;
    qint64 freeSpaceFloor = 1024LL * 1024 * 1024;

    /// The quota of owner's snapshots.
    StoreQuota storeQuotaFor(uid_t owner) const;

    static QString configFile();
    /// The limits of configFile(); an Error names the key that is wrong.
    static Result<SessionLimits> read(const QString &file = configFile());
};

} // namespace Rewind
