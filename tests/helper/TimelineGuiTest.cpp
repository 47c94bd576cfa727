// SPDX-License-Identifier: GPL-2.0-or-later
// The timeline as a user reads it, in the real window as rewind-user (run by
// rewind-test-as-owner) against the real helper and polkitd: snapshots of
// today under "Today" with their time, trigger and the size they added;
// Rename (F2) and Pin (Ctrl+P) through the helper; the storage line with the
// quota the administrator set. REWIND_TEST_SCREENSHOTS=DIR keeps a picture
// of the window.
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "SessionListModel.h"
#include "TestSkip.h"
#include "TimelineModel.h"

#include <KFormat>

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <unistd.h>

using namespace Rewind;

class TimelineGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QStringList m_sessions;

    /// Calls the helper and waits for its answer.
    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments = {})
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    /// The snapshot as the helper lists it; empty if it does not.
    QJsonObject listed(qint64 id)
    {
        const auto snapshots = call(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, m_sessions.first()}});
        const QJsonArray list = snapshots ? snapshots->toArray() : QJsonArray();
        for (const QJsonValue &snapshot : list) {
            if (snapshot.toObject().value(QStringLiteral("id")).toInteger() == id) {
                return snapshot.toObject();
            }
        }
        return {};
    }

    /// Writes the administrator's limits.conf, which rewind-test-as-owner
    /// hands to the owner for this; the helper reads it at each call.
    static bool writeLimits(const QByteArray &content)
    {
        QFile limits(qEnvironmentVariable("REWIND_LIMITS_FILE"));
        return limits.open(QIODevice::WriteOnly | QIODevice::Truncate) && limits.write(content) == content.size();
    }

    static void keepPicture(QWidget &window, const QString &name)
    {
        const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS");
        if (!directory.isEmpty()) {
            QVERIFY(window.grab().save(QDir(directory).filePath(name)));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        // As the app does: Breeze where no desktop names a theme.
        IconTheme::useBreezeWhereNoneIsSet();
        QVERIFY2(writeLimits("[Store]\nBytesPerUser=10G\n"), "rewind-test-as-owner hands the limits file to the owner");
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_sessions.append(started->toObject().value(QStringLiteral("id")).toString());
    }

    void cleanupTestCase()
    {
        (void)writeLimits({});
        for (const QString &session : std::as_const(m_sessions)) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        }
    }

    void todayWithTriggerSizeRenameAndPin()
    {
        MainWindow window(&m_client);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto *sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
        auto *timeline = window.findChild<QListView *>(QStringLiteral("timeline"));
        auto *storage = window.findChild<QLabel *>(QStringLiteral("storage"));
        QVERIFY(sessions && timeline && storage);
        window.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(window.currentSession(), m_sessions.first(), 30000);
        QTRY_COMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), QStringLiteral("running"));

        // Two snapshots: one from the keyboard, one labelled through the helper.
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        QTRY_VERIFY(windowAction(window, QStringLiteral("Snapshot Now"))->isEnabled());
        QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotTaken"));
        auto second = call(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, m_sessions.first()}, {HelperProtocol::labelKey, QStringLiteral("second")}});
        QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
        const qint64 secondId = second->toObject().value(QStringLiteral("id")).toInteger();
        window.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->rowCount(), 2, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(!timeline->model()->index(1, 0).data(Qt::DecorationRole).value<QImage>().isNull(), 30000);

        // Both today, newest first, under one heading.
        const QModelIndex newest = timeline->model()->index(0, 0);
        const QModelIndex older = timeline->model()->index(1, 0);
        QCOMPARE(newest.data(TimelineModel::IdRole).toLongLong(), secondId);
        QCOMPARE(newest.data(TimelineModel::DayHeadingRole).toString(), QStringLiteral("Today"));
        QCOMPARE(older.data(TimelineModel::DayHeadingRole).toString(), QString());
        QCOMPARE(newest.data(TimelineModel::LabelRole).toString(), QStringLiteral("second"));
        QCOMPARE(newest.data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Manual"));
        QCOMPARE(older.data(TimelineModel::TriggerTextRole).toString(), QStringLiteral("Manual"));
        // The first brought the session into the store, the second far less.
        const qint64 olderAdded = older.data(TimelineModel::AddedBytesRole).toLongLong();
        const qint64 newestAdded = newest.data(TimelineModel::AddedBytesRole).toLongLong();
        QVERIFY(olderAdded > 0);
        QVERIFY2(newestAdded < olderAdded, qPrintable(QStringLiteral("%1 after %2").arg(newestAdded).arg(olderAdded)));
        QCOMPARE(older.data(TimelineModel::AddedTextRole).toString(), QStringLiteral("%1 added").arg(KFormat().formatByteSize(double(olderAdded))));
        QVERIFY(!newest.data(TimelineModel::TimeTextRole).toString().isEmpty());
        // The heading takes room above the day's first entry only.
        QVERIFY(timeline->visualRect(newest).height() > timeline->visualRect(older).height());
        QVERIFY(timeline->visualRect(older).top() >= timeline->visualRect(newest).bottom());

        // The storage line: this session's snapshots, all of them, the quota.
        const auto used = call(HelperProtocol::storage);
        QVERIFY2(used.ok(), qPrintable(used.errorMessage()));
        const qint64 total = used->toObject().value(QStringLiteral("totalBytes")).toInteger();
        QCOMPARE(total, olderAdded + newestAdded);
        QCOMPARE(used->toObject().value(QStringLiteral("quotaBytes")).toInteger(), 10LL * 1024 * 1024 * 1024);
        const QString quota = KFormat().formatByteSize(10.0 * 1024 * 1024 * 1024);
        QTRY_VERIFY2_WITH_TIMEOUT(storage->text().contains(KFormat().formatByteSize(double(total))) && storage->text().contains(quota),
                                  qPrintable(storage->text()),
                                  30000);
        QVERIFY2(storage->text().contains(QLatin1String("quota")), qPrintable(storage->text()));
        keepPicture(window, QStringLiteral("timeline-today.png"));

        // Rename the older one with F2; an empty label clears it again.
        timeline->setFocus();
        timeline->setCurrentIndex(older);
        const qint64 olderId = older.data(TimelineModel::IdRole).toLongLong();
        QString offered;
        window.setLabelEditor([&offered](const QString &current) -> std::optional<QString> {
            offered = current;
            return QStringLiteral("  before the talk ");
        });
        QAction *rename = windowAction(window, QStringLiteral("Rename…"));
        QVERIFY(rename);
        QCOMPARE(rename->shortcut(), QKeySequence(Qt::Key_F2));
        QVERIFY(!rename->icon().isNull());
        QTRY_VERIFY(rename->isEnabled());
        QTest::keyClick(timeline, Qt::Key_F2);
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->index(timeline->model()->rowCount() - 1, 0).data(TimelineModel::LabelRole).toString(),
                                  QStringLiteral("before the talk"),
                                  30000);
        QCOMPARE(offered, QString());
        QCOMPARE(listed(olderId).value(QStringLiteral("label")).toString(), QStringLiteral("before the talk"));
        QCOMPARE(window.currentSnapshot(), olderId);
        keepPicture(window, QStringLiteral("timeline-renamed.png"));

        window.setLabelEditor([&offered](const QString &current) -> std::optional<QString> {
            offered = current;
            return QString();
        });
        QTRY_VERIFY(rename->isEnabled());
        QTest::keyClick(timeline, Qt::Key_F2);
        QTRY_COMPARE_WITH_TIMEOUT(listed(olderId).value(QStringLiteral("label")).toString(), QString(), 30000);
        QCOMPARE(offered, QStringLiteral("before the talk"));
        QTRY_COMPARE(timeline->model()->index(timeline->model()->rowCount() - 1, 0).data(TimelineModel::LabelRole).toString(), QString());

        // Cancelled: nothing changes.
        window.setLabelEditor([](const QString &) -> std::optional<QString> {
            return std::nullopt;
        });
        QTest::keyClick(timeline, Qt::Key_F2);
        QCOMPARE(m_client.running(), 0);

        // Pin with Ctrl+P, and unpin.
        QAction *pin = windowAction(window, QStringLiteral("Pin"));
        QVERIFY(pin && pin->isCheckable());
        QVERIFY(!pin->icon().isNull());
        QVERIFY(!pin->isChecked());
        QTRY_VERIFY(pin->isEnabled());
        QTest::keyClick(timeline, Qt::Key_P, Qt::ControlModifier);
        QTRY_VERIFY_WITH_TIMEOUT(timeline->currentIndex().data(TimelineModel::PinnedRole).toBool(), 30000);
        QVERIFY(listed(olderId).value(QStringLiteral("pinned")).toBool());
        QTRY_VERIFY(pin->isChecked());
        QCOMPARE(pin->text().remove(QLatin1Char('&')), QStringLiteral("Unpin"));
        keepPicture(window, QStringLiteral("timeline-pinned.png"));
        QTRY_VERIFY(pin->isEnabled());
        QTest::keyClick(timeline, Qt::Key_P, Qt::ControlModifier);
        QTRY_VERIFY_WITH_TIMEOUT(!timeline->currentIndex().data(TimelineModel::PinnedRole).toBool(), 30000);
        QVERIFY(!listed(olderId).value(QStringLiteral("pinned")).toBool());
        QTRY_COMPARE(pin->text().remove(QLatin1Char('&')), QStringLiteral("Pin"));

        // A third snapshot: the storage line follows.
        QTRY_VERIFY(windowAction(window, QStringLiteral("Snapshot Now"))->isEnabled());
        QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 120000);
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->rowCount(), 3, 30000);
        const auto after = call(HelperProtocol::storage);
        QVERIFY2(after.ok(), qPrintable(after.errorMessage()));
        const qint64 totalAfter = after->toObject().value(QStringLiteral("totalBytes")).toInteger();
        QVERIFY(totalAfter > total);
        QTRY_VERIFY2_WITH_TIMEOUT(storage->text().contains(KFormat().formatByteSize(double(totalAfter))), qPrintable(storage->text()), 30000);

        // Deleting the oldest (it answers yes itself: rewind-test-as-owner's rule grants the password): the line follows again.
        QTRY_VERIFY(windowAction(window, QStringLiteral("Delete Snapshot"))->isEnabled());
        timeline->setCurrentIndex(timeline->model()->index(timeline->model()->rowCount() - 1, 0));
        QCOMPARE(window.currentSnapshot(), olderId);
        QTimer::singleShot(0, this, [] {
            // The question is modal: answer it once it is up.
            QTRY_VERIFY(qobject_cast<QMessageBox *>(QApplication::activeModalWidget()));
            qobject_cast<QMessageBox *>(QApplication::activeModalWidget())->button(QMessageBox::Yes)->click();
        });
        window.deleteSelected();
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->rowCount(), 2, 60000);
        QVERIFY(listed(olderId).isEmpty());
        const auto afterDelete = call(HelperProtocol::storage);
        QVERIFY2(afterDelete.ok(), qPrintable(afterDelete.errorMessage()));
        const qint64 totalAfterDelete = afterDelete->toObject().value(QStringLiteral("totalBytes")).toInteger();
        QVERIFY(totalAfterDelete < totalAfter);
        QTRY_VERIFY2_WITH_TIMEOUT(storage->text().contains(KFormat().formatByteSize(double(totalAfterDelete))), qPrintable(storage->text()), 30000);
        keepPicture(window, QStringLiteral("timeline-after-delete.png"));
    }
};

REWIND_TEST_MAIN(TimelineGuiTest)
#include "TimelineGuiTest.moc"
