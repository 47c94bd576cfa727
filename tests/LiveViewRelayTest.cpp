// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-live-relay on its own: it forwards bytes both ways unchanged (also
// what the display sends just before it closes), closes a viewer at once when
// the display is gone, ends (removing its socket) when idle but not while a
// viewer is connected, ends when the cell ends, cannot be reached into by its
// owner's other processes, and refuses a target that is not a socket.
// The "display" is an echo server of the test's, the "cell" a sleep process.
#include "OwnerProcess.h"
#include "SocketFile.h"
#include "TestSkip.h"
#include "TestSystem.h"

#include <QDir>
#include <QFileInfo>
#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

const QString relayProgram = QStringLiteral(BUILD_BIN_DIR "/rewind-live-relay");

/// Sends back whatever its clients send.
class EchoServer : public QLocalServer
{
public:
    explicit EchoServer(const QString &path)
    {
        setSocketOptions(QLocalServer::WorldAccessOption); // for a relay running as someone else
        listen(path);
        connect(this, &QLocalServer::newConnection, this, [this] {
            while (QLocalSocket *client = nextPendingConnection()) {
                connect(client, &QLocalSocket::readyRead, client, [client] {
                    client->write(client->readAll());
                });
            }
        });
    }
};

/// Sends words to each client as soon as it connects, then closes.
class SayAndCloseServer : public QLocalServer
{
public:
    SayAndCloseServer(const QString &path, const QByteArray &words)
    {
        listen(path);
        connect(this, &QLocalServer::newConnection, this, [this, words] {
            while (QLocalSocket *client = nextPendingConnection()) {
                connect(client, &QLocalSocket::disconnected, this, [this] {
                    m_closed = true;
                });
                client->write(words);
                client->disconnectFromServer(); // after what was written has gone out
            }
        });
    }
    bool hasClosed() const
    {
        return m_closed;
    }

private:
    bool m_closed = false;
};

struct Relay {
    int exitCode = -1;
    QByteArray output;
    pid_t pid = -1; ///< the detached relay, a child of this test (a subreaper) now
};

/// The detached relay: a child of this process, which is a subreaper.
pid_t detachedRelay()
{
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (!entry.front().isDigit() || !stat.open(QIODevice::ReadOnly)) {
            continue;
        }
        // pid (comm) state ppid ...; comm is cut to 15 characters.
        const QByteArray line = stat.readAll();
        const QList<QByteArray> rest = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (line.contains("(rewind-live-rel)") && rest.size() > 1 && rest.at(1).toInt() == ::getpid()) {
            return entry.toInt();
        }
    }
    return -1;
}

/// Whether the (detached) relay pid has ended; reaps it (ECHILD: reaped before).
bool hasEnded(pid_t pid)
{
    const pid_t reaped = ::waitpid(pid, nullptr, WNOHANG);
    return reaped == pid || (reaped < 0 && errno == ECHILD);
}

} // namespace

class LiveViewRelayTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_directory;
    QProcess m_cell; ///< stands for a cell's init
    UniqueFd m_cellFd;
    QList<pid_t> m_relays; ///< to reap

    QString displayPath() const
    {
        return m_directory->filePath(QStringLiteral("display"));
    }
    QString viewerPath() const
    {
        return m_directory->filePath(QStringLiteral("viewers/live.vnc"));
    }

    /// Starts the relay on target (a socket path, or any file) as uid and waits until it has detached.
    Relay startRelay(const QString &target, int idleSeconds, uid_t uid = ::geteuid(), gid_t gid = ::getegid())
    {
        const UniqueFd targetFd(::open(QFile::encodeName(target).constData(), O_PATH | O_CLOEXEC));
        const UniqueFd directoryFd(::open(QFile::encodeName(m_directory->filePath(QStringLiteral("viewers"))).constData(), O_DIRECTORY | O_CLOEXEC));
        QProcess relay;
        relay.setProgram(relayProgram);
        relay.setArguments({QStringLiteral("--target-fd"),
                            QString::number(targetFd.get()),
                            QStringLiteral("--cell-fd"),
                            QString::number(m_cellFd.get()),
                            QStringLiteral("--directory-fd"),
                            QString::number(directoryFd.get()),
                            QStringLiteral("--name"),
                            QStringLiteral("live.vnc"),
                            QStringLiteral("--idle-seconds"),
                            QString::number(idleSeconds)});
        runAsOwner(relay, uid, gid, {targetFd.get(), directoryFd.get(), m_cellFd.get()});
        relay.start(QIODevice::ReadOnly);
        if (!relay.waitForFinished(10000)) {
            relay.kill();
            relay.waitForFinished();
        }
        Relay started{relay.exitStatus() == QProcess::NormalExit ? relay.exitCode() : -1, relay.readAllStandardOutput(), -1};
        if (started.exitCode == 0) {
            started.pid = detachedRelay();
            m_relays.append(started.pid);
        }
        return started;
    }

    /// Connects a viewer; nullptr if the relay does not accept.
    static std::unique_ptr<QLocalSocket> connectViewer(const QString &path)
    {
        auto viewer = std::make_unique<QLocalSocket>();
        viewer->connectToServer(path);
        return viewer->waitForConnected(5000) ? std::move(viewer) : nullptr;
    }

private Q_SLOTS:
    void initTestCase()
    {
        // The relay detaches; as a subreaper this test becomes its parent and can tell when it ends.
        QCOMPARE(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    }

    void init()
    {
        QVERIFY(QFileInfo(relayProgram).isExecutable());
        m_directory = std::make_unique<QTemporaryDir>();
        QVERIFY(m_directory->isValid());
        QVERIFY(QDir(m_directory->path()).mkdir(QStringLiteral("viewers")));
        m_cell.start(QStringLiteral("sleep"), {QStringLiteral("1000")});
        QVERIFY(m_cell.waitForStarted());
        m_cellFd = UniqueFd(int(::syscall(SYS_pidfd_open, pid_t(m_cell.processId()), 0)));
        QVERIFY(m_cellFd);
    }

    void cleanup()
    {
        // Ending the "cell" ends any relay still running.
        m_cell.kill();
        m_cell.waitForFinished();
        m_cellFd.reset();
        for (const pid_t relay : std::as_const(m_relays)) {
            QTRY_VERIFY_WITH_TIMEOUT(relay > 0 && hasEnded(relay), 10000);
        }
        m_relays.clear();
        if (m_directory) {
            QVERIFY(!QFileInfo::exists(viewerPath()));
        }
        m_directory.reset();
    }

    void forwardsBothWaysThenEndsWhenIdle()
    {
        EchoServer display(displayPath());
        QVERIFY(display.isListening());
        // As nobody, as the helper starts it as a session's owner.
        const uid_t nobody = 65534;
        QVERIFY(::chown(QFile::encodeName(m_directory->filePath(QStringLiteral("viewers"))).constData(), nobody, nobody) == 0);
        const Relay relay = startRelay(displayPath(), 3, nobody, nobody);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        QVERIFY(relay.pid > 0);
        QCOMPARE(TestSystem::realUidOf(relay.pid), long(nobody));

        // Only its owner may connect.
        struct stat info;
        QVERIFY(::lstat(QFile::encodeName(viewerPath()).constData(), &info) == 0);
        QVERIFY(S_ISSOCK(info.st_mode));
        QCOMPARE(info.st_uid, nobody);
        QCOMPARE(info.st_mode & 0077, 0u);
        // Not dumpable: its descriptors in /proc are root's, so its owner's
        // other processes can neither trace it nor use them.
        QVERIFY(::stat(QByteArray("/proc/" + QByteArray::number(relay.pid) + "/fd").constData(), &info) == 0);
        QCOMPARE(info.st_uid, 0u);

        // Much more than one buffer, so that writes are partial and reads wait.
        QByteArray sent(4 * 1024 * 1024, Qt::Uninitialized);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(sent.data()), sent.size() / 4);
        auto viewer = connectViewer(viewerPath());
        QVERIFY(viewer);
        viewer->write(sent);
        QByteArray received;
        QTRY_VERIFY_WITH_TIMEOUT((received += viewer->readAll()).size() >= sent.size(), 30000);
        QVERIFY(received == sent);

        // Two viewers at once, each with its own connection.
        auto second = connectViewer(viewerPath());
        QVERIFY(second);
        second->write("second");
        viewer->write("first");
        QByteArray secondReceived;
        QTRY_COMPARE_WITH_TIMEOUT(secondReceived += second->readAll(), QByteArray("second"), 10000);
        QByteArray firstReceived;
        QTRY_COMPARE_WITH_TIMEOUT(firstReceived += viewer->readAll(), QByteArray("first"), 10000);

        // With nobody connected for its idle time, it ends and takes its socket along.
        viewer.reset();
        second.reset();
        QTRY_VERIFY_WITH_TIMEOUT(hasEnded(relay.pid), 15000);
        QVERIFY(!QFileInfo::exists(viewerPath()));
    }

    void aSilentViewerKeepsItRunning()
    {
        EchoServer display(displayPath());
        const Relay relay = startRelay(displayPath(), 1);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        auto viewer = connectViewer(viewerPath());
        QVERIFY(viewer);
        // What is tested is that nothing happens: three times the idle time.
        QTest::qWait(3000);
        QVERIFY(!hasEnded(relay.pid));
        viewer->write("still there");
        QByteArray received;
        QTRY_COMPARE_WITH_TIMEOUT(received += viewer->readAll(), QByteArray("still there"), 10000);
    }

    void whatTheDisplaySaysLastArrives()
    {
        // More than one buffer of the relay's, less than the sockets on the way
        // hold: the display has sent it all and closed while the relay still
        // has some to pass on, because the viewer has not read yet.
        QByteArray words(300 * 1024, Qt::Uninitialized);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(words.data()), words.size() / 4);
        SayAndCloseServer display(displayPath(), words);
        const Relay relay = startRelay(displayPath(), 600);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        const UniqueFd viewer(TestSystem::connectUnixSocket(QFile::encodeName(viewerPath())));
        QVERIFY(viewer);
        QTRY_VERIFY_WITH_TIMEOUT(display.hasClosed(), 10000);

        // Now the viewer reads: everything, then the end.
        QByteArray received;
        for (;;) {
            pollfd watched{viewer.get(), POLLIN, 0};
            QVERIFY2(::poll(&watched, 1, 10000) == 1, "the relay neither sent more nor closed");
            char buffer[65536];
            const ssize_t got = ::read(viewer.get(), buffer, sizeof buffer);
            QVERIFY(got >= 0);
            if (got == 0) {
                break;
            }
            received.append(buffer, got);
        }
        QCOMPARE(received.size(), words.size());
        QVERIFY(received == words);
    }

    void endsWithTheCell()
    {
        EchoServer display(displayPath());
        const Relay relay = startRelay(displayPath(), 600);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        auto viewer = connectViewer(viewerPath());
        QVERIFY(viewer);
        m_cell.kill();
        // The viewer is let go and the relay ends with its socket, long before the idle time.
        QTRY_VERIFY_WITH_TIMEOUT(viewer->state() == QLocalSocket::UnconnectedState, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(hasEnded(relay.pid), 10000);
        QVERIFY(!QFileInfo::exists(viewerPath()));
    }

    void viewerIsLetGoWhenTheDisplayIsGone()
    {
        auto display = std::make_unique<EchoServer>(displayPath());
        const Relay relay = startRelay(displayPath(), 600);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        display.reset(); // the display's server ends; nothing listens any more
        auto viewer = connectViewer(viewerPath());
        QVERIFY(viewer); // the relay accepts...
        QTRY_VERIFY_WITH_TIMEOUT(viewer->state() == QLocalSocket::UnconnectedState, 10000); // ...and lets go at once
    }

    void refusesATargetThatIsNotASocket()
    {
        QFile file(m_directory->filePath(QStringLiteral("not-a-socket")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        const Relay relay = startRelay(file.fileName(), 600);
        QCOMPARE(relay.exitCode, 1);
        QVERIFY2(relay.output.contains("not a socket"), relay.output.constData());
        QVERIFY(!QFileInfo::exists(viewerPath()));
    }
};

REWIND_TEST_GUILESS_MAIN(LiveViewRelayTest)
#include "LiveViewRelayTest.moc"
