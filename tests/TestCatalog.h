// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

/// Turns a store's catalog back into what an older Rewind wrote, to test
/// that opening it migrates it: schema 9 (no totals kept of what packs
/// hold), 8 (also no totals kept of what owners'
/// chunks take and snapshots added first), 7 (also no runs beside the lists), 6
/// (also no chunk sizes), 5 (also a file's chunks a row each in
/// file_chunks) or 4 (also without the index of screen text). Returns an empty string, or what failed.
QString revertCatalog(const QString &databasePath, int schemaVersion);

/// What the catalog keeps of what each owner's chunks take, each snapshot
/// brought first and each pack holds, where it differs from what its chunks
/// add up to, then each chunk whose first snapshot is not the oldest that
/// uses it; an empty string where all is exact.
QString catalogTotalsMismatch(const QString &databasePath);
