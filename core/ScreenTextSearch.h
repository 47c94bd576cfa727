// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "ScreenTextMatch.h"

#include <QDeadlineTimer>
#include <QList>
#include <QString>

#include <sys/types.h>

namespace Rewind
{

class SnapshotStore;

/// Search of the past: the text on each snapshot's screen, read with OCR
/// (ScreenTextRecognizer, as the snapshot's owner) and indexed in the
/// store's catalog (SQLite FTS5). Screens are read lazily, before a search of
/// their owner's: reading one takes about a second, which a snapshot's
/// reply should not wait for.
namespace ScreenTextSearch
{
/// The most matches a search answers.
constexpr int maximumMatches = 500;
/// How long one search may spend reading screens; the rest are read at the
/// next. Short: the helper answers one call at a time, and every user's
/// snapshots wait behind a search.
constexpr int indexingBudgetMs = 10 * 1000;

/// The user's words as an FTS5 query that finds screens showing all of
/// them: each word a quoted string, so no FTS5 syntax in them (quotes,
/// *, NEAR, OR, column filters) has any effect. Empty for no words.
QString matchExpression(const QString &words);

struct Indexed {
    int read = 0; ///< screens read now
    int failed = 0; ///< screens tesseract could not read (recorded as empty)
    int left = 0; ///< screens still to read at the next search (out of time)
};
/// Reads the screens of the owner's snapshots that have not been read yet,
/// newest first, until budget expires. tesseract runs as uid:gid.
Result<Indexed> indexPending(SnapshotStore &store, uid_t owner, gid_t gid, QDeadlineTimer budget);

/// The owner's snapshots whose screens showed all the words, best first,
/// after reading the screens not read yet.
Result<QList<ScreenTextMatch>> search(SnapshotStore &store, uid_t owner, gid_t gid, const QString &words);
} // namespace ScreenTextSearch

} // namespace Rewind
