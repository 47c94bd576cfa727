// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "SessionRecord.h"

#include <optional>

namespace Rewind
{

/// Which snapshot the kernel's record of a cell's changed pages answers
/// to. A dump with memory tracking resets that record (the soft-dirty
/// bits), so the next dump may leave the unchanged pages to the snapshot it
/// was stored as, and to nothing else: not if that snapshot is no longer the
/// session's newest, not if another dump reset the bits since, not in
/// another cell (a restore, a reboot). Kept in <sessions>/<id>.tracked, the
/// file removed before each tracked dump and written after its commit, so
/// that a dump or commit that fails, or a helper that dies, leaves the next
/// dump a full one.
class MemoryTracking
{
public:
    explicit MemoryTracking(const QString &sessionsDirectory);

    /// The snapshot the session's next dump may be tracked against, if any.
    std::optional<qint64> parentFor(const SessionRecord &record, qint64 newestSnapshot) const;
    /// Before a dump that resets the bits.
    Result<void> forget(const QString &sessionId) const;
    /// After that dump is stored as snapshotId.
    Result<void> remember(const SessionRecord &record, qint64 snapshotId) const;

private:
    QString fileName(const QString &sessionId) const;
    QString m_directory;
};

} // namespace Rewind
