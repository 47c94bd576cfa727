// SPDX-License-Identifier: GPL-2.0-or-later
// Rewind in the tray, as rewind-user (run by rewind-test-as-owner) against
// the real helper and polkitd (see with-system-bus): autosave runs with the
// window never shown, by the settings the dialog wrote to rewindrc, and the
// helper keeps as many automatic snapshots as they say; the tray's menu has
// its actions, and closing the window leaves Rewind running; notifications
// go out on the session bus (a dbus-monitor watches org.freedesktop.
// Notifications.Notify, there is no notification daemon here, so no server
// that takes actions: the actions are checked on the notifications Rewind
// makes), among them a crashed session's, whose "Restore Latest Snapshot"
// brings it back.
#include "AutosaveScheduler.h"
#include "AutosaveSettings.h"
#include "BuildTreeData.h"
#include "CrashWatcher.h"
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "MainWindow.h"
#include "Notifier.h"
#include "SettingsDialog.h"
#include "TestSkip.h"
#include "TrayApplication.h"

#include <KConfigGroup>
#include <KNotification>
#include <KStatusNotifierItem>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QMenu>
#include <QPointer>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTest>

#include <csignal>
#include <unistd.h>

using namespace Rewind;

namespace
{

/// The Notify calls on the session bus, as dbus-monitor prints them: the
/// strings of each call (application, icon, summary, body, actions).
class NotificationMonitor
{
public:
    NotificationMonitor()
    {
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(QStringLiteral("dbus-monitor"),
                        {QStringLiteral("--session"), QStringLiteral("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")});
    }
    ~NotificationMonitor()
    {
        if (m_process.state() != QProcess::NotRunning) {
            ::kill(pid_t(m_process.processId()), SIGTERM);
            m_process.waitForFinished(5000);
        }
    }

    /// Whether it monitors: the bus told it its name is gone (BecomeMonitor).
    bool waitUntilReady()
    {
        return QTest::qWaitFor(
            [this] {
                read();
                return m_ready;
            },
            10000);
    }

    /// Every Notify call so far, each as its strings.
    QList<QStringList> calls()
    {
        read();
        return m_calls;
    }

    /// Whether a call so far has a string containing each of texts.
    bool notified(const QStringList &texts)
    {
        const auto all = calls();
        for (const QStringList &call : all) {
            const QString joined = call.join(QLatin1Char('\n'));
            if (std::all_of(texts.cbegin(), texts.cend(), [&](const QString &text) {
                    return joined.contains(text);
                })) {
                return true;
            }
        }
        return false;
    }

private:
    void read()
    {
        m_buffer += QString::fromUtf8(m_process.readAll());
        qsizetype end;
        while ((end = m_buffer.indexOf(QLatin1Char('\n'))) >= 0) {
            const QString line = m_buffer.left(end).trimmed();
            m_buffer.remove(0, end + 1);
            if (line.contains(QLatin1String("member=NameLost"))) {
                m_ready = true;
            } else if (line.startsWith(QLatin1String("method call")) && line.contains(QLatin1String("member=Notify"))) {
                m_calls.append(QStringList());
            } else if (line.startsWith(QLatin1String("string \"")) && !m_calls.isEmpty()) {
                m_calls.last().append(line.mid(8, line.size() - 9));
            }
        }
    }

    QProcess m_process;
    QString m_buffer;
    bool m_ready = false;
    QList<QStringList> m_calls;
};

/// The process of the cell whose parent is the cell's init: the session's main command.
pid_t mainCommandOf(pid_t initPid)
{
    const auto entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool number = false;
        const pid_t pid = entry.toInt(&number);
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (!number || !stat.open(QIODevice::ReadOnly)) {
            continue;
        }
        // pid (comm) state ppid ...: the name may hold spaces and parentheses.
        const QByteArray text = stat.readAll();
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields.at(1).toInt() == initPid) {
            return pid;
        }
    }
    return 0;
}

} // namespace

class TrayGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QStringList m_sessions;
    std::unique_ptr<NotificationMonitor> m_monitor;

    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    /// The caller's snapshots of session: id → trigger.
    QMap<qint64, QString> snapshotsOf(const QString &session)
    {
        QMap<qint64, QString> triggers;
        const auto listed = call(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}});
        const QJsonArray snapshots = listed ? listed->toArray() : QJsonArray();
        for (const QJsonValue &snapshot : snapshots) {
            triggers.insert(snapshot[QStringLiteral("id")].toInteger(), snapshot[QStringLiteral("trigger")].toString());
        }
        return triggers;
    }

    QJsonObject sessionListed(const QString &session)
    {
        const auto listed = call(HelperProtocol::listSessions, {});
        const QJsonArray sessions = listed ? listed->toArray() : QJsonArray();
        for (const QJsonValue &entry : sessions) {
            if (entry[QStringLiteral("id")].toString() == session) {
                return entry.toObject();
            }
        }
        return {};
    }

    static QAction *actionOf(QMenu *menu, const QString &text)
    {
        const auto actions = menu->actions();
        for (QAction *action : actions) {
            if (action->text().remove(QLatin1Char('&')) == text) {
                return action;
            }
        }
        return nullptr;
    }

    static void saveScreenshot(QWidget *widget, const QString &name)
    {
        // For a person to look at: REWIND_TEST_SCREENSHOT_DIR keeps a picture.
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(widget->grab().save(directory + QLatin1Char('/') + name));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the tray's tests run as rewind-user (rewind-test-as-owner), never as root");
        if (QStandardPaths::findExecutable(QStringLiteral("dbus-monitor")).isEmpty() || qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS")) {
            REWIND_SKIP("needs a session bus and dbus-monitor (package dbus-bin) to watch notifications");
        }
        // rewindrc goes to ~/.qttest, not to the user's own settings.
        QStandardPaths::setTestModeEnabled(true);
        QFile::remove(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) + QStringLiteral("/rewindrc"));
        useBuildTreeData();

        m_monitor = std::make_unique<NotificationMonitor>();
        QVERIFY(m_monitor->waitUntilReady());

        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_sessions.append(started->toObject().value(QStringLiteral("id")).toString());
    }

    void cleanupTestCase()
    {
        for (const QString &session : std::as_const(m_sessions)) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        }
        QFile::remove(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) + QStringLiteral("/rewindrc"));
    }

    void autosaveRunsInTheTrayBySettingsFromTheDialog()
    {
        const QString session = m_sessions.value(0);
        QVERIFY(!session.isEmpty());
        // Autosave off until the dialog turns it on.
        AutosaveSettings off;
        off.enabled = false;
        off.save();

        TrayApplication rewind(&m_client);
        QVERIFY(!rewind.scheduler()->settings().enabled);
        QSignalSpy taken(rewind.scheduler(), &AutosaveScheduler::snapshotTaken);
        QSignalSpy failed(rewind.scheduler(), &AutosaveScheduler::autosaveFailed);
        rewind.start(true);
        QVERIFY(!rewind.window()->isVisible());
        QVERIFY(!rewind.scheduler()->isActive());

        // Settings → Configure Rewind…: on, every minute, keep only the newest automatic snapshot.
        QPointer<SettingsDialog> dialog = rewind.showSettings();
        QVERIFY(dialog && dialog->isVisible());
        auto enabled = dialog->findChild<QCheckBox *>(QStringLiteral("enabled"));
        auto interval = dialog->findChild<QSpinBox *>(QStringLiteral("interval"));
        QVERIFY(enabled && interval);
        QVERIFY(!interval->isEnabled());
        enabled->click();
        QVERIFY(interval->isEnabled());
        QCOMPARE(interval->minimum(), 1);
        interval->setValue(1);
        dialog->findChild<QSpinBox *>(QStringLiteral("keepLast"))->setValue(1);
        dialog->findChild<QSpinBox *>(QStringLiteral("keepHourly"))->setValue(0);
        dialog->findChild<QSpinBox *>(QStringLiteral("keepDaily"))->setValue(0);
        auto storage = dialog->findChild<QLabel *>(QStringLiteral("storage"));
        QTRY_VERIFY_WITH_TIMEOUT(storage->text().startsWith(QStringLiteral("You have 0 snapshots; they use")), 30000);
        saveScreenshot(dialog, QStringLiteral("settings-dialog.png"));
        QTest::mouseClick(dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
        QTRY_VERIFY(!dialog);

        // What the dialog wrote is in rewindrc, and it is what autosave asks the helper for.
        const KConfigGroup written = KSharedConfig::openConfig(QStringLiteral("rewindrc"))->group(QStringLiteral("Autosave"));
        QCOMPARE(written.readEntry("Enabled", false), true);
        QCOMPARE(written.readEntry("IntervalMinutes", 0), 1);
        QCOMPARE(written.readEntry("KeepLast", 0), 1);
        QCOMPARE(rewind.scheduler()->settings(), AutosaveSettings::load());
        QVERIFY(rewind.scheduler()->isActive());

        // The first is due at once, the next a minute later; the helper then
        // keeps only the newest automatic one. All with the window hidden.
        QTRY_VERIFY_WITH_TIMEOUT(taken.size() >= 1 || !failed.isEmpty(), 120000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        QCOMPARE(taken.first().at(0).toString(), session);
        const qint64 first = taken.first().at(1).toJsonObject().value(QStringLiteral("id")).toInteger();
        QCOMPARE(snapshotsOf(session), (QMap<qint64, QString>{{first, QStringLiteral("scheduled")}}));
        QTRY_VERIFY_WITH_TIMEOUT(m_monitor->notified({QStringLiteral("Automatic snapshot taken"), QString::number(first)}), 30000);

        QTRY_VERIFY_WITH_TIMEOUT(taken.size() >= 2 || !failed.isEmpty(), 150000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        const qint64 second = taken.at(1).at(1).toJsonObject().value(QStringLiteral("id")).toInteger();
        QVERIFY(second > first);
        QCOMPARE(snapshotsOf(session), (QMap<qint64, QString>{{second, QStringLiteral("scheduled")}}));
        QVERIFY(!rewind.window()->isVisible());
    }

    void trayMenuWorksAndClosingKeepsRewindRunning()
    {
        const QString session = m_sessions.value(0);
        QVERIFY(!session.isEmpty());
        AutosaveSettings off;
        off.enabled = false;
        off.save();

        TrayApplication rewind(&m_client);
        rewind.start(true);
        QVERIFY(!QApplication::quitOnLastWindowClosed());

        // The tray's menu: the window, a snapshot, the settings, Quit (Ctrl+Q, also in the window).
        QMenu *menu = rewind.tray()->contextMenu();
        QVERIFY(menu);
        for (const QString &text :
             {QStringLiteral("Open Rewind"), QStringLiteral("Snapshot Now"), QStringLiteral("Configure Rewind…"), QStringLiteral("Quit")}) {
            QVERIFY2(actionOf(menu, text), qPrintable(text));
        }
        QCOMPARE(actionOf(menu, QStringLiteral("Quit")), rewind.quitAction());
        QCOMPARE(rewind.quitAction()->shortcut(), QKeySequence(QKeySequence::Quit));
        QVERIFY(rewind.window()->actions().contains(rewind.quitAction()));
        QVERIFY(rewind.window()->actions().contains(rewind.configureAction()));

        // Open, then close the window: nothing asks the application to quit.
        struct QuitCounter : QObject {
            int quits = 0;
            bool eventFilter(QObject *, QEvent *event) override
            {
                quits += event->type() == QEvent::Quit ? 1 : 0;
                return false;
            }
        } counter;
        qApp->installEventFilter(&counter);
        actionOf(menu, QStringLiteral("Open Rewind"))->trigger();
        QVERIFY(QTest::qWaitForWindowExposed(rewind.window()));
        QTRY_COMPARE_WITH_TIMEOUT(rewind.window()->currentSession(), session, 30000);
        saveScreenshot(rewind.window(), QStringLiteral("tray-window.png"));
        QVERIFY(rewind.window()->close());
        QVERIFY(!rewind.window()->isVisible());
        QCoreApplication::processEvents();
        QCoreApplication::sendPostedEvents();
        qApp->removeEventFilter(&counter);
        QCOMPARE(counter.quits, 0);

        // Snapshot Now from the tray, the window hidden.
        QSignalSpy finished(rewind.window(), &MainWindow::operationFinished);
        const auto before = snapshotsOf(session);
        QAction *snapshot = actionOf(menu, QStringLiteral("Snapshot Now"));
        QTRY_VERIFY_WITH_TIMEOUT(snapshot->isEnabled(), 30000);
        snapshot->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        QVERIFY2(finished.first().at(0).toString() == Notifier::snapshotTakenEvent, qPrintable(finished.first().at(1).toString()));
        QVERIFY(!rewind.window()->isVisible());
        const auto after = snapshotsOf(session);
        QCOMPARE(after.size(), before.size() + 1);
        QCOMPARE(after.last(), QStringLiteral("manual"));
        QTRY_VERIFY_WITH_TIMEOUT(m_monitor->notified({QStringLiteral("Snapshot taken"), QString::number(after.lastKey())}), 30000);
    }

    void crashIsAnnouncedAndRestoredFromTheNotification()
    {
        const QString session = m_sessions.value(0);
        QVERIFY(!session.isEmpty());
        QVERIFY(!snapshotsOf(session).isEmpty()); // the earlier tests' snapshots
        AutosaveSettings off;
        off.enabled = false;
        off.save();

        TrayApplication rewind(&m_client);
        // The user's answer to the crash notification: Restore Latest Snapshot.
        QStringList crashActions;
        connect(rewind.notifier(), &Notifier::notified, this, [&](KNotification *notification, const QList<KNotificationAction *> &actions) {
            if (notification->eventId() != Notifier::sessionCrashedEvent) {
                return;
            }
            for (KNotificationAction *action : actions) {
                crashActions.append(action->label());
                if (action->label() == QLatin1String("Restore Latest Snapshot")) {
                    Q_EMIT action->activated();
                }
            }
        });
        QSignalSpy crashed(rewind.crashWatcher(), &CrashWatcher::sessionCrashed);
        QSignalSpy recovered(&rewind, &TrayApplication::recovered);
        rewind.start(true);

        // The session's main command dies (it runs as its owner, the user of this test): so does its cell.
        const pid_t init = pid_t(sessionListed(session).value(QStringLiteral("pid")).toInteger());
        QVERIFY(init > 0);
        const pid_t main = mainCommandOf(init);
        QVERIFY2(main > 0, "the session's main command is not to be seen in /proc");
        QCOMPARE(::kill(main, SIGKILL), 0);

        QTRY_COMPARE_WITH_TIMEOUT(crashed.size(), 1, 60000);
        QCOMPARE(crashed.first().at(0).toString(), session);
        QCOMPARE(crashActions, (QStringList{QStringLiteral("Restore Latest Snapshot"), QStringLiteral("Open Timeline")}));
        QTRY_VERIFY_WITH_TIMEOUT(m_monitor->notified({QStringLiteral("Session crashed"), session}), 30000);

        QTRY_COMPARE_WITH_TIMEOUT(recovered.size(), 1, 180000);
        QVERIFY2(recovered.first().at(1).toString().isEmpty(), qPrintable(recovered.first().at(1).toString()));
        QCOMPARE(sessionListed(session).value(QStringLiteral("state")).toString(), QStringLiteral("running"));
        QTRY_VERIFY_WITH_TIMEOUT(m_monitor->notified({QStringLiteral("Session restored"), session}), 30000);
    }
};

QTEST_MAIN(TrayGuiTest)
#include "TrayGuiTest.moc"
