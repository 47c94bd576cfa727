// SPDX-License-Identifier: GPL-2.0-or-later
// Where a file's chunks are, as the catalog keeps it beside the file's list:
// runs of neighbouring records, read back as a place a chunk.
#include "ChunkRuns.h"

#include <QTest>
#include <QtEndian>

#include <limits>

using namespace Rewind;

namespace
{

const QByteArray packA("0123456789abcdef0123456789abcdef");
const QByteArray packB("fedcba9876543210fedcba9876543210");

QByteArray sizesBlob(const QList<quint32> &sizes)
{
    QByteArray blob(sizes.size() * qsizetype(sizeof(quint32)), Qt::Uninitialized);
    for (qsizetype i = 0; i < sizes.size(); ++i) {
        qToLittleEndian<quint32>(sizes.at(i), blob.data() + i * qsizetype(sizeof(quint32)));
    }
    return blob;
}

} // namespace

class ChunkRunsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void neighboursShareARunAndComeBackInOrder()
    {
        const QList<quint32> sizes{100, 200, 50, 4128, 4128, 300};
        ChunkRuns::Builder builder;
        builder.add(packA, 0, 100);
        builder.add(packA, 100, 200); // follows: same run
        builder.add(packB, 7000, 50); // another pack
        builder.add(packA, 300, 4128); // back to A, where it left off: a new run all the same
        builder.add(packA, 9000, 4128); // a gap
        builder.add(packA, 13128, 300);
        const QByteArray runs = builder.result();
        QCOMPARE(runs.size(), 4 * ChunkRuns::runBytes);

        const auto places = ChunkRuns::places(runs, sizesBlob(sizes));
        QVERIFY(places);
        const QList<QPair<QByteArray, qint64>> expected{{packA, 0}, {packA, 100}, {packB, 7000}, {packA, 300}, {packA, 9000}, {packA, 13128}};
        QCOMPARE(places->size(), expected.size());
        for (qsizetype i = 0; i < expected.size(); ++i) {
            QCOMPARE(places->at(i).pack, expected.at(i).first);
            QCOMPARE(places->at(i).offset, expected.at(i).second);
            QCOMPARE(places->at(i).length, sizes.at(i));
        }
    }

    void anUnknownPlaceLeavesNoRuns()
    {
        ChunkRuns::Builder builder;
        builder.add(packA, 0, 100);
        builder.add(QByteArray(), 0, 100); // a chunk file of the layout before packs
        builder.add(packA, 200, 100);
        QVERIFY(builder.result().isEmpty());

        ChunkRuns::Builder notAPack;
        notAPack.add(QByteArray("not a pack"), 0, 100);
        QVERIFY(notAPack.result().isEmpty());
    }

    void runsThatDoNotFitTheListAreRefused()
    {
        ChunkRuns::Builder builder;
        builder.add(packA, 0, 100);
        builder.add(packA, 100, 100);
        const QByteArray runs = builder.result();
        QVERIFY(ChunkRuns::places(runs, sizesBlob({100, 100})));
        QVERIFY(!ChunkRuns::places(runs, sizesBlob({100}))); // more chunks in the runs than in the list
        QVERIFY(!ChunkRuns::places(runs, sizesBlob({100, 100, 100}))); // fewer
        QVERIFY(!ChunkRuns::places(runs.left(runs.size() - 1), sizesBlob({100, 100}))); // truncated
        QVERIFY(!ChunkRuns::places(runs, sizesBlob({100, 100}).left(7)));

        QByteArray negative = runs;
        qToLittleEndian<qint64>(-1, negative.data() + 16);
        QVERIFY(!ChunkRuns::places(negative, sizesBlob({100, 100})));
        QByteArray empty = runs;
        qToLittleEndian<quint32>(0, empty.data() + 24);
        QVERIFY(!ChunkRuns::places(empty, sizesBlob({})));
        QByteArray overflowing = runs;
        qToLittleEndian<qint64>(std::numeric_limits<qint64>::max() - 50, overflowing.data() + 16);
        QVERIFY(!ChunkRuns::places(overflowing, sizesBlob({100, 100})));
    }
};

QTEST_GUILESS_MAIN(ChunkRunsTest)
#include "ChunkRunsTest.moc"
