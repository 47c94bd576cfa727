// SPDX-License-Identifier: GPL-2.0-or-later
// Which automatic snapshots are kept, and when the next one is due.
#include "RetentionPolicy.h"
#include "AutosaveSchedule.h"
#include "TestSkip.h"

#include <QTest>

using namespace Rewind;

namespace
{
const QDateTime now = QDateTime(QDate(2026, 11, 23), QTime(12, 0), QTimeZone::UTC);

SnapshotInfo snapshot(qint64 id, qint64 secondsAgo, SnapshotTrigger trigger = SnapshotTrigger::Scheduled, bool pinned = false)
{
    SnapshotInfo info;
    info.id = id;
    info.sessionId = QStringLiteral("demo-1");
    info.createdAt = now.addSecs(-secondsAgo);
    info.trigger = trigger;
    info.pinned = pinned;
    return info;
}
}

class RetentionPolicyTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keepsEverythingWhileFew()
    {
        const QList<SnapshotInfo> snapshots = {snapshot(1, 3000), snapshot(2, 2000), snapshot(3, 1000)};
        QCOMPARE(RetentionPolicy().prune(snapshots, now), QList<qint64>());
    }

    void thinsOutByHourAndDay()
    {
        // One scheduled snapshot every 15 minutes for three days: ids grow with time.
        QList<SnapshotInfo> snapshots;
        const int count = 3 * 24 * 4;
        for (int i = 0; i < count; ++i) {
            snapshots.append(snapshot(i + 1, qint64(count - i) * 900));
        }
        RetentionPolicy policy;
        policy.keepLast = 4;
        policy.keepHourly = 6;
        policy.keepDaily = 7;
        const QList<qint64> pruned = policy.prune(snapshots, now);
        QSet<qint64> kept;
        for (const SnapshotInfo &info : snapshots) {
            kept.insert(info.id);
        }
        for (qint64 id : pruned) {
            kept.remove(id);
        }
        // The 4 newest, the newest of each of the last 6 hours, and of each of the 4 days touched.
        QVERIFY(kept.contains(count) && kept.contains(count - 1) && kept.contains(count - 2) && kept.contains(count - 3));
        QVERIFY2(kept.size() >= 4 + 6 - 1 && kept.size() <= 4 + 6 + 4, qPrintable(QString::number(kept.size())));
        // Oldest first, and never twice.
        QVERIFY(std::is_sorted(pruned.begin(), pruned.end()));
        QCOMPARE(QSet<qint64>(pruned.begin(), pruned.end()).size(), pruned.size());
    }

    void keepsNewestOfEachHourAndDay()
    {
        // now is 12:00 on the 23rd.
        const QList<SnapshotInfo> snapshots = {
            snapshot(1, 30 * 86400), // a month ago
            snapshot(2, 50 * 3600), // 10:00 on the 21st
            snapshot(3, 26 * 3600), // 10:00 on the 22nd
            snapshot(4, 25 * 3600), // 11:00 on the 22nd: newest of yesterday
            snapshot(5, 130 * 60), // 09:50: three hours back, out of the hourly window
            snapshot(6, 80 * 60), // 10:40
            snapshot(7, 70 * 60), // 10:50: newest of hour 10
            snapshot(8, 20 * 60), // 11:40
            snapshot(9, 10 * 60), // 11:50: newest of all, of hour 11 and of today
        };
        RetentionPolicy policy;
        policy.keepLast = 1;
        policy.keepHourly = 3;
        policy.keepDaily = 2;
        policy.keepBeforeRestore = 0;
        QCOMPARE(policy.prune(snapshots, now), (QList<qint64>{1, 2, 3, 5, 6, 8}));
    }

    void neverPrunesManualPinnedOrImported()
    {
        QList<SnapshotInfo> snapshots;
        for (int i = 0; i < 50; ++i) {
            snapshots.append(snapshot(i + 1, qint64(50 - i) * 86400 * 2));
        }
        snapshots.append(snapshot(100, 90 * 86400, SnapshotTrigger::Manual));
        snapshots.append(snapshot(101, 90 * 86400, SnapshotTrigger::Imported));
        snapshots.append(snapshot(102, 90 * 86400, SnapshotTrigger::Scheduled, true));
        const QList<qint64> pruned = RetentionPolicy().prune(snapshots, now);
        QVERIFY(!pruned.isEmpty());
        for (qint64 id : {100, 101, 102}) {
            QVERIFY(!pruned.contains(id));
        }
    }

    void keepsLabelledAutomaticSnapshots()
    {
        // A label is the user's word that a point matters, like a pin.
        QList<SnapshotInfo> snapshots;
        for (int i = 0; i < 10; ++i) {
            snapshots.append(snapshot(i + 1, qint64(10 - i) * 60));
        }
        snapshots[0].label = QStringLiteral("before the upgrade");
        RetentionPolicy policy;
        policy.keepLast = 1;
        policy.keepHourly = 0;
        policy.keepDaily = 0;
        const QList<qint64> pruned = policy.prune(snapshots, now);
        QCOMPARE(pruned, (QList<qint64>{2, 3, 4, 5, 6, 7, 8, 9}));
    }

    void keepsNewestBeforeRestoreSnapshots()
    {
        QList<SnapshotInfo> snapshots;
        for (int i = 0; i < 8; ++i) {
            snapshots.append(snapshot(i + 1, qint64(8 - i) * 60, SnapshotTrigger::BeforeRestore));
        }
        RetentionPolicy policy;
        policy.keepBeforeRestore = 3;
        QCOMPARE(policy.prune(snapshots, now), (QList<qint64>{1, 2, 3, 4, 5}));
    }

    void autosaveIsDueAnIntervalAfterTheNewestSnapshot()
    {
        AutosaveSchedule schedule;
        schedule.interval = std::chrono::minutes(15);
        QVERIFY(schedule.isDue({}, now));
        QVERIFY(!schedule.isDue({snapshot(1, 5 * 60)}, now));
        QCOMPARE(schedule.nextDue({snapshot(1, 5 * 60)}, now), now.addSecs(10 * 60));
        // A manual snapshot counts too.
        QVERIFY(!schedule.isDue({snapshot(1, 60 * 60), snapshot(2, 60, SnapshotTrigger::Manual)}, now));
        QVERIFY(schedule.isDue({snapshot(1, 16 * 60)}, now));
        QCOMPARE(schedule.nextDue({snapshot(1, 16 * 60)}, now), now);
    }
};

REWIND_TEST_GUILESS_MAIN(RetentionPolicyTest)
#include "RetentionPolicyTest.moc"
