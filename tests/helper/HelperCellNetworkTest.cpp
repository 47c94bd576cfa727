// SPDX-License-Identifier: GPL-2.0-or-later
//
// A session's network across a snapshot, as rewind-user does it through the
// helper: rewind-test-connections holds a listener, a loopback connection
// and a connection to an echo server on the host's loopback. After the
// helper's restore in place and as a new session beside the original, the
// loopback connection carries data, the listener accepts, the old outside
// connection reads as aborted and a new one works; both copies listen on the
// same port. polkit asks for the user's own password for a restore; there
// is no agent here, so a rule grants it, as an administrator's rule could.

#include "TestSkip.h"

#include "CellNetwork.h"
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestNetwork.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTest>

namespace
{
constexpr int cellPort = 7000;
const QByteArray afterRestore = "loopback=ok accept=ok outside-old=ECONNABORTED outside-new=echo";
const QByteArray connected = "loopback=ok accept=ok outside-old=echo outside-new=echo";

/// Whether the session's way out runs: its cgroup beside the cells holds a process.
bool hasWayOut(const QString &session)
{
    QFile procs(HelperTestEnvironment::cellCgroupParent() + QStringLiteral("/network/") + session + QStringLiteral("/cgroup.procs"));
    return procs.open(QIODevice::ReadOnly) && !procs.readAll().trimmed().isEmpty();
}
} // namespace

class HelperCellNetworkTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<TestNetwork> m_network;
    EchoServer m_echo;
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    long m_command = 0;

    HelperReply call(HelperClient &client, const QString &action, const QVariantMap &arguments)
    {
        return client.call(HelperRequest::of(action, arguments));
    }

    QByteArray check(qint64 initPid)
    {
        return checkConnections(pid_t(initPid), TestUser::owner().uid, ++m_command);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        if (Rewind::CellNetwork::pastaBinary().isEmpty()) {
            REWIND_SKIP("pasta (package passt) is not installed");
        }
        m_network = std::make_unique<TestNetwork>();
        QVERIFY2(!m_network->gateway().isEmpty(), qPrintable(m_network->error()));
        QVERIFY(m_echo.listen(QHostAddress::LocalHost));
        const QString work = HelperTestEnvironment::workDirectory();
        QFile rule(work + QStringLiteral("/rules.d/50-rewind-test-network-restore.rules"));
        QVERIFY(rule.open(QIODevice::WriteOnly));
        rule.write(
            "polkit.addRule(function(action, subject) {\n"
            "    if (action.id == \"org.rewind.helper.restore\" && subject.user == \"rewind-user\") {\n"
            "        return polkit.Result.YES;\n"
            "    }\n"
            "});\n");
        rule.close();
        QVERIFY(rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));
        // The session's spec is an installed one, as an administrator would install it.
        QFile spec(work + QStringLiteral("/specs/net.conf"));
        QVERIFY(spec.open(QIODevice::WriteOnly));
        spec.write("[Session]\nName=net\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App net]\nCommand=rewind-test-connections /tmp "
                   + QByteArray::number(cellPort) + ' ' + m_network->gateway().toLatin1() + ' ' + QByteArray::number(m_echo.serverPort()) + '\n');
        spec.close();

        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("network1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
        m_network.reset();
    }

    void connectionsAcrossRestoreAndBranch()
    {
        const HelperReply started = call(*m_user, HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("net")}});
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
        const qint64 initPid = started.json().toObject().value(QStringLiteral("pid")).toInteger();
        m_sessions.append(session);
        QVERIFY(hasWayOut(session));
        QTRY_VERIFY2_WITH_TIMEOUT(connectionsReport(pid_t(initPid)) == "ready", connectionsReport(pid_t(initPid)).constData(), 20000);
        QCOMPARE(check(initPid), connected);

        // The scan says yes, and the snapshot works.
        const HelperReply scanned = call(*m_user, HelperProtocol::scan, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(scanned.ok(), qPrintable(scanned.errorText));
        QVERIFY2(scanned.json().toArray().isEmpty(), scanned.answer.constData());
        const qint64 snapshot = snapshotOf(*m_user, session);
        QVERIFY(snapshot > 0);
        QCOMPARE(check(initPid), connected);

        const HelperReply inPlace =
            call(*m_user, HelperProtocol::restore, {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::modeKey, HelperProtocol::inPlaceMode}});
        QVERIFY2(inPlace.ok(), qPrintable(inPlace.errorText));
        const qint64 original = inPlace.json().toObject().value(QStringLiteral("pid")).toInteger();
        QVERIFY(original > 0 && original != initPid);
        QVERIFY(hasWayOut(session));
        QCOMPARE(check(original), afterRestore);

        const HelperReply branch =
            call(*m_user, HelperProtocol::restore, {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::modeKey, HelperProtocol::asNewMode}});
        QVERIFY2(branch.ok(), qPrintable(branch.errorText));
        const QString branchSession = branch.json().toObject().value(QStringLiteral("id")).toString();
        const qint64 branchPid = branch.json().toObject().value(QStringLiteral("pid")).toInteger();
        m_sessions.append(branchSession);
        QVERIFY(branchSession != session);
        QVERIFY(hasWayOut(branchSession));
        QCOMPARE(check(branchPid), afterRestore);
        // Both listen on the same port at once, each in its own namespace.
        const QByteArray afterAbort = "loopback=ok accept=ok outside-old=EPIPE outside-new=echo";
        QCOMPARE(check(original), afterAbort);
        QCOMPARE(check(branchPid), afterAbort);

        for (const QString &stopping : {session, branchSession}) {
            const HelperReply stopped = call(*m_user, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, stopping}});
            QVERIFY2(stopped.ok(), qPrintable(stopped.errorText));
            QVERIFY(!hasWayOut(stopping));
        }
    }
};

REWIND_TEST_GUILESS_MAIN(HelperCellNetworkTest)
#include "HelperCellNetworkTest.moc"
