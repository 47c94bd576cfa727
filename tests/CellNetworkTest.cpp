// SPDX-License-Identifier: GPL-2.0-or-later
// A session's network across a snapshot: rewind-test-connections
// (tests/programs) holds a listening socket, an established loopback
// connection inside the cell and a connection to an echo server this test
// runs on the host's loopback, reached through the cell's way out (pasta,
// whose gateway address leads to the host's loopback). After a restore in
// place, and as a branch running beside the original: the loopback
// connection carries data both ways, the listener accepts, the old outside
// connection reads as aborted and a new one works; the branch listens on
// the same port as the original at the same time.
#include "TestSkip.h"

#include "CellNetwork.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestNetwork.h"
#include "TestSessions.h"
#include "UniqueFd.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTest>

#include <csignal>
#include <cstring>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
constexpr int cellPort = 7000;
const QByteArray connected = "loopback=ok accept=ok outside-old=echo outside-new=echo";
const QByteArray afterRestore = "loopback=ok accept=ok outside-old=ECONNABORTED outside-new=echo";
/// A connection aborted once reports so; writing to it again fails with EPIPE.
const QByteArray afterAbort = "loopback=ok accept=ok outside-old=EPIPE outside-new=echo";
} // namespace

class CellNetworkTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    std::unique_ptr<TestNetwork> m_network;
    EchoServer m_echo;
    long m_command = 0;

    QByteArray check(pid_t initPid)
    {
        return checkConnections(initPid, userUid, ++m_command);
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        if (CellNetwork::pastaBinary().isEmpty()) {
            REWIND_SKIP("pasta (package passt) is not installed");
        }
        QVERIFY(m_test.isValid());
        m_network = std::make_unique<TestNetwork>();
        QVERIFY2(!m_network->gateway().isEmpty(), qPrintable(m_network->error()));
        QVERIFY(m_echo.listen(QHostAddress::LocalHost));
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void cleanupTestCase()
    {
        m_test.removeAll();
        m_network.reset();
    }

    void connectionsAcrossRestoreAndBranch()
    {
        const QByteArray text =
            "[Session]\nName=net\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App net]\nCommand=rewind-test-connections /tmp "
            + QByteArray::number(cellPort) + ' ' + m_network->gateway().toLatin1() + ' ' + QByteArray::number(m_echo.serverPort()) + '\n';
        auto spec = SessionSpec::parse(text, QStringLiteral("net.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        auto started = m_sessions->start(*spec, userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        QVERIFY(CellNetwork::isConnected(m_test.paths(), started->id));
        QTRY_VERIFY2_WITH_TIMEOUT(connectionsReport(started->initPid) == "ready", connectionsReport(started->initPid).constData(), 20000);
        QCOMPARE(check(started->initPid), connected);

        const auto scanned = m_sessions->scan(*started);
        QVERIFY2(scanned.ok(), qPrintable(scanned.errorMessage()));
        QVERIFY2(scanned->isEmpty(), qPrintable(CheckpointabilityScan::describe(*scanned)));
        auto snapshot = m_engine->snapshot(started->id, QStringLiteral("net"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
        qInfo("snapshot: frozen %.1f ms", snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0);
        // Still connected after the snapshot: the session went on running.
        QCOMPARE(check(started->initPid), connected);

        QElapsedTimer clock;
        clock.start();
        auto inPlace = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(inPlace.ok(), qPrintable(inPlace.errorMessage()));
        qInfo("restore in place (with the snapshot before it): %lld ms", qlonglong(clock.elapsed()));
        const pid_t original = inPlace->session.initPid;
        QVERIFY(CellNetwork::isConnected(m_test.paths(), inPlace->session.id));
        QCOMPARE(check(original), afterRestore);

        clock.restart();
        auto branch = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(branch.ok(), qPrintable(branch.errorMessage()));
        qInfo("restore as a new session: %lld ms", qlonglong(clock.elapsed()));
        QVERIFY(branch->session.id != inPlace->session.id);
        QVERIFY(CellNetwork::isConnected(m_test.paths(), branch->session.id));
        QCOMPARE(check(branch->session.initPid), afterRestore);
        // Both listen on the same port at once, each in its own namespace.
        QCOMPARE(check(original), afterAbort);
        QCOMPARE(check(branch->session.initPid), afterAbort);

        // The way out ends with the session.
        QVERIFY(m_sessions->stop(branch->session.id).ok());
        QVERIFY(!CellNetwork::isConnected(m_test.paths(), branch->session.id));
        // A cell that ends by itself leaves it running until thawAbandoned().
        QVERIFY(::kill(original, SIGKILL) == 0);
        QCOMPARE(::waitpid(original, nullptr, 0), original); // restored: this process's child
        QVERIFY(CellNetwork::isConnected(m_test.paths(), inPlace->session.id));
        (void)m_sessions->thawAbandoned();
        QVERIFY(!CellNetwork::isConnected(m_test.paths(), inPlace->session.id));
    }

    void aProcessInRewindsOwnNetworkIsNotConnected()
    {
        // A record whose first process shares Rewind's network namespace, as
        // when a cell's init is gone and its pid was taken by another
        // process: pasta must not configure that network.
        SessionRecord record;
        record.id = QStringLiteral("not-a-cell");
        record.initPid = ::getpid();
        const auto connected = CellNetwork::connect(m_test.paths(), record);
        QVERIFY(!connected.ok());
        QVERIFY2(connected.errorMessage().contains(QLatin1String("network namespace of its own")), qPrintable(connected.errorMessage()));
        QVERIFY(!CellNetwork::isConnected(m_test.paths(), record.id));
    }

    void aConnectionFromOutsideIsWaitedForOrNamed()
    {
        // Accepted in the cell, a connection from here is a socket of this
        // network namespace, which CRIU cannot dump: the snapshot names the
        // display that holds it, and works once the display closed it.
        const QByteArray text = "[Session]\nName=viewed\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n";
        auto spec = SessionSpec::parse(text, QStringLiteral("viewed.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        auto started = m_sessions->start(*spec, userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        UniqueFd viewer(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray path = QFile::encodeName(SessionManager::vncSocketPath(started->initPid));
        QVERIFY(size_t(path.size()) < sizeof address.sun_path);
        std::memcpy(address.sun_path, path.constData(), size_t(path.size()));
        QVERIFY(::connect(viewer.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
        auto refused = m_engine->snapshot(started->id, QStringLiteral("viewed"), SnapshotTrigger::Manual);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QLatin1String("Xvnc")) && refused.errorMessage().contains(QLatin1String("connection from outside")),
                 qPrintable(refused.errorMessage()));
        viewer.reset();
        auto taken = m_engine->snapshot(started->id, QStringLiteral("viewed"), SnapshotTrigger::Manual);
        QVERIFY2(taken.ok(), qPrintable(taken.errorMessage()));
    }
};

REWIND_TEST_GUILESS_MAIN(CellNetworkTest)
#include "CellNetworkTest.moc"
