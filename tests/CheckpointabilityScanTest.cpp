// SPDX-License-Identifier: GPL-2.0-or-later
// The checkpointability scan names, process by process, what a snapshot
// cannot take along: connections to sockets outside the cell, devices and
// debuggers, and finds nothing in a cell that has none of them.
#include "CheckpointabilityScan.h"
#include "CriuCheckpointer.h"
#include "TestCell.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;
using Obstacle = CheckpointabilityScan::Obstacle;

namespace
{
const QString counterFile = QStringLiteral("/tmp/counter");

/// The first child of the cell's init: the command it runs.
pid_t commandOf(const TestCell &cell)
{
    QFile children(QStringLiteral("/proc/%1/task/%1/children").arg(cell.pid()));
    if (!children.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const auto pids = children.readAll().trimmed().split(' ');
    return pids.size() == 1 ? pids.first().toInt() : -1;
}

QStringList fdTargets(pid_t pid)
{
    QStringList targets;
    const QDir fds(QStringLiteral("/proc/%1/fd").arg(pid));
    const auto entries = fds.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot);
    for (const QString &fd : entries) {
        // Not QFile::symLinkTarget: it makes "anon_inode:[io_uring]" a path.
        char target[4096];
        const ssize_t length = ::readlink(QFile::encodeName(fds.filePath(fd)).constData(), target, sizeof target);
        if (length > 0) {
            targets.append(QFile::decodeName(QByteArray(target, int(length))));
        }
    }
    return targets;
}

/// A listening unix socket at PATH, removed again with it.
class Listener
{
public:
    explicit Listener(const QString &path)
        : m_path(path)
        , m_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray encoded = QFile::encodeName(path);
        std::strncpy(address.sun_path, encoded.constData(), sizeof address.sun_path - 1);
        // Open to all: a cell's processes are not root outside the cell.
        if (!m_fd || ::bind(m_fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof address) < 0 || ::chmod(encoded.constData(), 0777) < 0
            || ::listen(m_fd.get(), 4) < 0) {
            m_fd.reset();
        }
    }
    ~Listener()
    {
        QFile::remove(m_path);
    }
    bool valid() const
    {
        return m_fd.valid();
    }
    /// Accepts one waiting connection, if there is none yet, and keeps it open.
    /// Whether there is one.
    bool accept()
    {
        if (m_connection) {
            return true; // QTRY_VERIFY asks once more after success
        }
        const int connection = ::accept4(m_fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (connection < 0) {
            return false;
        }
        m_connection.reset(connection);
        return true;
    }

private:
    QString m_path;
    UniqueFd m_fd;
    UniqueFd m_connection;
};

/// A directory made for a test and removed with it, also when it fails:
/// what it made, from the first directory on the path that did not exist
/// (/run/user too if it had to be made), and nothing that was there before.
class ScopedDirectory
{
public:
    explicit ScopedDirectory(const QString &path)
    {
        QString firstMissing;
        for (QString dir = QDir::cleanPath(path); !QFileInfo::exists(dir) && dir != QLatin1String("/"); dir = QFileInfo(dir).path()) {
            firstMissing = dir;
        }
        m_valid = QDir().mkpath(path);
        if (m_valid) {
            m_made = firstMissing;
        }
    }
    ~ScopedDirectory()
    {
        if (!m_made.isEmpty()) {
            QDir(m_made).removeRecursively();
        }
    }
    ScopedDirectory(const ScopedDirectory &) = delete;
    ScopedDirectory &operator=(const ScopedDirectory &) = delete;

    bool valid() const
    {
        return m_valid;
    }

private:
    QString m_made;
    bool m_valid = false;
};
}

class CheckpointabilityScanTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
    }

    void cleanCounterCellHasNoObstacles()
    {
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(COUNTER_PATH), counterFile}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(cell.counter(counterFile) > 0);

        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));
        QCOMPARE(CheckpointabilityScan::describe(*obstacles), QString());
    }

    void scanOfMissingCellFails()
    {
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(COUNTER_PATH), counterFile}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        const pid_t gone = cell.pid();
        cell.kill();
        const auto obstacles = CheckpointabilityScan::scan(gone);
        QVERIFY(!obstacles.ok());
        QVERIFY(!obstacles.errorMessage().isEmpty());
    }

    void connectionToSocketOutsideIsNamed_data()
    {
        QTest::addColumn<QString>("socketPath");
        QTest::addColumn<QString>("description");
        const QString uniqueRun = QStringLiteral("/run/user/%1").arg(4000000 + ::getpid());
        QTest::newRow("some program") << QStringLiteral("/var/tmp/rewind-scan-test-%1/listener.sock").arg(::getpid())
                                      << QStringLiteral("a program outside the session");
        QTest::newRow("session bus") << uniqueRun + QStringLiteral("/bus") << QStringLiteral("the host's D-Bus session bus");
        QTest::newRow("wayland") << uniqueRun + QStringLiteral("/wayland-0") << QStringLiteral("the host's Wayland display");
    }

    void connectionToSocketOutsideIsNamed()
    {
        QFETCH(QString, socketPath);
        QFETCH(QString, description);
        // Outside /tmp: a cell has a /tmp of its own.
        ScopedDirectory directory(QFileInfo(socketPath).path());
        QVERIFY(directory.valid());
        Listener listener(socketPath);
        QVERIFY(listener.valid());

        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), socketPath}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(listener.accept());
        const pid_t client = commandOf(cell);
        QVERIFY(client > 0);

        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        const Obstacle &obstacle = obstacles->first();
        QCOMPARE(obstacle.pid, client);
        QCOMPARE(obstacle.processName, QStringLiteral("rewind-test-hold-open"));
        QCOMPARE(obstacle.resource, socketPath);
        QVERIFY2(obstacle.reason.contains(QStringLiteral("rewind-test-hold-open (pid %1)").arg(client)), qPrintable(obstacle.reason));
        QVERIFY2(obstacle.reason.contains(description), qPrintable(obstacle.reason));
        QVERIFY2(obstacle.reason.contains(socketPath), qPrintable(obstacle.reason));
        const QString described = CheckpointabilityScan::describe(*obstacles);
        QVERIFY(described.contains(obstacle.reason));
        qInfo("%s", qPrintable(described));
    }

    void connectionWithinCellIsFine_data()
    {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<int>("listenerSockets");
        // A listener in the cell's own /tmp and a child connected to it: both
        // ends of the connection are inside the cell (listener, accepted connection).
        QTest::newRow("accepted") << QStringLiteral("--pair") << 2;
        // Not accepted yet: the client's peer is still in the listener's queue, held by nobody.
        QTest::newRow("not yet accepted") << QStringLiteral("--pending") << 1;
    }

    void connectionWithinCellIsFine()
    {
        QFETCH(QString, mode);
        QFETCH(int, listenerSockets);
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), mode, QStringLiteral("/tmp/inside.sock")}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        const auto connected = [&cell, listenerSockets] {
            const pid_t listener = commandOf(cell);
            QFile children(QStringLiteral("/proc/%1/task/%1/children").arg(listener));
            if (listener <= 0 || !children.open(QIODevice::ReadOnly)) {
                return false;
            }
            const pid_t client = children.readAll().trimmed().toInt();
            return client > 0 && fdTargets(listener).filter(QStringLiteral("socket:")).size() == listenerSockets
                && fdTargets(client).filter(QStringLiteral("socket:")).size() == 1;
        };
        QTRY_VERIFY(connected());

        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));
    }

    void networkConnectionsAreNoObstacle()
    {
        // The cell's network namespace is its own: a listener and a loopback
        // connection inside it restore established, connections to the
        // outside restore closed (CellNetworkTest), so neither is named.
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(CONNECTIONS_PATH), QStringLiteral("/tmp"), QStringLiteral("7000")}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_COMPARE(cell.readFile(QStringLiteral("/tmp/report")).trimmed(), QByteArray("ready"));
        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));
    }

    void largeDeletedFileIsNamed()
    {
        // CRIU takes a deleted file's content along up to a limit ("Can't dump
        // ghost file ... increase limit"); beyond it the scan names the file.
        const qint64 size = CriuCheckpointer::ghostFileLimit + 4096;
        // Blocks really held (fallocate), as CRIU counts them; a sparse file
        // of any size holds none and is no obstacle.
        const QString script =
            QStringLiteral(
                "fallocate -l %1 /tmp/big && exec 3</tmp/big && rm /tmp/big && truncate -s %1 /tmp/sparse && exec 4</tmp/sparse && rm /tmp/sparse "
                "&& touch /tmp/ready && exec sleep 600")
                .arg(size);
        QString error;
        TestCell cell = TestCell::start({QStringLiteral("/bin/sh"), QStringLiteral("-c"), script}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(QFile::exists(QStringLiteral("/proc/%1/root/tmp/ready").arg(cell.pid())));
        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        QCOMPARE(obstacles->first().resource, QStringLiteral("/tmp/big"));
        QVERIFY2(obstacles->first().reason.contains(QLatin1String("deleted file /tmp/big")), qPrintable(obstacles->first().reason));
    }

    void deviceIsNamed()
    {
        QTemporaryDir directory(QStringLiteral("/var/tmp/rewind-scan-test-XXXXXX"));
        QVERIFY(directory.isValid());
        const QString device = directory.filePath(QStringLiteral("kmsg"));
        // Reachable for the cell's root, which is nobody outside the cell.
        QVERIFY(QFile::setPermissions(directory.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ExeGroup | QFile::ExeOther));
        QCOMPARE(::mknod(QFile::encodeName(device).constData(), S_IFCHR | 0666, ::makedev(1, 11)), 0);
        QCOMPARE(::chmod(QFile::encodeName(device).constData(), 0666), 0);

        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), device}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(commandOf(cell) > 0 && fdTargets(commandOf(cell)).contains(device));
        const pid_t holder = commandOf(cell);

        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        const Obstacle &obstacle = obstacles->first();
        QCOMPARE(obstacle.pid, holder);
        QCOMPARE(obstacle.processName, QStringLiteral("rewind-test-hold-open"));
        QCOMPARE(obstacle.resource, device);
        QVERIFY2(obstacle.reason.contains(QLatin1String("the kernel log")), qPrintable(obstacle.reason));
        QVERIFY2(obstacle.reason.contains(device), qPrintable(obstacle.reason));
    }

    void harmlessDevicesAreFine()
    {
        // /dev/null, /dev/zero, /dev/urandom and the like belong to every session.
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), QStringLiteral("/dev/urandom")}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(commandOf(cell) > 0 && fdTargets(commandOf(cell)).contains(QStringLiteral("/dev/urandom")));
        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));
    }

    void ioUringIsNamed()
    {
        io_uring_params parameters{};
        const UniqueFd probe(int(::syscall(SYS_io_uring_setup, 4, &parameters)));
        if (!probe) {
            REWIND_SKIP("io_uring is not available on this kernel");
        }
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), QStringLiteral("--io-uring")}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(commandOf(cell) > 0 && fdTargets(commandOf(cell)).contains(QStringLiteral("anon_inode:[io_uring]")));
        const pid_t holder = commandOf(cell);

        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        QCOMPARE(obstacles->first().pid, holder);
        QCOMPARE(obstacles->first().resource, QStringLiteral("anon_inode:[io_uring]"));
        QVERIFY2(obstacles->first().reason.contains(QLatin1String("io_uring")), qPrintable(obstacles->first().reason));
    }

    void kernelObjectsAsCriuSavesThem_data()
    {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<QString>("obstacle"); ///< the kernel object named; empty: none
        // CRIU saves eventfd, epoll, inotify, fanotify, signalfd, timerfd and
        // pidfd, and refuses every other anonymous inode.
        QTest::newRow("saved ones") << QStringLiteral("--saved-kernel-objects") << QString();
        QTest::newRow("userfaultfd") << QStringLiteral("--userfaultfd") << QStringLiteral("anon_inode:[userfaultfd]");
    }

    void kernelObjectsAsCriuSavesThem()
    {
        QFETCH(QString, mode);
        QFETCH(QString, obstacle);
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(HOLD_OPEN_PATH), mode}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        const QString heldLast = obstacle.isEmpty() ? QStringLiteral("anon_inode:[timerfd]") : obstacle;
        QTRY_VERIFY_WITH_TIMEOUT(commandOf(cell) > 0 && fdTargets(commandOf(cell)).contains(heldLast), 20000);
        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        if (obstacle.isEmpty()) {
            QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));
            return;
        }
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        QCOMPARE(obstacles->first().resource, obstacle);
        QVERIFY2(obstacles->first().reason.contains(QLatin1String("cannot save")), qPrintable(obstacles->first().reason));
    }

    void tracedProcessIsNamed()
    {
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(COUNTER_PATH), counterFile}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(cell.counter(counterFile) > 0);
        const pid_t counter = commandOf(cell);
        QVERIFY(counter > 0);

        // A tracer of its own, so that killing it detaches it.
        int ready[2];
        QCOMPARE(::pipe2(ready, O_CLOEXEC), 0);
        const pid_t tracer = ::fork();
        QVERIFY(tracer >= 0);
        if (tracer == 0) {
            ::close(ready[0]);
            const char state = ::ptrace(PTRACE_SEIZE, counter, nullptr, nullptr) == 0 ? 'T' : 'E';
            (void)!::write(ready[1], &state, 1);
            for (;;) {
                ::pause();
            }
        }
        ::close(ready[1]);
        char state = 0;
        const auto got = ::read(ready[0], &state, 1);
        ::close(ready[0]);
        const auto obstacles = CheckpointabilityScan::scan(cell.pid());
        ::kill(tracer, SIGKILL);
        ::waitpid(tracer, nullptr, 0);
        QCOMPARE(got, 1);
        QCOMPARE(state, 'T');

        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->size() == 1, qPrintable(CheckpointabilityScan::describe(*obstacles)));
        QCOMPARE(obstacles->first().pid, counter);
        QCOMPARE(obstacles->first().processName, QStringLiteral("rewind-test-counter"));
        QVERIFY2(obstacles->first().reason.contains(QStringLiteral("traced by")), qPrintable(obstacles->first().reason));
        QVERIFY2(obstacles->first().reason.contains(QStringLiteral("(pid %1)").arg(tracer)), qPrintable(obstacles->first().reason));

        // Once the tracer is gone, so is the obstacle.
        QTRY_VERIFY(CheckpointabilityScan::scan(cell.pid())->isEmpty());
    }

    void describeListsEveryObstacle()
    {
        const QList<Obstacle> obstacles{
            Obstacle{.pid = 42, .processName = QStringLiteral("xterm"), .resource = QStringLiteral("/dev/dri/card0"), .reason = QStringLiteral("first")},
            Obstacle{.pid = 43, .processName = QStringLiteral("gdb"), .resource = QString(), .reason = QStringLiteral("second")},
        };
        const QString described = CheckpointabilityScan::describe(obstacles);
        QVERIFY(described.contains(QLatin1String("2 problems")));
        QVERIFY(described.contains(QLatin1String("first")));
        QVERIFY(described.contains(QLatin1String("second")));
        QCOMPARE(described.count(QLatin1Char('\n')), 2);
    }
};

REWIND_TEST_GUILESS_MAIN(CheckpointabilityScanTest)
#include "CheckpointabilityScanTest.moc"
