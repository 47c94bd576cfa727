// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "SnapshotInfo.h"

#include <QDateTime>
#include <QList>

namespace Rewind
{

/// Which automatic snapshots to keep, in the spirit of backup rotation: the
/// newest few, then one an hour, then one a day. Only snapshots Rewind took
/// by itself (scheduled, before-restore) are ever pruned; manual, imported,
/// pinned and labelled snapshots stay until the user deletes them.
struct RetentionPolicy {
    int keepLast = 6; ///< the newest scheduled snapshots, whatever their age
    int keepHourly = 24; ///< then the newest of each of the last N hours
    int keepDaily = 14; ///< then the newest of each of the last N days
    int keepBeforeRestore = 5; ///< the newest before-restore snapshots

    /// The ids of snapshots of one session the policy no longer keeps, oldest first.
    QList<qint64> prune(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const;
};

} // namespace Rewind
