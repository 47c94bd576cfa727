// SPDX-License-Identifier: GPL-2.0-or-later
// The window stays responsive while the helper works: its thread is never
// busy for more than 16 ms at a stretch (GuiStallProbe) during "Snapshot
// Now", "Go Back to This Point" and "Open as New Session" of a session that
// holds 256 MiB of changing memory, as rewind-user against the real helper.
// Each operation prints one "gui-stall:" line (and appends it to the file
// REWIND_GUI_STALL_FILE names, if any) for rewind-bench to gather.
#include "GuiHelperCall.h"
#include "GuiStallProbe.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "MainWindow.h"
#include "SessionListModel.h"
#include "TestSkip.h"
#include "TimelineModel.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QListView>
#include <QMessageBox>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <optional>
#include <unistd.h>

using namespace Rewind;

namespace
{
/// The session's memory hog (the "dirty-memory" spec), as with-system-bus writes it.
constexpr qint64 hogBytes = 256 * 1024 * 1024;

/// How many bytes the processes running the memory hog hold, added up
/// (their /proc entries are the user's to read).
qint64 hogResidentBytes()
{
    qint64 total = 0;
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        QFile command(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (!command.open(QIODevice::ReadOnly) || !command.readAll().split('\0').constFirst().endsWith("rewind-bench-dirty-memory")) {
            continue;
        }
        QFile status(QStringLiteral("/proc/%1/status").arg(pid));
        if (!status.open(QIODevice::ReadOnly)) {
            continue;
        }
        const QList<QByteArray> lines = status.readAll().split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("VmRSS:")) {
                total += line.mid(6).trimmed().split(' ').constFirst().toLongLong() * 1024;
            }
        }
    }
    return total;
}
} // namespace

class GuiResponsivenessTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QString m_session;

    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments = {})
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    /// The window, shown, with the dirty-memory session selected and its timeline listed.
    void showWindow(MainWindow &window, QListView *&timeline)
    {
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
        timeline = window.findChild<QListView *>(QStringLiteral("timeline"));
        QVERIFY(sessions && timeline);
        window.showSession(m_session);
        QTRY_COMPARE_WITH_TIMEOUT(window.currentSession(), m_session, 30000);
        QTRY_COMPARE(sessions->currentIndex().data(SessionListModel::StateRole).toString(), QStringLiteral("running"));
        // Everything the window asked for is answered: what the probe sees is the operation's.
        QTRY_COMPARE_WITH_TIMEOUT(m_client.running(), 0, 30000);
    }

    /// Waits (in a real event loop, for the probe) until the operation has
    /// finished and the window has fetched what it shows afterwards.
    bool waitUntilDone(const QSignalSpy &finished)
    {
        return GuiStallProbe::waitFor(
            [&] {
                return finished.size() == 1 && m_client.running() == 0;
            },
            120000);
    }

    static void verifyResponsive(const GuiStallProbe &probe, const QString &operation)
    {
        probe.report(operation);
        const GuiStallProbe::Figures busy = probe.busy();
        QVERIFY2(busy.count > 0, "the probe saw the thread wait no single time");
        QVERIFY2(busy.maxMs <= GuiStallProbe::busyLimitMs,
                 qPrintable(QStringLiteral("the window's thread was busy for %1 ms at a stretch during %2 (allowed: %3 ms), handling %4")
                                .arg(busy.maxMs, 0, 'f', 2)
                                .arg(operation)
                                .arg(GuiStallProbe::busyLimitMs)
                                .arg(probe.longestStretch())));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("dirty-memory")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_session = started->toObject().value(QStringLiteral("id")).toString();
        // Its memory filled: a snapshot has all of it to write.
        QTRY_VERIFY2_WITH_TIMEOUT(hogResidentBytes() >= hogBytes * 9 / 10, qPrintable(QString::number(hogResidentBytes())), 60000);
    }

    void cleanupTestCase()
    {
        // The session and the copy "Open as New Session" started.
        const auto listed = call(HelperProtocol::listSessions);
        const QJsonArray sessions = listed ? listed->toArray() : QJsonArray();
        for (const QJsonValue &session : sessions) {
            if (session[QStringLiteral("state")].toString() == QLatin1String("running")) {
                (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session[QStringLiteral("id")].toString()}});
            }
        }
    }

    void probeSeesAStall()
    {
        // A slot that keeps the thread for 40 ms (the sleep is the stall,
        // not a wait) is one busy stretch of as long, and makes the timer late.
        GuiStallProbe probe;
        bool done = false;
        QTimer::singleShot(20, this, [this, &done] {
            QThread::msleep(40);
            QTimer::singleShot(20, this, [&done] {
                done = true;
            });
        });
        QVERIFY(GuiStallProbe::waitFor(
            [&done] {
                return done;
            },
            5000));
        probe.stop();
        QVERIFY2(probe.busy().maxMs >= 40, qPrintable(probe.line(QStringLiteral("stall"))));
        QVERIFY2(probe.lateness().maxMs >= 30, qPrintable(probe.line(QStringLiteral("stall"))));
        QVERIFY2(probe.longestStretch().contains(QLatin1String("/Timer")), qPrintable(probe.longestStretch()));

        // Waiting is not being busy.
        probe.start();
        QVERIFY(!GuiStallProbe::waitFor(
            [] {
                return false;
            },
            100));
        probe.stop();
        QVERIFY2(probe.busy().count > 0 && probe.busy().maxMs < 40, qPrintable(probe.line(QStringLiteral("idle"))));
    }

    void snapshotNow()
    {
        MainWindow window(&m_client);
        QListView *timeline = nullptr;
        showWindow(window, timeline);
        if (QTest::currentTestFailed()) {
            return;
        }
        QAction *snapshot = windowAction(window, QStringLiteral("Snapshot Now"));
        QVERIFY(snapshot && snapshot->isEnabled());
        QSignalSpy finished(&window, &MainWindow::operationFinished);

        GuiStallProbe probe;
        snapshot->trigger();
        QVERIFY(waitUntilDone(finished));
        probe.stop();

        QCOMPARE(finished.first().at(0).toString(), QStringLiteral("snapshotTaken"));
        QCOMPARE(timeline->model()->rowCount(), 1);
        // The probe spanned a real snapshot: all of the hog's memory was written.
        const qint64 stored = timeline->model()->index(0, 0).data(TimelineModel::StoredBytesRole).toLongLong();
        QVERIFY2(stored >= hogBytes * 9 / 10, qPrintable(QString::number(stored)));
        verifyResponsive(probe, QStringLiteral("snapshot"));
    }

    void goBack()
    {
        MainWindow window(&m_client);
        QListView *timeline = nullptr;
        showWindow(window, timeline);
        if (QTest::currentTestFailed()) {
            return;
        }
        QTRY_VERIFY(timeline->model()->rowCount() >= 1);
        timeline->setCurrentIndex(timeline->model()->index(0, 0));
        QAction *restore = windowAction(window, QStringLiteral("Go Back to This Point"));
        QTRY_VERIFY(restore && restore->isEnabled());
        QSignalSpy finished(&window, &MainWindow::operationFinished);

        // The question is the user's part; the probe starts with the answer.
        std::optional<GuiStallProbe> probe;
        QTimer::singleShot(0, this, [&probe] {
            QTRY_VERIFY(qobject_cast<QMessageBox *>(QApplication::activeModalWidget()));
            QAbstractButton *yes = qobject_cast<QMessageBox *>(QApplication::activeModalWidget())->button(QMessageBox::Yes);
            QVERIFY(yes);
            probe.emplace();
            yes->click();
        });
        restore->trigger();
        QVERIFY(probe);
        QVERIFY(waitUntilDone(finished));
        probe->stop();

        QVERIFY2(finished.first().at(0).toString() == QLatin1String("restoreFinished"), qPrintable(finished.first().at(1).toString()));
        verifyResponsive(*probe, QStringLiteral("restore"));
    }

    void openAsNewSession()
    {
        MainWindow window(&m_client);
        QListView *timeline = nullptr;
        showWindow(window, timeline);
        if (QTest::currentTestFailed()) {
            return;
        }
        QTRY_VERIFY(timeline->model()->rowCount() >= 1);
        timeline->setCurrentIndex(timeline->model()->index(0, 0));
        QAction *branch = windowAction(window, QStringLiteral("Open as New Session"));
        QTRY_VERIFY(branch && branch->isEnabled());
        QSignalSpy finished(&window, &MainWindow::operationFinished);

        GuiStallProbe probe;
        branch->trigger();
        QVERIFY(waitUntilDone(finished));
        probe.stop();

        QVERIFY2(finished.first().at(0).toString() == QLatin1String("restoreFinished"), qPrintable(finished.first().at(1).toString()));
        verifyResponsive(probe, QStringLiteral("restore-copy"));
    }
};

REWIND_TEST_MAIN(GuiResponsivenessTest)
#include "GuiResponsivenessTest.moc"
