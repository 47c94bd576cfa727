// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

namespace Rewind
{

/// A snapshot whose screen showed the words searched for.
struct ScreenTextMatch {
    qint64 snapshot = 0;
    QString session;
    double rank = 0; ///< greater is better (SQLite FTS5's bm25, negated)
    QString snippet; ///< the text around the words, which are in [ ]
};

} // namespace Rewind
