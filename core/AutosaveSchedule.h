// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "SnapshotInfo.h"

#include <QDateTime>
#include <QList>

#include <chrono>

namespace Rewind
{

/// When a session is due for its next automatic snapshot: an interval after
/// its newest snapshot of any kind (a manual snapshot counts, so autosave
/// does not pile a second one on top of it).
struct AutosaveSchedule {
    std::chrono::minutes interval{15};

    bool isDue(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const;
    /// The time of the next automatic snapshot; now if one is due.
    QDateTime nextDue(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const;
};

} // namespace Rewind
