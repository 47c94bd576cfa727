// SPDX-License-Identifier: GPL-2.0-or-later
// A file's chunk list as the catalog keeps it (binary ids in one blob), and
// the sorted map the catalog reads every chunk of a store into.
#include "ChunkList.h"
#include "ChunkIdMap.h"

#include <QRandomGenerator>
#include <QTest>

using namespace Rewind;

namespace
{

QByteArray hexOf(int n)
{
    return QByteArray::number(n, 16).rightJustified(32, '0');
}

} // namespace

class ChunkListTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void listsKeepTheOrderAndRefuseWhatIsNoId()
    {
        const QList<QByteArray> ids{hexOf(3), QByteArray("0123456789abcdef0123456789abcdef"), hexOf(3), hexOf(1)};
        std::optional<QByteArray> list = QByteArray();
        for (const QByteArray &id : ids) {
            const auto binary = ChunkList::binaryId(id);
            QVERIFY(binary);
            list->append(*binary);
        }
        QCOMPARE(list->size(), 4 * ChunkList::idBytes);
        QCOMPARE(ChunkList::count(*list), 4);
        QCOMPARE(ChunkList::hexIds(*list), ids);
        QCOMPARE(ChunkList::viewAt(*list, 1), QByteArray::fromHex("0123456789abcdef0123456789abcdef"));
        QVERIFY(ChunkList::isWellFormed(*list));
        QVERIFY(!ChunkList::isWellFormed(list->left(list->size() - 1)));
        QCOMPARE(ChunkList::hexIds({}), QList<QByteArray>());

        // Ids are 32 lower-case hex digits, nothing else.
        for (const QByteArray &bad : {QByteArray("0123456789ABCDEF0123456789abcdef"),
                                      hexOf(1).left(31),
                                      hexOf(1) + '0',
                                      QByteArray("0123456789abcdef0123456789abcdeg"),
                                      QByteArray("\"],[\"0123456789abcdef0123456789")}) {
            QVERIFY2(!ChunkList::binaryId(bad), bad.constData());
            QVERIFY2(!ChunkList::idFromHex(bad), bad.constData());
        }
        QCOMPARE(ChunkList::binaryId(hexOf(255)), std::optional(QByteArray::fromHex(hexOf(255))));
    }

    void mapsFindEveryIdOnceAndNothingElse()
    {
        ChunkIdMap<int> map;
        QVERIFY(map.isEmpty());
        for (int n = 1000; n > 0; n -= 2) {
            map.insert(*ChunkList::binaryId(hexOf(n)), n);
        }
        map.insert(*ChunkList::binaryId(hexOf(500)), -1); // a second 500: the first stays
        map.sort();
        QCOMPARE(map.entries().size(), std::size_t(500));
        for (int n = 0; n <= 1001; ++n) {
            const QByteArray id = *ChunkList::binaryId(hexOf(n));
            int *value = map.find(id.constData());
            if (n % 2 == 0 && n > 0) {
                QVERIFY(value);
                QCOMPARE(*value, n);
            } else {
                QVERIFY(!value);
            }
        }
        *map.find(ChunkList::binaryId(hexOf(2))->constData()) = 7;
        QCOMPARE(map.entries().front().value, 7);
        QCOMPARE(ChunkIdMap<int>::hexId(map.entries().front()), hexOf(2));
    }

    void mapsOfEvenlySpreadIdsFindEveryOne()
    {
        // As a store's ids are: keyed hashes, whose first bytes tell about
        // where they are. Ids at both ends and neighbours of each other too.
        QRandomGenerator random(42);
        auto randomId = [&random] {
            QByteArray id(ChunkList::idBytes, Qt::Uninitialized);
            random.fillRange(reinterpret_cast<quint32 *>(id.data()), ChunkList::idBytes / 4);
            return id;
        };
        QList<QByteArray> stored{QByteArray(ChunkList::idBytes, '\0'), QByteArray(ChunkList::idBytes, '\xff')};
        for (int i = 0; i < 20000; ++i) {
            stored.append(randomId());
        }
        QByteArray neighbour = stored.last();
        neighbour[ChunkList::idBytes - 1] = char(neighbour.at(ChunkList::idBytes - 1) ^ 1);
        stored.append(neighbour);
        ChunkIdMap<qsizetype> map;
        for (qsizetype i = 0; i < stored.size(); ++i) {
            map.insert(stored.at(i), i);
        }
        map.sort();
        for (qsizetype i = 0; i < stored.size(); ++i) {
            const qsizetype *value = map.find(stored.at(i).constData());
            QVERIFY2(value, qPrintable(QString::number(i)));
            QCOMPARE(*value, i);
        }
        QByteArray almostFirst(ChunkList::idBytes, '\0');
        almostFirst[ChunkList::idBytes - 1] = 1;
        QByteArray almostLast(ChunkList::idBytes, '\xff');
        almostLast[ChunkList::idBytes - 1] = char(0xfe);
        QVERIFY(!map.find(almostFirst.constData()));
        QVERIFY(!map.find(almostLast.constData()));
        for (int i = 0; i < 20000; ++i) {
            QVERIFY(!map.find(randomId().constData()));
        }
    }
};

QTEST_GUILESS_MAIN(ChunkListTest)
#include "ChunkListTest.moc"
