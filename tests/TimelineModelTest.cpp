// SPDX-License-Identifier: GPL-2.0-or-later
// The timeline and session models, checked by QAbstractItemModelTester.
#include "TimelineModel.h"
#include "SessionListModel.h"
#include "TestSkip.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QJsonArray>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

namespace
{
QJsonObject snapshot(qint64 id, const QString &createdAt, const QString &trigger = QStringLiteral("manual"), const QString &label = {})
{
    return {{QStringLiteral("id"), id},
            {QStringLiteral("createdAt"), createdAt},
            {QStringLiteral("trigger"), trigger},
            {QStringLiteral("label"), label},
            {QStringLiteral("storedBytes"), 3 * 1024 * 1024},
            {QStringLiteral("newBytes"), 100 * 1024},
            {QStringLiteral("frozenMs"), 152.4}};
}
}

class TimelineModelTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void newestFirstWithReadableTitles()
    {
        TimelineModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z"), QStringLiteral("scheduled")),
                            snapshot(3, QStringLiteral("2026-11-23T12:00:00.000Z"), QStringLiteral("manual"), QStringLiteral("before the talk")),
                            snapshot(2, QStringLiteral("2026-11-23T11:00:00.000Z"), QStringLiteral("before-restore"))});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.idAt(0), 3);
        QCOMPARE(model.idAt(2), 1);
        QVERIFY(model.index(0).data().toString().contains(QLatin1String("before the talk")));
        QVERIFY(model.index(1).data().toString().contains(QLatin1String("before a restore")));
        QVERIFY(model.index(2).data().toString().contains(QLatin1String("autosave")));
        const QString tooltip = model.index(0).data(Qt::ToolTipRole).toString();
        QVERIFY2(tooltip.contains(QLatin1String("152 ms")) && tooltip.contains(QLatin1String("3.0 MiB")), qPrintable(tooltip));
    }

    void updatesKeepUnchangedRows()
    {
        TimelineModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z")), snapshot(2, QStringLiteral("2026-11-23T11:00:00.000Z"))});
        model.setThumbnail(1, QImage(32, 20, QImage::Format_RGB32));

        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        // Autosave added 3; 2 was deleted.
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z")), snapshot(3, QStringLiteral("2026-11-23T12:00:00.000Z"))});
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(removed.size(), 1);
        QCOMPARE(reset.size(), 0);
        QCOMPARE(model.idAt(0), 3);
        QCOMPARE(model.idAt(1), 1);
        // The thumbnail stayed with its snapshot.
        QCOMPARE(model.index(1).data(Qt::DecorationRole).value<QImage>().size(), QSize(32, 20));
        QVERIFY(model.index(0).data(Qt::DecorationRole).value<QImage>().isNull());
        QCOMPARE(model.rowOf(2), -1);
    }

    void labelChangeIsADataChange()
    {
        TimelineModel model;
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z"))});
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z"), QStringLiteral("manual"), QStringLiteral("renamed"))});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(model.index(0).data(TimelineModel::LabelRole).toString(), QStringLiteral("renamed"));
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z"), QStringLiteral("manual"), QStringLiteral("renamed"))});
        QCOMPARE(changed.size(), 1);
    }

    void malformedEntriesAreSkipped()
    {
        TimelineModel model;
        model.setSnapshots({QJsonValue(42), QJsonObject{{QStringLiteral("id"), QStringLiteral("x")}}, snapshot(5, QStringLiteral("2026-11-23T10:00:00.000Z"))});
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.idAt(0), 5);
    }

    void sessionStates()
    {
        SessionListModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const auto session = [](const QString &id, const QString &state) {
            return QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("spec"), QStringLiteral("Demo")}, {QStringLiteral("state"), state}};
        };
        model.setSessions({session(QStringLiteral("demo-1"), QStringLiteral("running")), session(QStringLiteral("demo-2"), QStringLiteral("crashed"))});
        QCOMPARE(model.rowCount(), 2);
        QVERIFY(model.index(1).data().toString().contains(QLatin1String("recovered")));
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setSessions({session(QStringLiteral("demo-1"), QStringLiteral("frozen")), session(QStringLiteral("demo-2"), QStringLiteral("crashed"))});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(model.index(0).data(SessionListModel::StateRole).toString(), QStringLiteral("frozen"));
        QCOMPARE(model.rowOf(QStringLiteral("demo-2")), 1);
    }

    void sessionsKnownOnlyByTheirSnapshots()
    {
        const QJsonArray sessions = {QJsonObject{{QStringLiteral("id"), QStringLiteral("demo-1")}, {QStringLiteral("state"), QStringLiteral("running")}}};
        const auto snapshotOf = [](const QString &session) {
            return QJsonObject{{QStringLiteral("id"), 1}, {QStringLiteral("session"), session}};
        };
        const QJsonArray listed = SessionListModel::withSessionsOfSnapshots(
            sessions,
            {snapshotOf(QStringLiteral("demo-1")), snapshotOf(QStringLiteral("imported-2")), snapshotOf(QStringLiteral("imported-2")), snapshotOf({})});
        SessionListModel model;
        model.setSessions(listed);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.index(0).data(SessionListModel::StateRole).toString(), QStringLiteral("running"));
        QCOMPARE(model.index(1).data(SessionListModel::IdRole).toString(), QStringLiteral("imported-2"));
        QCOMPARE(model.index(1).data(SessionListModel::StateRole).toString(), SessionListModel::snapshotsOnlyState);
        QVERIFY(model.index(1).data().toString().contains(QLatin1String("Snapshots only")));
    }
};

REWIND_TEST_MAIN(TimelineModelTest)
#include "TimelineModelTest.moc"
