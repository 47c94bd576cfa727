// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "SessionRecord.h"

#include <optional>

namespace Rewind
{

/// A dump's parent: the snapshot whose dump last reset the kernel's record
/// of the cell's changed pages, and how many dumps since the last full one
/// leaned on their parents.
struct TrackedParent {
    qint64 snapshot = 0;
    int incrementalDumps = 0;
};

/// Which snapshot the kernel's record of a cell's changed pages answers
/// to. A dump with memory tracking resets that record (the soft-dirty
/// bits), so the next dump may leave the unchanged pages to the snapshot it
/// was stored as, and to nothing else: not if that snapshot is no longer the
/// session's newest, not if another dump reset the bits since, not in
/// another cell (a restore, a reboot). Kept in <sessions>/<id>.tracked, the
/// file removed before each tracked dump and written after its commit, so
/// that a dump or commit that fails, or a helper that dies, leaves the next
/// dump a full one.
///
/// A program may reset its own bits (/proc/self/clear_refs); pages it
/// changed before would then look unchanged. CRIU has the same blind spot.
/// Every maximumIncrementalDumps + 1st dump is a full one, which bounds how
/// long such a page can stay stale in the snapshots.
class MemoryTracking
{
public:
    static constexpr int maximumIncrementalDumps = 11;

    explicit MemoryTracking(const QString &sessionsDirectory);

    /// What the session's next dump may be tracked against, if anything.
    std::optional<TrackedParent> parentFor(const SessionRecord &record, qint64 newestSnapshot) const;
    /// Before a dump that resets the bits.
    Result<void> forget(const QString &sessionId) const;
    /// After that dump is stored as snapshotId; parent: what it leaned on.
    Result<void> remember(const SessionRecord &record, qint64 snapshotId, const std::optional<TrackedParent> &parent) const;

private:
    QString fileName(const QString &sessionId) const;
    QString m_directory;
};

} // namespace Rewind
