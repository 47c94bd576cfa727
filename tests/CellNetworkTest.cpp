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
#include "TestSessions.h"
#include "UniqueFd.h"

#include <QFile>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
constexpr int cellPort = 7000;
/// A link of the test's own, where the machine has no default route (the
/// development environment's network namespace has only loopback): pasta
/// copies the addresses and routes of the interface with the default route.
const QString testLink = QStringLiteral("rwnet0");
const QString testGateway = QStringLiteral("10.199.0.1");

bool run(const QStringList &command)
{
    QProcess process;
    process.start(command.first(), command.mid(1));
    return process.waitForFinished(10000) && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
}

/// The IPv4 gateway of the default route; empty if there is none.
QString defaultGateway()
{
    QFile routes(QStringLiteral("/proc/net/route"));
    if (!routes.open(QIODevice::ReadOnly)) {
        return {};
    }
    const auto lines = routes.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const auto fields = line.simplified().split(' ');
        if (fields.size() > 3 && fields[1] == "00000000") {
            const quint32 gateway = fields[2].toUInt(nullptr, 16); // in memory order
            const auto *bytes = reinterpret_cast<const unsigned char *>(&gateway);
            return QStringLiteral("%1.%2.%3.%4").arg(bytes[0]).arg(bytes[1]).arg(bytes[2]).arg(bytes[3]);
        }
    }
    return {};
}

/// Answers every line with itself, on every connection.
class EchoServer : public QTcpServer
{
public:
    EchoServer()
    {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                connect(socket, &QTcpSocket::readyRead, socket, [socket] {
                    socket->write(socket->readAll());
                });
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }
};

} // namespace

class CellNetworkTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    EchoServer m_echo;
    QString m_gateway;
    bool m_madeLink = false;
    long m_command = 0;

    static QByteArray reportOf(pid_t initPid)
    {
        QFile report(SessionManager::cellPath(initPid, QStringLiteral("/tmp/report")));
        return report.open(QIODevice::ReadOnly) ? report.readAll().trimmed() : QByteArray();
    }

    /// Asks the program in the cell of initPid to check its connections and
    /// returns its report, without the command's number.
    QByteArray check(pid_t initPid)
    {
        const QByteArray number = QByteArray::number(++m_command);
        // Written as the session's user (this thread's file system ids): the
        // cell's /tmp maps no other user, and host root is nobody there.
        const UniqueFd directory(
            ::open(QFile::encodeName(SessionManager::cellPath(initPid, QStringLiteral("/tmp"))).constData(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ::setfsgid(gid_t(::getpwuid(userUid)->pw_gid));
        ::setfsuid(userUid);
        const UniqueFd command(::openat(directory.get(), "command", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
        const bool written = command && ::write(command.get(), number.constData(), number.size()) == number.size();
        ::setfsuid(0);
        ::setfsgid(0);
        if (!written) {
            return "cannot write the command: " + QByteArray(std::strerror(errno));
        }
        const auto answered = [&] {
            return reportOf(initPid).startsWith(number + ' ');
        };
        if (!QTest::qWaitFor(answered, 20000)) {
            return "no answer: " + reportOf(initPid);
        }
        return reportOf(initPid).mid(number.size() + 1);
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
        m_gateway = defaultGateway();
        if (m_gateway.isEmpty()) {
            QVERIFY(run({QStringLiteral("ip"),
                         QStringLiteral("link"),
                         QStringLiteral("add"),
                         testLink,
                         QStringLiteral("type"),
                         QStringLiteral("veth"),
                         QStringLiteral("peer"),
                         QStringLiteral("name"),
                         testLink + QStringLiteral("p")}));
            m_madeLink = true;
            QVERIFY(run(
                {QStringLiteral("ip"), QStringLiteral("address"), QStringLiteral("add"), QStringLiteral("10.199.0.2/24"), QStringLiteral("dev"), testLink}));
            QVERIFY(run({QStringLiteral("ip"), QStringLiteral("link"), QStringLiteral("set"), testLink, QStringLiteral("up")}));
            QVERIFY(run({QStringLiteral("ip"), QStringLiteral("link"), QStringLiteral("set"), testLink + QStringLiteral("p"), QStringLiteral("up")}));
            QVERIFY(run({QStringLiteral("ip"), QStringLiteral("route"), QStringLiteral("add"), QStringLiteral("default"), QStringLiteral("via"), testGateway}));
            m_gateway = testGateway;
        }
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
        if (m_madeLink) {
            QVERIFY(run({QStringLiteral("ip"), QStringLiteral("link"), QStringLiteral("delete"), testLink}));
        }
    }

    void connectionsAcrossRestoreAndBranch()
    {
        const QByteArray text =
            "[Session]\nName=net\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App net]\nCommand=rewind-test-connections /tmp "
            + QByteArray::number(cellPort) + ' ' + m_gateway.toLatin1() + ' ' + QByteArray::number(m_echo.serverPort()) + '\n';
        auto spec = SessionSpec::parse(text, QStringLiteral("net.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        auto started = m_sessions->start(*spec, userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        QVERIFY(CellNetwork::isConnected(m_test.paths(), started->id));
        QTRY_VERIFY2_WITH_TIMEOUT(reportOf(started->initPid) == "ready", reportOf(started->initPid).constData(), 20000);
        QCOMPARE(check(started->initPid), QByteArray("loopback=ok accept=ok outside-old=echo outside-new=echo"));

        const auto scanned = m_sessions->scan(*started);
        QVERIFY2(scanned.ok(), qPrintable(scanned.errorMessage()));
        QVERIFY2(scanned->isEmpty(), qPrintable(CheckpointabilityScan::describe(*scanned)));
        auto snapshot = m_engine->snapshot(started->id, QStringLiteral("net"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
        // Still connected after the snapshot: the session went on running.
        QCOMPARE(check(started->initPid), QByteArray("loopback=ok accept=ok outside-old=echo outside-new=echo"));

        const QByteArray afterRestore = "loopback=ok accept=ok outside-old=ECONNABORTED outside-new=echo";
        auto inPlace = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(inPlace.ok(), qPrintable(inPlace.errorMessage()));
        const pid_t original = inPlace->session.initPid;
        QVERIFY(CellNetwork::isConnected(m_test.paths(), inPlace->session.id));
        QCOMPARE(check(original), afterRestore);

        auto branch = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(branch.ok(), qPrintable(branch.errorMessage()));
        QVERIFY(branch->session.id != inPlace->session.id);
        QVERIFY(CellNetwork::isConnected(m_test.paths(), branch->session.id));
        QCOMPARE(check(branch->session.initPid), afterRestore);
        // Both listen on the same port at once, each in its own namespace.
        QCOMPARE(check(original), QByteArray("loopback=ok accept=ok outside-old=EPIPE outside-new=echo"));
        QCOMPARE(check(branch->session.initPid), QByteArray("loopback=ok accept=ok outside-old=EPIPE outside-new=echo"));

        // The way out ends with the session.
        QVERIFY(m_sessions->stop(branch->session.id).ok());
        QVERIFY(!CellNetwork::isConnected(m_test.paths(), branch->session.id));
    }
};

REWIND_TEST_GUILESS_MAIN(CellNetworkTest)
#include "CellNetworkTest.moc"
