// SPDX-License-Identifier: GPL-2.0-or-later
//
// A session's life through the helper, as rewind-user with real CRIU:
// listspecs names the installed specs; hibernate snapshots and stops a
// session, wake (recover) brings it back under the same id with its counter
// going on from the snapshot; a session whose cell died reads "crashed" and
// recover brings it back; recover is refused, changing nothing, for a running
// session, one without snapshots, and another user's. recover asks for the
// user's own password like a restore; there is no agent here, so a rule
// grants it to both users, as an administrator's rule could: what refuses
// rewind-other is then the helper's ownership check.

#include "TestSkip.h"

#include "HelperProtocol.h"
#include "HelperTestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

namespace
{
/// The counter's value in the cell of the session whose init is initPid; -1 if unreadable.
long counterOf(pid_t initPid)
{
    QFile file(QStringLiteral("/proc/%1/root/tmp/counter").arg(initPid));
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    bool ok = false;
    const long value = file.readAll().trimmed().toLong(&ok);
    return ok ? value : -1;
}
/// rewindctl run as user through the helper: its exit code and standard output.
std::pair<int, QByteArray> rewindctl(const TestUser &user, const EmulatedLogin *login, const QStringList &arguments)
{
    QProcess process;
    runAs(process, user, login);
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    process.setProcessEnvironment(environment);
    process.setWorkingDirectory(QStringLiteral("/"));
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewindctl"), arguments);
    if (!process.waitForFinished(180000)) {
        process.kill();
        process.waitForFinished();
        return {-1, {}};
    }
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -9, process.readAllStandardOutput()};
}

/// rewind-test-counter counts every 10 ms: 5 s of counting.
constexpr long minimumCount = 500;

/// The pids in a cgroup's cgroup.procs; empty when it has none or is gone.
QByteArray processesIn(const QString &cgroup)
{
    QFile procs(cgroup + QStringLiteral("/cgroup.procs"));
    return procs.open(QIODevice::ReadOnly) ? procs.readAll().trimmed() : QByteArray();
}
} // namespace

class HelperSessionLifecycleTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_ownerLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_owner;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    QString m_rule;

    HelperReply call(HelperClient &client, const QString &action, const QVariantMap &arguments = {})
    {
        return client.call(HelperRequest::of(action, arguments));
    }

    /// The session as the owner's listsessions shows it; empty if not listed.
    QJsonObject listed(const QString &session)
    {
        const QJsonArray sessions = listOf(*m_owner, HelperProtocol::listSessions);
        for (const QJsonValue &value : sessions) {
            if (value[QStringLiteral("id")].toString() == session) {
                return value.toObject();
            }
        }
        return {};
    }

    QString stateOf(const QString &session)
    {
        return listed(session).value(QStringLiteral("state")).toString();
    }

    QStringList snapshotIds(const QString &session)
    {
        QStringList ids;
        const QJsonArray snapshots = listOf(*m_owner, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}});
        for (const QJsonValue &snapshot : snapshots) {
            ids.append(QString::number(snapshot[QStringLiteral("id")].toInteger()));
        }
        return ids;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_rule = HelperTestEnvironment::workDirectory() + QStringLiteral("/rules.d/50-rewind-test-recover.rules");
        QFile rule(m_rule);
        QVERIFY(rule.open(QIODevice::WriteOnly));
        rule.write(
            "polkit.addRule(function(action, subject) {\n"
            "    if (action.id == \"org.rewind.helper.recover\" && (subject.user == \"rewind-user\" || subject.user == \"rewind-other\")) {\n"
            "        return polkit.Result.YES;\n"
            "    }\n"
            "});\n");
        rule.close();
        QVERIFY(rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));

        m_ownerLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("lifecycle1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("lifecycle2"), true);
        m_owner = std::make_unique<HelperClient>(TestUser::owner(), m_ownerLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_owner->isRunning() && m_other->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
        if (!m_rule.isEmpty()) {
            QFile::remove(m_rule);
        }
    }

    void listSpecsNamesTheInstalledSpecs()
    {
        const HelperReply reply = call(*m_owner, HelperProtocol::listSpecs);
        QVERIFY2(reply.ok(), qPrintable(reply.errorText));
        QMap<QString, QJsonObject> specs;
        const QJsonArray list = reply.json().toArray();
        for (const QJsonValue &spec : list) {
            specs.insert(spec[QStringLiteral("name")].toString(), spec.toObject());
        }
        // with-system-bus installs resources/sessions/*.conf and the tests' "counting".
        QCOMPARE(specs.keys(), (QStringList{QStringLiteral("counting"), QStringLiteral("demo"), QStringLiteral("desktop"), QStringLiteral("minimal")}));
        QCOMPARE(specs[QStringLiteral("minimal")][QStringLiteral("title")].toString(), QStringLiteral("Minimal"));
        QCOMPARE(specs[QStringLiteral("minimal")][QStringLiteral("description")].toString(), QStringLiteral("A single terminal, no window manager"));
        QCOMPARE(specs[QStringLiteral("counting")][QStringLiteral("description")].toString(), QStringLiteral("A window manager and a counter to watch"));

        // In the caller's language where the spec has it.
        const HelperReply german = m_owner->call(HelperRequest::of(HelperProtocol::listSpecs, {{HelperProtocol::languageKey, QStringLiteral("de_DE")}}));
        QVERIFY2(german.ok(), qPrintable(german.errorText));
        bool found = false;
        const QJsonArray germanList = german.json().toArray();
        for (const QJsonValue &spec : germanList) {
            if (spec[QStringLiteral("name")].toString() == QLatin1String("minimal")) {
                QCOMPARE(spec[QStringLiteral("description")].toString(), QStringLiteral("Ein einzelnes Terminal ohne Fenstermanager"));
                found = true;
            }
        }
        QVERIFY(found);

        // It takes no arguments.
        const HelperReply refused = call(*m_owner, HelperProtocol::listSpecs, {{HelperProtocol::sessionKey, QStringLiteral("x")}});
        QVERIFY(!refused.ok());
        QVERIFY(!refused.errorText.isEmpty());
    }

    void hibernateThenWake()
    {
        pid_t initPid = -1;
        const QString session = startCountingSession(*m_owner, m_sessions, &initPid);
        QVERIFY(!session.isEmpty() && initPid > 0);
        const QString cgroup = HelperTestEnvironment::cellCgroup(session);
        QVERIFY(!cgroup.isEmpty() && QFileInfo::exists(cgroup));
        // Far enough that a counter started afresh would be below it when the session is back.
        QTRY_VERIFY_WITH_TIMEOUT(counterOf(initPid) > minimumCount, 30000);
        const long beforeSnapshot = counterOf(initPid);

        const HelperReply hibernated = call(*m_owner, HelperProtocol::hibernate, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(hibernated.ok(), qPrintable(hibernated.errorText));
        const QJsonObject snapshot = hibernated.json().toObject();
        QCOMPARE(snapshot.value(QStringLiteral("trigger")).toString(), QStringLiteral("hibernate"));
        QCOMPARE(snapshot.value(QStringLiteral("session")).toString(), session);

        QCOMPARE(stateOf(session), QStringLiteral("hibernated"));
        // The cell and every process of it are gone.
        QVERIFY(!QFileInfo::exists(QStringLiteral("/proc/%1").arg(initPid)));
        QCOMPARE(processesIn(cgroup), QByteArray());

        // Another user cannot wake it; nothing changes.
        const HelperReply notYours = call(*m_other, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QCOMPARE(notYours.error, int(HelperProtocol::NotYours));
        QVERIFY2(notYours.errorText.contains(QLatin1String("another user")), qPrintable(notYours.errorText));
        QCOMPARE(stateOf(session), QStringLiteral("hibernated"));

        // Wake: the same id runs again and the counter goes on from the snapshot.
        const HelperReply woken = call(*m_owner, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(woken.ok(), qPrintable(woken.errorText));
        QCOMPARE(woken.json()[QStringLiteral("id")].toString(), session);
        QCOMPARE(woken.json()[QStringLiteral("state")].toString(), QStringLiteral("running"));
        const pid_t wokenPid = pid_t(woken.json()[QStringLiteral("pid")].toInteger());
        QVERIFY(wokenPid > 0);
        const long afterWake = counterOf(wokenPid);
        QVERIFY2(afterWake >= beforeSnapshot, qPrintable(QStringLiteral("counted from %1 before, %2 after").arg(beforeSnapshot).arg(afterWake)));
        QVERIFY(waitUntilCounting(wokenPid));
        QVERIFY(counterOf(wokenPid) > afterWake);
        QCOMPARE(stateOf(session), QStringLiteral("running"));

        QVERIFY(call(*m_owner, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
        QCOMPARE(stateOf(session), QStringLiteral("stopped"));
    }

    void recoverAfterACrash()
    {
        pid_t initPid = -1;
        const QString session = startCountingSession(*m_owner, m_sessions, &initPid);
        QVERIFY(!session.isEmpty() && initPid > 0);
        QTRY_VERIFY_WITH_TIMEOUT(counterOf(initPid) > minimumCount, 30000);
        const long beforeSnapshot = counterOf(initPid);
        QVERIFY(snapshotOf(*m_owner, session) > 0);

        // Refused while it runs, changing nothing.
        const QStringList snapshotsBefore = snapshotIds(session);
        const HelperReply running = call(*m_owner, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QCOMPARE(running.error, int(HelperProtocol::OperationFailed));
        QVERIFY2(running.errorText.contains(QLatin1String("no longer running")), qPrintable(running.errorText));
        QCOMPARE(listed(session).value(QStringLiteral("pid")).toInteger(), qint64(initPid));
        QCOMPARE(snapshotIds(session), snapshotsBefore);

        // The crash: the cell's init dies (this test started it, through the helper).
        const int pidfd = int(::syscall(SYS_pidfd_open, initPid, 0));
        QVERIFY(pidfd >= 0);
        QVERIFY(::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0);
        ::close(pidfd);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(session), QStringLiteral("crashed"), 30000);

        // Not for another user.
        const HelperReply notYours = call(*m_other, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QCOMPARE(notYours.error, int(HelperProtocol::NotYours));
        QCOMPARE(stateOf(session), QStringLiteral("crashed"));

        const HelperReply recovered = call(*m_owner, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(recovered.ok(), qPrintable(recovered.errorText));
        QCOMPARE(recovered.json()[QStringLiteral("id")].toString(), session);
        const pid_t recoveredPid = pid_t(recovered.json()[QStringLiteral("pid")].toInteger());
        QVERIFY(recoveredPid > 0);
        QCOMPARE(stateOf(session), QStringLiteral("running"));
        const long afterRecover = counterOf(recoveredPid);
        QVERIFY2(afterRecover >= beforeSnapshot, qPrintable(QStringLiteral("counted from %1 before, %2 after").arg(beforeSnapshot).arg(afterRecover)));
        QVERIFY(waitUntilCounting(recoveredPid));
        // No before-restore snapshot: nothing ran to save.
        QCOMPARE(snapshotIds(session), snapshotsBefore);

        QVERIFY(call(*m_owner, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
    }

    void recoverWithoutSnapshotIsRefused()
    {
        pid_t initPid = -1;
        const QString session = startCountingSession(*m_owner, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        QVERIFY(call(*m_owner, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
        QCOMPARE(stateOf(session), QStringLiteral("stopped"));

        const HelperReply refused = call(*m_owner, HelperProtocol::recover, {{HelperProtocol::sessionKey, session}});
        QCOMPARE(refused.error, int(HelperProtocol::OperationFailed));
        QVERIFY2(refused.errorText.contains(QLatin1String("no snapshot")), qPrintable(refused.errorText));
        QCOMPARE(stateOf(session), QStringLiteral("stopped"));
        QVERIFY(snapshotIds(session).isEmpty());
    }

    void rewindctlHibernatesAndWakes()
    {
        const auto [specsExit, specs] = rewindctl(TestUser::owner(), m_ownerLogin.get(), {QStringLiteral("specs")});
        QCOMPARE(specsExit, 0);
        QVERIFY2(specs.contains("minimal") && specs.contains("A single terminal, no window manager"), specs.constData());

        pid_t initPid = -1;
        const QString session = startCountingSession(*m_owner, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        const auto [hibernateExit, hibernated] =
            rewindctl(TestUser::owner(), m_ownerLogin.get(), {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("hibernate"), session});
        QCOMPARE(hibernateExit, 0);
        QCOMPARE(QJsonDocument::fromJson(hibernated).object().value(QStringLiteral("trigger")).toString(), QStringLiteral("hibernate"));
        QCOMPARE(stateOf(session), QStringLiteral("hibernated"));

        const auto [wakeExit, woken] = rewindctl(TestUser::owner(), m_ownerLogin.get(), {QStringLiteral("session"), QStringLiteral("wake"), session});
        QCOMPARE(wakeExit, 0);
        QVERIFY2(woken.contains("woke up"), woken.constData());
        QCOMPARE(stateOf(session), QStringLiteral("running"));

        // Recover of a running session: exit code 1, nothing changed.
        const auto [recoverExit, recovered] = rewindctl(TestUser::owner(), m_ownerLogin.get(), {QStringLiteral("session"), QStringLiteral("recover"), session});
        QCOMPARE(recoverExit, 1);
        QCOMPARE(stateOf(session), QStringLiteral("running"));
        QVERIFY(call(*m_owner, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
    }

    void hibernateIsRefusedForAnotherUser()
    {
        pid_t initPid = -1;
        const QString session = startCountingSession(*m_owner, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        const HelperReply refused = call(*m_other, HelperProtocol::hibernate, {{HelperProtocol::sessionKey, session}});
        QCOMPARE(refused.error, int(HelperProtocol::NotYours));
        QCOMPARE(stateOf(session), QStringLiteral("running"));
        QVERIFY(snapshotIds(session).isEmpty());
        QVERIFY(call(*m_owner, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}).ok());
    }
};

QTEST_GUILESS_MAIN(HelperSessionLifecycleTest)
#include "HelperSessionLifecycleTest.moc"
