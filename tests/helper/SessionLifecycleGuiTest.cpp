// SPDX-License-Identifier: GPL-2.0-or-later
// Sessions from the window, as rewind-user (run by rewind-test-as-owner)
// against the real helper and polkitd: New Session… starts a "counting"
// session that appears in the list, Hibernate stops it after a snapshot and
// Wake brings it back under the same id, Stop stops it, and after a crash
// (the session's processes killed) Recover brings it back. Every step goes
// through the window's actions, enabled by the session's state.
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "NewSessionDialog.h"
#include "SessionActions.h"
#include "SessionListModel.h"
#include "TestSkip.h"

#include <KMessageWidget>

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QListView>
#include <QListWidget>
#include <QPushButton>
#include <QTest>

#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
/// The pids of this user's processes named comm in the cell of session
/// (its cgroup path names the session).
QList<pid_t> myProcessesOf(const QString &session, const QByteArray &comm)
{
    QList<pid_t> pids;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool number = false;
        const pid_t pid = pid_t(entry.toInt(&number));
        struct stat status = {};
        if (!number || ::stat(QFile::encodeName(QStringLiteral("/proc/") + entry).constData(), &status) != 0 || status.st_uid != ::getuid()) {
            continue;
        }
        QFile name(QStringLiteral("/proc/%1/comm").arg(pid));
        QFile cgroup(QStringLiteral("/proc/%1/cgroup").arg(pid));
        if (name.open(QIODevice::ReadOnly) && cgroup.open(QIODevice::ReadOnly) && name.readAll().trimmed() == comm
            && cgroup.readAll().contains(QByteArray('/' + session.toUtf8() + '\n'))) {
            pids.append(pid);
        }
    }
    return pids;
}
} // namespace

class SessionLifecycleGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QStringList m_sessions;

    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    static QString selectedState(QListView *sessions)
    {
        return sessions->currentIndex().data(SessionListModel::StateRole).toString();
    }

    /// The message above the timeline, for a failure's diagnosis.
    static QString message(MainWindow &window)
    {
        const auto widget = window.findChild<KMessageWidget *>(QStringLiteral("message"));
        return widget && widget->isVisible() ? widget->text() : QString();
    }

    /// Waits until the window's list shows session in state, refreshing as
    /// the F5 key would whenever the window has no call under way.
    bool waitForState(MainWindow &window, QListView *sessions, const QString &session, const QString &state)
    {
        return QTest::qWaitFor(
            [&] {
                if (window.currentSession() == session && selectedState(sessions) == state) {
                    return true;
                }
                if (m_client.running() == 0) {
                    window.refresh();
                }
                return false;
            },
            120000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        IconTheme::useBreezeWhereNoneIsSet(); // as the app does
    }

    void cleanupTestCase()
    {
        for (const QString &session : std::as_const(m_sessions)) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        }
    }

    void sessionsFromTheWindow()
    {
        MainWindow window(&m_client);
        window.sessionActions()->setConfirmation([](const QString &, const QString &) {
            return true;
        });
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
        QVERIFY(sessions);
        window.refresh();

        QAction *newSession = windowAction(window, QStringLiteral("New Session…"));
        QAction *stop = windowAction(window, QStringLiteral("Stop Session"));
        QAction *hibernate = windowAction(window, QStringLiteral("Hibernate Session"));
        QAction *wake = windowAction(window, QStringLiteral("Wake Session"));
        QAction *recover = windowAction(window, QStringLiteral("Recover Session"));
        QVERIFY(newSession && stop && hibernate && wake && recover);
        QCOMPARE(newSession->shortcut(), QKeySequence(QKeySequence::New));
        for (QAction *each : {newSession, stop, hibernate, wake, recover}) {
            QVERIFY2(!each->shortcut().isEmpty(), qPrintable(each->text()));
            QVERIFY2(!each->icon().pixmap(22).isNull(), qPrintable(each->text()));
        }

        // New Session…: the dialog lists the specs with their descriptions.
        QTRY_VERIFY_WITH_TIMEOUT(newSession->isEnabled(), 30000);
        newSession->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(window.findChild<NewSessionDialog *>() != nullptr, 30000);
        NewSessionDialog *dialog = window.findChild<NewSessionDialog *>();
        QTRY_VERIFY(dialog->isVisible());
        auto specs = dialog->findChild<QListWidget *>(QStringLiteral("specs"));
        QVERIFY(specs);
        QStringList shown;
        for (int row = 0; row < specs->count(); ++row) {
            shown.append(specs->item(row)->text());
        }
        QVERIFY2(shown.contains(QStringLiteral("Minimal\nA single terminal, no window manager")), qPrintable(shown.join(QLatin1Char('|'))));
        QVERIFY2(shown.contains(QStringLiteral("counting\nA window manager and a counter to watch")), qPrintable(shown.join(QLatin1Char('|'))));
        QVERIFY(!dialog->startButton()->isEnabled());
        QVERIFY(dialog->selectSpec(QStringLiteral("minimal")));
        QVERIFY(dialog->startButton()->isEnabled());
        // By keyboard: Home selects the first spec ("counting"), Enter starts it.
        QTest::keyClick(specs, Qt::Key_Home);
        QCOMPARE(dialog->selectedSpec(), QStringLiteral("counting"));
        QVERIFY(dialog->startButton()->isEnabled());
        if (const QString dir = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS"); !dir.isEmpty()) {
            dialog->grab().save(dir + QStringLiteral("/new-session.png"));
        }
        QTest::keyClick(specs, Qt::Key_Return);
        QTRY_VERIFY(window.findChild<NewSessionDialog *>() == nullptr); // closed and gone

        // It runs, and the window selects it.
        QTRY_VERIFY2_WITH_TIMEOUT(!window.currentSession().isEmpty() && selectedState(sessions) == QLatin1String("running"),
                                  qPrintable(message(window)),
                                  60000);
        const QString session = window.currentSession();
        m_sessions.append(session);
        QVERIFY(session.startsWith(QLatin1String("counting-")));
        QVERIFY2(sessions->currentIndex().data(Qt::DisplayRole).toString().endsWith(QLatin1String("\nRunning")),
                 qPrintable(sessions->currentIndex().data().toString()));
        QTRY_VERIFY(hibernate->isEnabled());
        QVERIFY(stop->isEnabled() && !wake->isEnabled() && !recover->isEnabled());

        // Hibernate: a snapshot, then the session stops.
        hibernate->trigger();
        QVERIFY2(waitForState(window, sessions, session, QStringLiteral("hibernated")), qPrintable(message(window)));
        QVERIFY(sessions->currentIndex().data(Qt::DisplayRole).toString().endsWith(QLatin1String("\nHibernated")));
        const auto snapshots = call(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(snapshots, qPrintable(snapshots.errorMessage()));
        QCOMPARE(snapshots->toArray().size(), 1);
        QCOMPARE(snapshots->toArray().first()[QStringLiteral("trigger")].toString(), QStringLiteral("hibernate"));
        QTRY_VERIFY(wake->isEnabled());
        QVERIFY(!hibernate->isEnabled() && !stop->isEnabled() && !recover->isEnabled());
        QVERIFY(myProcessesOf(session, "rewind-session").isEmpty());

        // Wake: the same session runs again.
        wake->trigger();
        QVERIFY2(waitForState(window, sessions, session, QStringLiteral("running")), qPrintable(message(window)));
        QTRY_VERIFY_WITH_TIMEOUT(!myProcessesOf(session, "rewind-session").isEmpty(), 30000);

        // A crash: the session's main program dies, the cell with it.
        QTRY_VERIFY(hibernate->isEnabled());
        const QList<pid_t> runners = myProcessesOf(session, "rewind-session");
        QCOMPARE(runners.size(), 1);
        QCOMPARE(::kill(runners.first(), SIGKILL), 0);
        QVERIFY2(waitForState(window, sessions, session, QStringLiteral("crashed")), qPrintable(message(window)));
        QVERIFY(sessions->currentIndex().data(Qt::DisplayRole).toString().endsWith(QStringLiteral("\nCrashed — can be recovered")));
        QTRY_VERIFY(recover->isEnabled());
        QVERIFY(!wake->isEnabled() && !stop->isEnabled() && !hibernate->isEnabled());

        // Recover: from its latest snapshot, under the same id.
        recover->trigger();
        QVERIFY2(waitForState(window, sessions, session, QStringLiteral("running")), qPrintable(message(window)));
        QTRY_VERIFY_WITH_TIMEOUT(!myProcessesOf(session, "rewind-session").isEmpty(), 30000);

        // Stop.
        QTRY_VERIFY(stop->isEnabled());
        stop->trigger();
        QVERIFY2(waitForState(window, sessions, session, QStringLiteral("stopped")), qPrintable(message(window)));
        QVERIFY(sessions->currentIndex().data(Qt::DisplayRole).toString().endsWith(QLatin1String("\nStopped")));
        QTRY_VERIFY(recover->isEnabled());
        QVERIFY(!stop->isEnabled() && !hibernate->isEnabled() && !wake->isEnabled());

        if (const QString dir = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS"); !dir.isEmpty()) {
            window.grab().save(dir + QStringLiteral("/session-lifecycle.png"));
        }
    }
};

QTEST_MAIN(SessionLifecycleGuiTest)
#include "SessionLifecycleGuiTest.moc"
