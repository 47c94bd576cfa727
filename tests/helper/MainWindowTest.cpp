// SPDX-License-Identifier: GPL-2.0-or-later
// The real window, driven as a user would (as rewind-user, run by
// rewind-test-as-owner), against the real helper on a private system
// bus with the real polkitd (see with-system-bus): sessions appear, "Snapshot
// Now" adds to the timeline, "Open as New Session" branches, "Export
// Snapshot…" writes a file that "Import Snapshot…" brings back.
#include "MainWindow.h"
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "LiveViewWindow.h"
#include "SessionListModel.h"
#include "SessionView.h"
#include "TestSkip.h"
#include "TimelineModel.h"
#include "VncConnection.h"

#include <KMessageWidget>

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace Rewind;

class MainWindowTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QStringList m_sessions;

    /// Calls the helper and waits for its answer.
    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    static QListView *view(MainWindow &window, const char *name)
    {
        return window.findChild<QListView *>(QLatin1String(name));
    }

    /// The ids of the caller's snapshots, as the helper lists them, with their triggers.
    QHash<qint64, QString> listedSnapshots()
    {
        QHash<qint64, QString> triggers;
        const auto listed = call(HelperProtocol::listSnapshots, {});
        const QJsonArray snapshots = listed ? listed->toArray() : QJsonArray();
        for (const QJsonValue &snapshot : snapshots) {
            triggers.insert(snapshot[QStringLiteral("id")].toInteger(), snapshot[QStringLiteral("trigger")].toString());
        }
        return triggers;
    }

    static int SessionListModelRow(QListView *sessions, const QString &id)
    {
        return std::max(0, static_cast<SessionListModel *>(sessions->model())->rowOf(id));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_sessions.append(started->toObject().value(QStringLiteral("id")).toString());
    }

    void cleanupTestCase()
    {
        for (const QString &session : std::as_const(m_sessions)) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        }
    }

    void snapshotAndBranchFromTheWindow()
    {
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        QListView *sessions = view(window, "sessions");
        QListView *timeline = view(window, "timeline");
        QVERIFY(sessions && timeline);

        window.refresh();
        QTRY_COMPARE_WITH_TIMEOUT(sessions->model()->rowCount(), 1, 30000);
        QTRY_COMPARE(window.currentSession(), m_sessions.first());
        QTRY_COMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), QStringLiteral("running"));
        QCOMPARE(timeline->model()->rowCount(), 0);

        // Every action has a shortcut, for the keyboard.
        const QStringList texts = {QStringLiteral("Snapshot Now"),
                                   QStringLiteral("Go Back to This Point"),
                                   QStringLiteral("Open as New Session"),
                                   QStringLiteral("Delete Snapshot"),
                                   QStringLiteral("Live View"),
                                   QStringLiteral("Refresh")};
        for (const QString &text : texts) {
            QAction *found = windowAction(window, text);
            QVERIFY2(found, qPrintable(text));
            QVERIFY2(!found->shortcut().isEmpty(), qPrintable(text));
        }

        // Snapshot Now, from the keyboard.
        QAction *snapshot = windowAction(window, QStringLiteral("Snapshot Now"));
        QTRY_VERIFY(snapshot->isEnabled());
        QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotTaken"));
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->rowCount(), 1, 30000);
        QVERIFY(timeline->model()->index(0, 0).data(TimelineModel::IdRole).toLongLong() > 0);
        // With the picture of the screen at that moment.
        QTRY_VERIFY_WITH_TIMEOUT(!timeline->model()->index(0, 0).data(Qt::DecorationRole).value<QImage>().isNull(), 30000);
        QCOMPARE(timeline->model()->index(0, 0).data(Qt::DecorationRole).value<QImage>().width(), 320);

        // Branch: the snapshot runs as a second session beside the first.
        timeline->setCurrentIndex(timeline->model()->index(0, 0));
        QAction *branch = windowAction(window, QStringLiteral("Open as New Session"));
        QTRY_VERIFY(branch->isEnabled());
        branch->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 120000);
        QVERIFY2(finished.at(1).at(0).toString() == QLatin1String("restoreFinished"), qPrintable(finished.at(1).at(1).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(sessions->model()->rowCount(), 2, 30000);
        for (int row = 0; row < 2; ++row) {
            const QString id = sessions->model()->index(row, 0).data(SessionListModel::IdRole).toString();
            if (!m_sessions.contains(id)) {
                m_sessions.append(id);
            }
            QCOMPARE(sessions->model()->index(row, 0).data(SessionListModel::StateRole).toString(), QStringLiteral("running"));
        }
        // For a person to look at: REWIND_TEST_SCREENSHOT_DIR keeps a picture of the window.
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(window.grab().save(directory + QStringLiteral("/main-window.png")));
        }
    }

    void liveViewFollowsTheSessionThroughASnapshot()
    {
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        window.refresh();
        QTRY_VERIFY_WITH_TIMEOUT(!window.currentSession().isEmpty(), 30000);
        QListView *sessions = view(window, "sessions");
        QTRY_COMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), QStringLiteral("running"));

        QAction *live = windowAction(window, QStringLiteral("Live View"));
        QTRY_VERIFY(live->isEnabled());
        QTest::keyClick(&window, Qt::Key_L, Qt::ControlModifier);
        QTRY_VERIFY(window.findChild<LiveViewWindow *>());
        LiveViewWindow *liveWindow = window.findChild<LiveViewWindow *>();
        QCOMPARE(liveWindow->session(), window.currentSession());
        QSignalSpy pictures(liveWindow, &LiveViewWindow::pictureChanged);
        // The whole screen, shown in the window, read-only.
        QTRY_VERIFY_WITH_TIMEOUT(pictures.size() >= 1, 30000);
        QVERIFY(liveWindow->picture().width() >= 640 && liveWindow->picture().height() >= 480);
        QVERIFY(!liveWindow->isInteractive());
        auto screen = liveWindow->findChild<SessionView *>(QStringLiteral("screen"));
        QVERIFY(screen && !screen->frame().isNull());
        QVERIFY(liveWindow->socketPath().startsWith(HelperProtocol::handOffDirectory(::getuid())));

        // Asking again brings the same window forward.
        live->trigger();
        QCOMPARE(window.findChildren<LiveViewWindow *>().size(), 1);

        // A snapshot ends the connection; the view makes a new one and goes on.
        QSignalSpy reconnected(screen->connection(), &VncConnection::connected);
        QAction *snapshot = windowAction(window, QStringLiteral("Snapshot Now"));
        QTRY_VERIFY(snapshot->isEnabled());
        snapshot->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotTaken"));
        QTRY_VERIFY_WITH_TIMEOUT(reconnected.size() >= 1 && screen->note().isEmpty(), 60000);
        auto message = liveWindow->findChild<QWidget *>(QStringLiteral("message"));
        QVERIFY(message && !message->isVisible());
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(liveWindow->grab().save(directory + QStringLiteral("/live-view.png")));
        }
        liveWindow->close();
    }

    void exportAndImportFromTheWindow()
    {
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        QListView *sessions = view(window, "sessions");
        QListView *timeline = view(window, "timeline");
        auto message = window.findChild<KMessageWidget *>(QStringLiteral("message"));
        QVERIFY(sessions && timeline && message);
        QTemporaryDir directory;
        QVERIFY(directory.isValid());

        window.refresh();
        QTRY_VERIFY_WITH_TIMEOUT(sessions->model()->rowCount() > 0, 30000);
        sessions->setCurrentIndex(sessions->model()->index(SessionListModelRow(sessions, m_sessions.first()), 0));
        QTRY_COMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), QStringLiteral("running"));

        QAction *exportAction = windowAction(window, QStringLiteral("Export Snapshot…"));
        QAction *importAction = windowAction(window, QStringLiteral("Import Snapshot…"));
        QVERIFY(exportAction && importAction);
        QCOMPARE(exportAction->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_E));
        QCOMPARE(importAction->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_I));
        // No shortcut of the window's is taken twice.
        QSet<QKeySequence> shortcuts;
        const auto actions = window.actions();
        for (QAction *each : actions) {
            QVERIFY2(!shortcuts.contains(each->shortcut()), qPrintable(each->text()));
            shortcuts.insert(each->shortcut());
        }

        // A snapshot taken through the window, selected.
        QAction *snapshot = windowAction(window, QStringLiteral("Snapshot Now"));
        QTRY_VERIFY(snapshot->isEnabled());
        snapshot->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotTaken"));
        QTRY_VERIFY_WITH_TIMEOUT(timeline->model()->rowCount() > 0, 30000);
        timeline->setCurrentIndex(QModelIndex());
        QTRY_VERIFY(importAction->isEnabled()); // the window is idle, nothing is selected
        QVERIFY(!exportAction->isEnabled());
        timeline->setCurrentIndex(timeline->model()->index(0, 0));
        const qint64 exportedId = window.currentSnapshot();
        QVERIFY(exportedId > 0);

        // Export: the file dialog suggests <session>-<id>.rewind, the test answers in its place.
        QString suggested;
        const QString exportPath = directory.filePath(QStringLiteral("exported.rewind"));
        window.setExportFileChooser([&](const QString &proposal) {
            suggested = proposal;
            return exportPath;
        });
        QTRY_VERIFY(exportAction->isEnabled());
        QTest::keyClick(&window, Qt::Key_E, Qt::ControlModifier);
        QCOMPARE(QFileInfo(suggested).fileName(), QStringLiteral("%1-%2.rewind").arg(m_sessions.first()).arg(exportedId));
        QTRY_COMPARE_WITH_TIMEOUT(message->messageType(), KMessageWidget::Positive, 120000);
        QTRY_VERIFY(message->isVisible());
        QVERIFY2(message->text().contains(exportPath), qPrintable(message->text()));
        QFile exported(exportPath);
        QVERIFY(exported.open(QIODevice::ReadOnly));
        QCOMPARE(exported.read(8), QByteArrayLiteral("RWSTREAM"));
        QCOMPARE(exported.permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther), QFile::Permissions());
        exported.close();

        // Import: a new snapshot, marked imported, selected in the window.
        const QHash<qint64, QString> before = listedSnapshots();
        QVERIFY(!before.isEmpty());
        window.setImportFileChooser([&](const QString &) {
            return exportPath;
        });
        QTRY_VERIFY(importAction->isEnabled());
        QTest::keyClick(&window, Qt::Key_I, Qt::ControlModifier);
        QTRY_VERIFY_WITH_TIMEOUT(window.currentSnapshot() > 0 && !before.contains(window.currentSnapshot()), 120000);
        const qint64 importedId = window.currentSnapshot();
        QCOMPARE(timeline->currentIndex().data(TimelineModel::TriggerRole).toString(), QStringLiteral("imported"));
        QVERIFY2(timeline->currentIndex().data().toString().contains(QLatin1String("imported"), Qt::CaseInsensitive),
                 qPrintable(timeline->currentIndex().data().toString()));
        QCOMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), SessionListModel::snapshotsOnlyState);
        QTRY_VERIFY(importAction->isEnabled());
        QVERIFY(!windowAction(window, QStringLiteral("Go Back to This Point"))->isEnabled()); // no session to go back in
        QVERIFY(windowAction(window, QStringLiteral("Open as New Session"))->isEnabled());
        QCOMPARE(message->messageType(), KMessageWidget::Positive);
        const QHash<qint64, QString> after = listedSnapshots();
        QCOMPARE(after.size(), before.size() + 1);
        QCOMPARE(after.value(importedId), QStringLiteral("imported"));
        if (const QString screenshots = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !screenshots.isEmpty()) {
            QVERIFY(window.grab().save(screenshots + QStringLiteral("/imported.png")));
        }

        // A damaged file: the helper's message in the window, nothing added.
        QFile whole(exportPath);
        QVERIFY(whole.open(QIODevice::ReadOnly));
        const QByteArray stream = whole.readAll();
        const QString damagedPath = directory.filePath(QStringLiteral("damaged.rewind"));
        QFile damaged(damagedPath);
        QVERIFY(damaged.open(QIODevice::WriteOnly));
        QCOMPARE(damaged.write(stream.left(stream.size() / 2)), stream.size() / 2);
        damaged.close();
        window.setImportFileChooser([&](const QString &) {
            return damagedPath;
        });
        QTRY_VERIFY(importAction->isEnabled());
        importAction->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(message->messageType(), KMessageWidget::Error, 120000);
        QTRY_VERIFY(message->isVisible());
        QVERIFY2(message->text().contains(QLatin1String("truncated")), qPrintable(message->text()));
        QTRY_VERIFY(importAction->isEnabled());
        QCOMPARE(listedSnapshots(), after);

        // An export that fails leaves no file behind. The snapshot is
        // deleted behind the window's back, by a call that runs just before
        // the export's (the helper answers one call at a time).
        const QString failedPath = directory.filePath(QStringLiteral("failed.rewind"));
        window.setExportFileChooser([&](const QString &) {
            return failedPath;
        });
        bool deleted = false;
        m_client.call(HelperProtocol::remove, {{HelperProtocol::snapshotKey, importedId}}, this, [&](const Result<QJsonValue> &answer) {
            deleted = answer.ok();
        });
        message->hide();
        window.exportSelected();
        QVERIFY(QFile::exists(failedPath)); // opened by the window while the helper works
        QTRY_VERIFY_WITH_TIMEOUT(deleted, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(message->isVisible() && message->messageType() == KMessageWidget::Error
                                     && message->text().contains(QLatin1String("could not be exported")),
                                 120000);
        QTRY_VERIFY(importAction->isEnabled());
        QVERIFY2(!QFile::exists(failedPath), qPrintable(message->text()));
    }

    void helperErrorsAreShownInTheWindow()
    {
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.refresh();
        QListView *sessions = view(window, "sessions");
        QTRY_VERIFY_WITH_TIMEOUT(sessions->model()->rowCount() > 0, 30000);
        // Stop the selected session behind the window's back: its snapshot must fail visibly.
        const QString session = window.currentSession();
        QVERIFY(call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        window.snapshotNow();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotFailed"));
        auto message = window.findChild<QWidget *>(QStringLiteral("message"));
        QVERIFY(message);
        QTRY_VERIFY(message->isVisible());
    }
};

REWIND_TEST_MAIN(MainWindowTest)
#include "MainWindowTest.moc"
