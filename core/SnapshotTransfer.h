// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "SnapshotInfo.h"
#include "SnapshotStore.h"

#include <QJsonObject>
#include <QStringList>

#include <sys/types.h>

namespace Rewind
{

/// Moves a snapshot out of a store as a SnapshotStream and into another
/// store (on this machine or another one) from such a stream.
namespace SnapshotTransfer
{

struct ExportOutcome {
    qint64 bytes = 0; ///< the stream's length
    qint64 chunks = 0; ///< chunks sent (each once)
};

/// Writes snapshot id of store to fd, strictly in order.
Result<ExportOutcome> exportSnapshot(const SnapshotStore &store, qint64 id, int fd);

/// What would stop a snapshot described by header from being restored here
/// for owner, one line each: architecture, page size, CPU features, CRIU
/// version, who its processes ran as. Empty if nothing does.
QStringList incompatibilities(const QJsonObject &header, uid_t owner);

/// Reads a stream from fd and stores it as a new, imported snapshot of
/// owner. Nothing is stored unless the stream is whole and every check
/// passed; the files are staged in a directory under stagingParent first.
Result<SnapshotInfo> importSnapshot(SnapshotStore &store, const QString &stagingParent, int fd, uid_t owner, const StoreQuota &quota);

} // namespace SnapshotTransfer

} // namespace Rewind
