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
///
/// Missing keys, or a missing file, take these defaults. Root is not limited
/// in the number of its sessions.
struct SessionLimits {
    int runningPerUser = 4;
    qint64 tmpBytes = 2LL * 1024 * 1024 * 1024;

    static QString configFile();
    /// The limits of configFile(); an Error names the key that is wrong.
    static Result<SessionLimits> read(const QString &file = configFile());
};

} // namespace Rewind
