// SPDX-License-Identifier: GPL-2.0-or-later
#include "ScreenTextSearch.h"

#include "ScreenTextRecognizer.h"
#include "SnapshotStore.h"

#include <KLocalizedString>

#include <QRegularExpression>

namespace Rewind
{

QString ScreenTextSearch::matchExpression(const QString &words)
{
    static const QRegularExpression space(QStringLiteral("\\s+"));
    QStringList quoted;
    const QStringList split = words.split(space, Qt::SkipEmptyParts);
    for (const QString &word : split) {
        // An FTS5 string: in double quotes, a double quote doubled.
        quoted.append(QLatin1Char('"') + QString(word).replace(QLatin1Char('"'), QLatin1String("\"\"")) + QLatin1Char('"'));
    }
    return quoted.join(QLatin1Char(' '));
}

Result<ScreenTextSearch::Indexed> ScreenTextSearch::indexPending(SnapshotStore &store, uid_t owner, gid_t gid, QDeadlineTimer budget)
{
    auto pending = store.snapshotsWithoutScreenText(owner);
    if (!pending) {
        return pending.error();
    }
    Indexed indexed;
    if (pending->isEmpty()) {
        return indexed;
    }
    if (ScreenTextRecognizer::program().isEmpty()) {
        return Error{i18n("Searching the text on snapshots' screens needs tesseract. Install the package tesseract-ocr (and tesseract-ocr-eng).")};
    }
    for (qsizetype i = 0; i < pending->size(); ++i) {
        if (budget.hasExpired()) {
            indexed.left = int(pending->size() - i);
            break;
        }
        const qint64 id = pending->at(i);
        QString text;
        // A snapshot without a picture (the display did not answer) has no text.
        if (auto png = store.readFile(id, QStringLiteral("screenshot.png"))) {
            auto recognized = ScreenTextRecognizer::recognize(*png, owner, gid);
            if (recognized) {
                text = *recognized;
                ++indexed.read;
            } else {
                // Recorded as empty all the same: a screen tesseract cannot read is not retried at every search.
                qWarning("rewind: the screen of snapshot %lld was not read: %s", id, qPrintable(recognized.errorMessage()));
                ++indexed.failed;
            }
        }
        if (auto recorded = store.setScreenText(id, text); !recorded) {
            return recorded.error();
        }
    }
    return indexed;
}

Result<QList<ScreenTextMatch>> ScreenTextSearch::search(SnapshotStore &store, uid_t owner, gid_t gid, const QString &words)
{
    const QString expression = matchExpression(words);
    if (expression.isEmpty()) {
        return Error{i18n("Enter a word to search for.")};
    }
    if (auto indexed = indexPending(store, owner, gid, QDeadlineTimer(indexingBudgetMs)); !indexed) {
        return indexed.error();
    }
    return store.searchScreenText(expression, owner, maximumMatches);
}

} // namespace Rewind
