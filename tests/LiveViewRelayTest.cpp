// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-live-relay on its own: it forwards bytes both ways unchanged, closes
// a viewer at once when the display is gone, ends (removing its socket) when
// idle or when the cell ends, and refuses a target that is not a socket.
// The "display" is an echo server of the test's, the "cell" a sleep process.
#include "OwnerProcess.h"
#include "SocketFile.h"

#include <QDir>
#include <QFileInfo>
#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

struct Relay {
    int exitCode = -1;
    QByteArray output;
};

} // namespace

class LiveViewRelayTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_directory;
    QProcess m_cell; ///< stands for a cell's init
    UniqueFd m_cellFd;

    QString displayPath() const
    {
        return m_directory->filePath(QStringLiteral("display"));
    }
    QString viewerPath() const
    {
        return m_directory->filePath(QStringLiteral("viewers/live.vnc"));
    }

    /// Starts the relay on target (a socket path, or any file) and waits until it has detached.
    Relay startRelay(const QString &target, int idleSeconds)
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
        runAsOwner(relay, ::geteuid(), ::getegid(), {targetFd.get(), directoryFd.get(), m_cellFd.get()});
        relay.start(QIODevice::ReadOnly);
        if (!relay.waitForFinished(10000)) {
            relay.kill();
            relay.waitForFinished();
        }
        return {relay.exitStatus() == QProcess::NormalExit ? relay.exitCode() : -1, relay.readAllStandardOutput()};
    }

    /// Connects a viewer; nullptr if the relay does not accept.
    static std::unique_ptr<QLocalSocket> connectViewer(const QString &path)
    {
        auto viewer = std::make_unique<QLocalSocket>();
        viewer->connectToServer(path);
        return viewer->waitForConnected(5000) ? std::move(viewer) : nullptr;
    }

private Q_SLOTS:
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
        if (m_directory) {
            QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(viewerPath()), 10000);
        }
        m_directory.reset();
    }

    void forwardsBothWaysThenEndsWhenIdle()
    {
        EchoServer display(displayPath());
        QVERIFY(display.isListening());
        const Relay relay = startRelay(displayPath(), 2);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());

        // Only its owner may connect.
        struct stat info;
        QVERIFY(::lstat(QFile::encodeName(viewerPath()).constData(), &info) == 0);
        QVERIFY(S_ISSOCK(info.st_mode));
        QCOMPARE(info.st_mode & 0077, 0u);

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
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(viewerPath()), 15000);
        QVERIFY(!connectViewer(viewerPath()));
    }

    void endsWithTheCell()
    {
        EchoServer display(displayPath());
        const Relay relay = startRelay(displayPath(), 600);
        QVERIFY2(relay.exitCode == 0, relay.output.constData());
        auto viewer = connectViewer(viewerPath());
        QVERIFY(viewer);
        m_cell.kill();
        // The viewer is let go and the socket goes, long before the idle time.
        QTRY_VERIFY_WITH_TIMEOUT(viewer->state() == QLocalSocket::UnconnectedState, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(viewerPath()), 10000);
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

QTEST_GUILESS_MAIN(LiveViewRelayTest)
#include "LiveViewRelayTest.moc"
