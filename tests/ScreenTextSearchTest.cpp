// SPDX-License-Identifier: GPL-2.0-or-later
// The index of the text on snapshots' screens, in a real store's catalog:
// screens read with the real tesseract as their owner, the user's words
// taken literally whatever FTS5 syntax they hold, each owner finding their
// own snapshots only, deleted snapshots leaving the index, and catalogs of
// the schema before the index migrated with every snapshot left to read.
#include "ScreenTextSearch.h"
#include "ScreenTextRecognizer.h"
#include "SnapshotStore.h"
#include "TestCatalog.h"
#include "TestFiles.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QBuffer>
#include <QDir>
#include <QElapsedTimer>
#include <QFont>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr uid_t owner = 1500;
constexpr uid_t otherOwner = 1501;

/// A picture of a 1024x768 screen with words on it in large letters, as PNG.
QByteArray screenShowing(const QString &words)
{
    QImage screen(1024, 768, QImage::Format_RGB32);
    screen.fill(Qt::white);
    QPainter painter(&screen);
    QFont font(QStringLiteral("DejaVu Sans Mono"));
    font.setPixelSize(40);
    painter.setFont(font);
    painter.setPen(Qt::black);
    painter.drawText(QRect(40, 40, 944, 300), Qt::AlignLeft | Qt::TextWordWrap, words);
    painter.end();
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    screen.save(&buffer, "PNG");
    return png;
}
} // namespace

class ScreenTextSearchTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_work;
    int m_next = 0;

    /// A snapshot of owner whose screenshot.png shows words (none: no picture).
    qint64 commitScreen(SnapshotStore &store, uid_t snapshotOwner, const QString &words)
    {
        const QString staging = m_work.filePath(QStringLiteral("staging%1").arg(++m_next));
        if (!QDir().mkpath(staging)) {
            return 0;
        }
        if (!words.isEmpty() && !writeFile(staging + QStringLiteral("/screenshot.png"), screenShowing(words))) {
            return 0;
        }
        writeFile(staging + QStringLiteral("/images.img"), QByteArray("process images"));
        UniqueFd fd = openDirectory(staging);
        auto info = store.commit(QStringLiteral("session-%1").arg(snapshotOwner), snapshotOwner, fd.get(), {}, SnapshotTrigger::Manual, {});
        if (!info) {
            qWarning("%s", qPrintable(info.errorMessage()));
            return 0;
        }
        return info->id;
    }

    static QList<qint64> idsOf(const QList<ScreenTextMatch> &matches)
    {
        QList<qint64> ids;
        for (const ScreenTextMatch &match : matches) {
            ids.append(match.snapshot);
        }
        return ids;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
        if (ScreenTextRecognizer::program().isEmpty()) {
            REWIND_SKIP("tesseract is not installed (Debian: tesseract-ocr, tesseract-ocr-eng)");
        }
        if (::geteuid() != 0) {
            REWIND_SKIP("needs root: tesseract is run as another user, the screens' owner");
        }
    }

    void wordsAreQuotedForFts5_data()
    {
        QTest::addColumn<QString>("words");
        QTest::addColumn<QString>("expression");
        QTest::newRow("one") << QStringLiteral("falcon") << QStringLiteral("\"falcon\"");
        QTest::newRow("two, spaced") << QStringLiteral("  falcon \t walrus ") << QStringLiteral("\"falcon\" \"walrus\"");
        QTest::newRow("a quote") << QStringLiteral("a\"b") << QStringLiteral("\"a\"\"b\"");
        QTest::newRow("operators") << QStringLiteral("NEAR( OR *") << QStringLiteral("\"NEAR(\" \"OR\" \"*\"");
        QTest::newRow("blank") << QStringLiteral("   ") << QString();
    }

    void wordsAreQuotedForFts5()
    {
        QFETCH(QString, words);
        QFETCH(QString, expression);
        QCOMPARE(ScreenTextSearch::matchExpression(words), expression);
    }

    void tesseractNeverRunsAsRoot()
    {
        const auto refused = ScreenTextRecognizer::recognize(screenShowing(QStringLiteral("PELICAN")), 0, 0);
        QVERIFY(!refused);
        QVERIFY2(refused.errorMessage().contains(QLatin1String("root")), qPrintable(refused.errorMessage()));
    }

    void tesseractReadsAScreenAsItsOwner()
    {
        QElapsedTimer timer;
        timer.start();
        const auto text = ScreenTextRecognizer::recognize(screenShowing(QStringLiteral("PELICAN MARMALADE")), owner, owner);
        qInfo("tesseract read a 1024x768 screen in %lld ms", timer.elapsed());
        QVERIFY2(text, qPrintable(text.errorMessage()));
        QVERIFY2(text->contains(QLatin1String("PELICAN MARMALADE")), qPrintable(*text));
        // Not a picture: tesseract fails, and says so.
        QVERIFY(!ScreenTextRecognizer::recognize(QByteArray("not a picture"), owner, owner));
    }

    void searchFindsTheOwnersScreensOnly()
    {
        auto opened = SnapshotStore::open(m_work.filePath(QStringLiteral("store")));
        QVERIFY2(opened, qPrintable(opened.errorMessage()));
        SnapshotStore &store = **opened;
        const qint64 falcon = commitScreen(store, owner, QStringLiteral("FALCON WALRUS"));
        const qint64 walrus = commitScreen(store, owner, QStringLiteral("WALRUS WALRUS WALRUS"));
        const qint64 blank = commitScreen(store, owner, {});
        const qint64 others = commitScreen(store, otherOwner, QStringLiteral("FALCON"));
        QVERIFY(falcon > 0 && walrus > 0 && blank > 0 && others > 0);
        QCOMPARE(*store.snapshotsWithoutScreenText(owner), (QList<qint64>{blank, walrus, falcon}));

        // Reading is bounded in time: with none left, nothing is read and all are left.
        auto none = ScreenTextSearch::indexPending(store, owner, owner, QDeadlineTimer(0));
        QVERIFY2(none, qPrintable(none.errorMessage()));
        QCOMPARE(none->read, 0);
        QCOMPARE(none->left, 3);

        auto found = ScreenTextSearch::search(store, owner, owner, QStringLiteral("falcon"));
        QVERIFY2(found, qPrintable(found.errorMessage()));
        QCOMPARE(idsOf(*found), QList<qint64>{falcon});
        QVERIFY2(found->first().snippet.contains(QLatin1String("[FALCON]")), qPrintable(found->first().snippet));
        QCOMPARE(found->first().session, QStringLiteral("session-%1").arg(owner));
        QVERIFY(store.snapshotsWithoutScreenText(owner)->isEmpty());
        // The other owner's screen was not read for this owner's search.
        QCOMPARE(*store.snapshotsWithoutScreenText(otherOwner), QList<qint64>{others});

        // Best match first: the screen that showed the word most.
        auto ranked = ScreenTextSearch::search(store, owner, owner, QStringLiteral("walrus"));
        QVERIFY2(ranked, qPrintable(ranked.errorMessage()));
        QCOMPARE(idsOf(*ranked), (QList<qint64>{walrus, falcon}));
        QVERIFY(ranked->at(0).rank > ranked->at(1).rank);

        // Every word must be there.
        QCOMPARE(idsOf(*ScreenTextSearch::search(store, owner, owner, QStringLiteral("walrus falcon"))), QList<qint64>{falcon});
        QVERIFY(ScreenTextSearch::search(store, owner, owner, QStringLiteral("walrus zebra"))->isEmpty());

        // FTS5 syntax is taken literally, and never fails.
        for (const QString &hostile : {QStringLiteral("\""),
                                       QStringLiteral("*"),
                                       QStringLiteral("NEAR("),
                                       QStringLiteral("OR"),
                                       QStringLiteral("falcon OR zebra"),
                                       QStringLiteral("NOT falcon"),
                                       QStringLiteral("text:falcon"),
                                       QStringLiteral("fal*"),
                                       QStringLiteral("{text}"),
                                       QStringLiteral("\"falcon")}) {
            auto answer = ScreenTextSearch::search(store, owner, owner, hostile);
            QVERIFY2(answer, qPrintable(hostile + QStringLiteral(": ") + answer.errorMessage()));
            const bool shouldFind = hostile == QLatin1String("\"falcon");
            QVERIFY2(answer->isEmpty() != shouldFind, qPrintable(hostile));
        }
        QVERIFY(!ScreenTextSearch::search(store, owner, owner, QStringLiteral("  ")));

        // The other owner finds their own.
        QCOMPARE(idsOf(*ScreenTextSearch::search(store, otherOwner, otherOwner, QStringLiteral("falcon"))), QList<qint64>{others});

        // A deleted snapshot leaves the index.
        QVERIFY(store.release({falcon}));
        QVERIFY(ScreenTextSearch::search(store, owner, owner, QStringLiteral("falcon"))->isEmpty());
        QCOMPARE(idsOf(*ScreenTextSearch::search(store, owner, owner, QStringLiteral("walrus"))), QList<qint64>{walrus});
    }

    void catalogsFromBeforeTheIndexAreMigrated()
    {
        const QString path = m_work.filePath(QStringLiteral("old"));
        qint64 id = 0;
        {
            auto opened = SnapshotStore::open(path);
            QVERIFY2(opened, qPrintable(opened.errorMessage()));
            id = commitScreen(**opened, owner, QStringLiteral("OSPREY"));
            QVERIFY(id > 0);
        }
        // Back to schema 4, before the index.
        const QString reverted = revertCatalog(path + QStringLiteral("/catalog.sqlite"), 4);
        QVERIFY2(reverted.isEmpty(), qPrintable(reverted));

        auto reopened = SnapshotStore::open(path);
        QVERIFY2(reopened, qPrintable(reopened.errorMessage()));
        QCOMPARE(*(*reopened)->snapshotsWithoutScreenText(owner), QList<qint64>{id});
        QCOMPARE(idsOf(*ScreenTextSearch::search(**reopened, owner, owner, QStringLiteral("osprey"))), QList<qint64>{id});
    }
};

QTEST_MAIN(ScreenTextSearchTest)
#include "ScreenTextSearchTest.moc"
