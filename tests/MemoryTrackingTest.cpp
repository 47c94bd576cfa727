// SPDX-License-Identifier: GPL-2.0-or-later
// MemoryTracking: a dump leans on a parent only where the kernel's bits
// answer to it (the session's newest snapshot, the same cell, this boot),
// and a full dump comes after MemoryTracking::maximumIncrementalDumps.
#include "MemoryTracking.h"
#include "TestFiles.h"
#include "TestSkip.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Rewind;

namespace
{

SessionRecord cell()
{
    SessionRecord record;
    record.id = QStringLiteral("demo-4f2a1c9e07d1b35c8a6e2f40");
    record.initPid = 4242;
    record.initStartTime = 987654321;
    record.bootId = SessionRecord::currentBootId();
    return record;
}

} // namespace

class MemoryTrackingTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void leansOnlyOnTheNewestSnapshotOfTheSameCell()
    {
        QTemporaryDir sessions;
        QVERIFY(sessions.isValid());
        const MemoryTracking tracking(sessions.path());
        const SessionRecord record = cell();
        QVERIFY(!tracking.parentFor(record, 5));

        QVERIFY(tracking.remember(record, 5, std::nullopt).ok());
        const auto parent = tracking.parentFor(record, 5);
        QVERIFY(parent);
        QCOMPARE(parent->snapshot, 5);
        QCOMPARE(parent->incrementalDumps, 0);
        // A newer snapshot was taken some other way, or the newest was deleted.
        QVERIFY(!tracking.parentFor(record, 6));
        QVERIFY(!tracking.parentFor(record, 4));

        SessionRecord restored = record;
        restored.initStartTime += 1;
        QVERIFY(!tracking.parentFor(restored, 5));
        SessionRecord reused = record;
        reused.initPid += 1;
        QVERIFY(!tracking.parentFor(reused, 5));
        SessionRecord earlierBoot = record;
        earlierBoot.bootId = QStringLiteral("00000000-0000-0000-0000-000000000000");
        QVERIFY(!tracking.parentFor(earlierBoot, 5));

        // Before a dump resets the bits, nothing answers for them.
        QVERIFY(tracking.forget(record.id).ok());
        QVERIFY(!tracking.parentFor(record, 5));
        QVERIFY(tracking.forget(record.id).ok());
    }

    void aFullDumpComesAfterTheLongestChain()
    {
        QTemporaryDir sessions;
        QVERIFY(sessions.isValid());
        const MemoryTracking tracking(sessions.path());
        const SessionRecord record = cell();
        QVERIFY(tracking.remember(record, 1, std::nullopt).ok());
        qint64 newest = 1;
        for (int dumps = 1; dumps <= MemoryTracking::maximumIncrementalDumps; ++dumps) {
            const auto parent = tracking.parentFor(record, newest);
            QVERIFY2(parent, qPrintable(QString::number(dumps)));
            QVERIFY(tracking.remember(record, ++newest, parent).ok());
        }
        QVERIFY(!tracking.parentFor(record, newest));
        // The full one starts a new chain.
        QVERIFY(tracking.remember(record, ++newest, std::nullopt).ok());
        QVERIFY(tracking.parentFor(record, newest));
    }

    void aDamagedRecordMeansAFullDump()
    {
        QTemporaryDir sessions;
        QVERIFY(sessions.isValid());
        const SessionRecord record = cell();
        QVERIFY(writeFile(sessions.filePath(record.id + QStringLiteral(".tracked")), QByteArray("{\"snapshot\": 5, \"initPid\": ")));
        QVERIFY(!MemoryTracking(sessions.path()).parentFor(record, 5));
        QVERIFY(writeFile(sessions.filePath(record.id + QStringLiteral(".tracked")), QByteArray(100000, '{')));
        QVERIFY(!MemoryTracking(sessions.path()).parentFor(record, 5));
    }
};

REWIND_TEST_GUILESS_MAIN(MemoryTrackingTest)
#include "MemoryTrackingTest.moc"
