// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>
#include <QStringView>
#include <QVariantMap>

#include <optional>

#include <sys/types.h>

namespace Rewind
{

/// Why a snapshot was taken.
enum class SnapshotTrigger {
    Manual,
    Scheduled,
    BeforeRestore,
    Imported,
    Hibernate, ///< taken when the session was hibernated (snapshot, then stop)
};

/// The stable name of a trigger as the catalog stores it ("manual", "scheduled", ...).
QString triggerName(SnapshotTrigger trigger);
/// The trigger a name from triggerName() stands for; nullopt for anything else.
std::optional<SnapshotTrigger> triggerFromName(QStringView name);

/// One snapshot as the catalog knows it.
struct SnapshotInfo {
    qint64 id = 0;
    QString sessionId;
    uid_t owner = 0; ///< the user whose snapshot it is
    QDateTime createdAt;
    QString label;
    SnapshotTrigger trigger = SnapshotTrigger::Manual;
    bool pinned = false;
    qint64 logicalBytes = 0; ///< sum of file sizes
    qint64 storedBytes = 0; ///< compressed bytes of all chunks it references
    qint64 newBytes = 0; ///< compressed bytes of chunks first added by this snapshot
    qint64 sharedBytes = 0; ///< storedBytes - newBytes
    /// Compressed bytes of the chunks this snapshot brought into the store
    /// when it was stored (those no earlier snapshot of its owner had). Fixed
    /// at that moment, unlike newBytes, which moves to the next snapshot when
    /// the first one is deleted. Unknown for snapshots stored before the
    /// catalog recorded it (schema 4).
    std::optional<qint64> addedBytes;
    QVariantMap metadata; ///< free-form (frozen time ms, pages, external mounts ...), stored as JSON: read back with JSON types
};

/// What one session's snapshots of one owner take in the store.
struct SessionStorage {
    QString sessionId;
    qint64 snapshots = 0;
    qint64 storedBytes = 0; ///< compressed bytes of the distinct chunks they reference
};

/// What SnapshotStore::verify() found.
struct VerifyReport {
    qint64 chunksChecked = 0;
    QStringList damagedChunks; ///< ids of chunks that are missing or do not match their hash
    QList<qint64> damagedSnapshots; ///< snapshots that reference a damaged chunk
    bool clean() const
    {
        return damagedChunks.isEmpty() && damagedSnapshots.isEmpty();
    }
};

/// What SnapshotStore::collectGarbage() removed.
struct GarbageStats {
    qint64 chunksRemoved = 0; ///< chunk files and leftover temporary files
    qint64 bytesFreed = 0;
};

} // namespace Rewind
