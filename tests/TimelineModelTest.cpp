// SPDX-License-Identifier: GPL-2.0-or-later
// The timeline and session models, checked by QAbstractItemModelTester.
#include "TimelineModel.h"
#include "SessionListModel.h"
#include "TestSkip.h"
#include "TimelineDelegate.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QJsonArray>
#include <QJsonObject>
#include <QListView>
#include <QLocale>
#include <QSignalSpy>
#include <QTest>
#include <QTimeZone>

namespace
{
QJsonObject snapshot(qint64 id, const QString &createdAt, const QString &trigger = QStringLiteral("manual"), const QString &label = {})
{
    return {{QStringLiteral("id"), id},
            {QStringLiteral("addedBytes"), 1536 * 1024},
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
        QVERIFY(model.index(1).data().toString().contains(QLatin1String("Before restore")));
        QVERIFY(model.index(2).data().toString().contains(QLatin1String("Scheduled")));
        const QString tooltip = model.index(0).data(Qt::ToolTipRole).toString();
        QVERIFY2(tooltip.contains(QLatin1String("152 ms")) && tooltip.contains(QLatin1String("3.0 MiB")), qPrintable(tooltip));
    }

    void groupedByDay()
    {
        // Noon local time, so that no test run near midnight changes the day.
        const QDate today = QDate::currentDate();
        const auto at = [](const QDate &day, int hour) {
            return QDateTime(day, QTime(hour, 0), QTimeZone::LocalTime).toUTC().toString(Qt::ISODateWithMs);
        };
        const QDate lastWeek = today.addDays(-6);
        TimelineModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSnapshots({snapshot(1, at(lastWeek, 12), QStringLiteral("imported")),
                            snapshot(2, at(today.addDays(-1), 13), QStringLiteral("before-restore")),
                            snapshot(3, at(today.addDays(-1), 12), QStringLiteral("scheduled")),
                            snapshot(4, at(today, 12), QStringLiteral("manual"), QStringLiteral("talk")),
                            snapshot(5, at(today, 11), QStringLiteral("hibernate")),
                            snapshot(6, at(today, 10), QStringLiteral("from-the-future"))});
        QCOMPARE(model.rowCount(), 6);
        const auto heading = [&model](int row) {
            return model.index(row).data(TimelineModel::DayHeadingRole).toString();
        };
        QCOMPARE(heading(0), QStringLiteral("Today"));
        QCOMPARE(heading(1), QString());
        QCOMPARE(heading(2), QString());
        QCOMPARE(heading(3), QStringLiteral("Yesterday"));
        QCOMPARE(heading(4), QString());
        QCOMPARE(heading(5), QLocale().toString(lastWeek, QLocale::LongFormat));
        QCOMPARE(model.index(3).data(TimelineModel::DayRole).toDate(), today.addDays(-1));

        // Each entry: its time, label, trigger in words and what it added.
        QCOMPARE(model.index(0).data(TimelineModel::TimeTextRole).toString(), QLocale().toString(QTime(12, 0), QLocale::ShortFormat));
        QCOMPARE(model.index(0).data(TimelineModel::LabelRole).toString(), QStringLiteral("talk"));
        QCOMPARE(model.index(0).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Manual"));
        QCOMPARE(model.index(1).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Hibernate"));
        QCOMPARE(model.index(2).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Other (from-the-future)"));
        QCOMPARE(model.index(3).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Before restore"));
        QCOMPARE(model.index(4).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Scheduled"));
        QCOMPARE(model.index(5).data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Imported"));
        QCOMPARE(model.index(0).data(TimelineModel::AddedBytesRole).toLongLong(), 1536 * 1024);
        QCOMPARE(model.index(0).data(TimelineModel::AddedTextRole).toString(), QStringLiteral("1.5 MiB added"));

        // Today's first entry deleted: the next one carries the heading now.
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setSnapshots({snapshot(1, at(lastWeek, 12), QStringLiteral("imported")),
                            snapshot(2, at(today.addDays(-1), 13), QStringLiteral("before-restore")),
                            snapshot(3, at(today.addDays(-1), 12), QStringLiteral("scheduled")),
                            snapshot(5, at(today, 11), QStringLiteral("hibernate")),
                            snapshot(6, at(today, 10), QStringLiteral("from-the-future"))});
        QCOMPARE(heading(0), QStringLiteral("Today"));
        QCOMPARE(model.idAt(0), 5);
        QVERIFY(std::any_of(changed.cbegin(), changed.cend(), [](const QList<QVariant> &arguments) {
            return arguments.at(0).toModelIndex().row() == 0 && arguments.at(2).value<QList<int>>().contains(TimelineModel::DayHeadingRole);
        }));
    }

    void delegateDrawsEachDayUnderItsHeading()
    {
        const QDate today = QDate::currentDate();
        const auto at = [](const QDate &day, int hour) {
            return QDateTime(day, QTime(hour, 0), QTimeZone::LocalTime).toUTC().toString(Qt::ISODateWithMs);
        };
        TimelineModel model;
        QJsonObject pinned = snapshot(3, at(today, 12), QStringLiteral("manual"), QStringLiteral("before the talk"));
        pinned.insert(QStringLiteral("pinned"), true);
        model.setSnapshots(
            {pinned, snapshot(2, at(today, 11), QStringLiteral("scheduled")), snapshot(1, at(today.addDays(-3), 12), QStringLiteral("imported"))});
        QImage screen(320, 200, QImage::Format_RGB32);
        screen.fill(Qt::darkCyan);
        model.setThumbnail(2, screen);
        QListView view;
        view.setItemDelegate(new TimelineDelegate(&view));
        view.setModel(&model);
        view.resize(600, 500);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QRect first = view.visualRect(model.index(0));
        const QRect second = view.visualRect(model.index(1));
        const QRect third = view.visualRect(model.index(2));
        // The first entry of each day carries its heading; the others do not.
        QVERIFY(first.height() > second.height());
        QCOMPARE(third.height(), first.height());
        QVERIFY(second.top() >= first.bottom() && third.top() >= second.bottom());
        view.setCurrentIndex(model.index(1));
        const QImage picture = view.viewport()->grab().toImage();
        QVERIFY(!picture.isNull());
        // The picture of the screen is drawn in the second entry, at its left.
        const QPoint middleOfPicture =
            second.topLeft() + QPoint(6 + TimelineDelegate::thumbnailSize().width() / 2, 6 + TimelineDelegate::thumbnailSize().height() / 2);
        QCOMPARE(picture.pixelColor(middleOfPicture), QColor(Qt::darkCyan));
        QVERIFY(picture.pixelColor(first.topLeft() + QPoint(6 + 80, first.height() - 6 - 50)) != QColor(Qt::darkCyan));
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS"); !directory.isEmpty()) {
            QVERIFY(picture.save(directory + QStringLiteral("/timeline-days.png")));
        }
    }

    void dayHeadings()
    {
        const QDate today(2026, 11, 30);
        QCOMPARE(TimelineModel::dayHeading(today, today), QStringLiteral("Today"));
        QCOMPARE(TimelineModel::dayHeading(QDate(2026, 11, 29), today), QStringLiteral("Yesterday"));
        QCOMPARE(TimelineModel::dayHeading(QDate(2026, 11, 28), today), QLocale().toString(QDate(2026, 11, 28), QLocale::LongFormat));
        QCOMPARE(TimelineModel::dayHeading(QDate(2025, 11, 30), today), QLocale().toString(QDate(2025, 11, 30), QLocale::LongFormat));
    }

    void unknownAddedBytesShowNothing()
    {
        QJsonObject older = snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z"));
        older.insert(QStringLiteral("addedBytes"), QJsonValue());
        TimelineModel model;
        model.setSnapshots({older});
        QVERIFY(model.index(0).data(TimelineModel::AddedBytesRole).isNull());
        QCOMPARE(model.index(0).data(TimelineModel::AddedTextRole).toString(), QString());
        older.remove(QStringLiteral("addedBytes"));
        model.setSnapshots({older});
        QVERIFY(model.index(0).data(TimelineModel::AddedBytesRole).isNull());
    }

    void showOnlyGivenSnapshotsInTheirOrder()
    {
        TimelineModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z")),
                            snapshot(2, QStringLiteral("2026-11-23T11:00:00.000Z")),
                            snapshot(3, QStringLiteral("2026-11-23T12:00:00.000Z"))});
        model.setThumbnail(1, QImage(32, 20, QImage::Format_RGB32));
        // A search's hits, best first; an id not on the timeline and a repeated one are left out.
        model.showOnly({1, 99, 3, 1});
        QVERIFY(model.isFiltered());
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.idAt(0), 1);
        QCOMPARE(model.idAt(1), 3);
        QCOMPARE(model.rowOf(2), -1);
        QCOMPARE(model.index(0).data(Qt::DecorationRole).value<QImage>().size(), QSize(32, 20));
        // Autosave adds one meanwhile: it stays hidden, the hits stay.
        model.setSnapshots({snapshot(1, QStringLiteral("2026-11-23T10:00:00.000Z")),
                            snapshot(2, QStringLiteral("2026-11-23T11:00:00.000Z")),
                            snapshot(3, QStringLiteral("2026-11-23T12:00:00.000Z")),
                            snapshot(4, QStringLiteral("2026-11-23T13:00:00.000Z"))});
        QCOMPARE(model.rowCount(), 2);
        model.showOnly({3, 1});
        QCOMPARE(model.idAt(0), 3);
        QCOMPARE(model.idAt(1), 1);
        model.showOnly({});
        QCOMPARE(model.rowCount(), 0);
        model.showAll();
        QVERIFY(!model.isFiltered());
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.idAt(0), 4);
        QCOMPARE(model.idAt(3), 1);
        QCOMPARE(model.index(3).data(Qt::DecorationRole).value<QImage>().size(), QSize(32, 20));
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
