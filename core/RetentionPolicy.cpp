// SPDX-License-Identifier: GPL-2.0-or-later
#include "RetentionPolicy.h"

#include <QSet>

#include <algorithm>

namespace Rewind
{
namespace
{

/// Keeps the newest snapshot of each bucket among the last `buckets` ones.
template<typename BucketOf>
void keepNewestPerBucket(const QList<SnapshotInfo> &newestFirst, int buckets, const QDateTime &now, BucketOf bucketOf, QSet<qint64> &kept)
{
    const qint64 current = bucketOf(now);
    QSet<qint64> seen;
    for (const SnapshotInfo &snapshot : newestFirst) {
        const qint64 bucket = bucketOf(snapshot.createdAt);
        if (current - bucket >= buckets || seen.contains(bucket)) {
            continue;
        }
        seen.insert(bucket);
        kept.insert(snapshot.id);
    }
}

} // namespace

QList<qint64> RetentionPolicy::prune(const QList<SnapshotInfo> &snapshots, const QDateTime &now) const
{
    QList<SnapshotInfo> scheduled;
    QList<SnapshotInfo> beforeRestore;
    for (const SnapshotInfo &snapshot : snapshots) {
        if (snapshot.pinned || !snapshot.label.isEmpty()) {
            continue; // the user marked it
        }
        if (snapshot.trigger == SnapshotTrigger::Scheduled) {
            scheduled.append(snapshot);
        } else if (snapshot.trigger == SnapshotTrigger::BeforeRestore) {
            beforeRestore.append(snapshot);
        }
    }
    const auto newestFirst = [](const SnapshotInfo &a, const SnapshotInfo &b) {
        return a.createdAt != b.createdAt ? a.createdAt > b.createdAt : a.id > b.id;
    };
    std::sort(scheduled.begin(), scheduled.end(), newestFirst);
    std::sort(beforeRestore.begin(), beforeRestore.end(), newestFirst);

    QSet<qint64> kept;
    for (int i = 0; i < std::min<qsizetype>(keepLast, scheduled.size()); ++i) {
        kept.insert(scheduled[i].id);
    }
    keepNewestPerBucket(
        scheduled,
        keepHourly,
        now,
        [](const QDateTime &time) {
            return time.toSecsSinceEpoch() / 3600;
        },
        kept);
    keepNewestPerBucket(
        scheduled,
        keepDaily,
        now,
        [](const QDateTime &time) {
            return time.toSecsSinceEpoch() / 86400;
        },
        kept);
    for (int i = 0; i < std::min<qsizetype>(keepBeforeRestore, beforeRestore.size()); ++i) {
        kept.insert(beforeRestore[i].id);
    }

    QList<SnapshotInfo> pruned;
    for (const auto *group : {&scheduled, &beforeRestore}) {
        for (const SnapshotInfo &snapshot : *group) {
            if (!kept.contains(snapshot.id)) {
                pruned.append(snapshot);
            }
        }
    }
    std::sort(pruned.begin(), pruned.end(), [&](const SnapshotInfo &a, const SnapshotInfo &b) {
        return newestFirst(b, a);
    });
    QList<qint64> ids;
    for (const SnapshotInfo &snapshot : pruned) {
        ids.append(snapshot.id);
    }
    return ids;
}

} // namespace Rewind
