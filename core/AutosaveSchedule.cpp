// SPDX-License-Identifier: GPL-2.0-or-later
#include "AutosaveSchedule.h"

namespace Rewind
{

QDateTime AutosaveSchedule::nextDue(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const
{
    QDateTime newest;
    for (const SnapshotInfo &snapshot : snapshots) {
        if (!newest.isValid() || snapshot.createdAt > newest) {
            newest = snapshot.createdAt;
        }
    }
    if (!newest.isValid()) {
        return now;
    }
    const QDateTime due = newest.addSecs(std::chrono::duration_cast<std::chrono::seconds>(interval).count());
    return due < now ? now : due;
}

bool AutosaveSchedule::isDue(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const
{
    return nextDue(snapshots, now) <= now;
}

} // namespace Rewind
