// SPDX-License-Identifier: GPL-2.0-or-later
// Nothing lost, nothing stuck: a snapshot that is refused, that runs out of
// disk or whose process is killed with -9 leaves the session running and
// thawed and every earlier snapshot intact. Drives rewindctl as a user would.
#include "CgroupFreezer.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "TestSkip.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <csignal>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace Rewind;

namespace
{
const QString counterFile = QStringLiteral("/tmp/counter");

QByteArray specText(const QByteArray &extraApp = {})
{
    return "[Session]\nName=failing\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n"
           "[App counter]\nCommand=rewind-test-counter "
        + counterFile.toUtf8() + "\n" + extraApp;
}

long counterIn(pid_t initPid)
{
    return TestSessions::counterIn(initPid, counterFile);
}

/// Unmounts a tmpfs mounted for a test, also when the test fails.
struct TmpfsMount {
    QString path;
    ~TmpfsMount()
    {
        if (!path.isEmpty()) {
            ::umount2(QFile::encodeName(path).constData(), MNT_DETACH);
        }
    }
};

bool criuRuns()
{
    const auto entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        QFile comm(QStringLiteral("/proc/%1/comm").arg(entry));
        if (entry.toInt() > 0 && comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == "criu") {
            return true;
        }
    }
    return false;
}

/// The criu workers this process started (libcriu forks them from the caller).
QList<pid_t> criuChildren()
{
    QList<pid_t> children;
    const auto entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (entry.toInt() <= 0 || !stat.open(QIODevice::ReadOnly)) {
            continue;
        }
        const QByteArray line = stat.readAll();
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (line.contains("(criu)") && fields.size() > 1 && fields[1].toInt() == ::getpid()) {
            children.append(entry.toInt());
        }
    }
    return children;
}

} // namespace

class EngineFailureTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    const RewindPaths &m_paths = m_test.paths();
    QTemporaryDir m_specs{QStringLiteral("/var/tmp/rewind-specs-XXXXXX")};
    QTemporaryDir m_config{QStringLiteral("/var/tmp/rewind-config-XXXXXX")};

    QProcessEnvironment environment() const
    {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("REWIND_STATE_DIR"), m_paths.stateDirectory);
        environment.insert(QStringLiteral("REWIND_CGROUP_PARENT"), m_paths.cgroupParent);
        environment.insert(QStringLiteral("REWIND_LIBEXEC_DIR"), m_paths.libexecDirectory);
        environment.insert(QStringLiteral("REWIND_SESSIONS_DIR"), m_specs.path());
        environment.insert(QStringLiteral("REWIND_LIMITS_FILE"), m_config.filePath(QStringLiteral("limits.conf")));
        return environment;
    }

    struct Run {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    Run rewindctl(const QStringList &arguments, const QString &crashPoint = {}) const
    {
        QProcess process;
        QProcessEnvironment env = environment();
        if (!crashPoint.isEmpty()) {
            env.insert(QStringLiteral("REWIND_STORE_CRASH_POINT"), crashPoint);
        }
        process.setProcessEnvironment(env);
        process.start(QStringLiteral(BUILD_BIN_DIR "/rewindctl"), arguments);
        process.waitForFinished(120000);
        return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -9, process.readAllStandardOutput(), process.readAllStandardError()};
    }

    QJsonArray snapshots() const
    {
        return QJsonDocument::fromJson(rewindctl({QStringLiteral("--json"), QStringLiteral("list")}).out).array();
    }

    SessionRecord startSession(const QByteArray &extraApp = {})
    {
        auto spec = SessionSpec::parse(specText(extraApp), QStringLiteral("failing.conf"));
        if (!spec) {
            qWarning() << spec.errorMessage();
            return {};
        }
        auto record = m_sessions->start(*spec, 0);
        if (!record) {
            qWarning() << record.errorMessage();
            return {};
        }
        return *record;
    }

    /// Running, thawed and still counting.
    bool runsThawed(const QString &id)
    {
        auto record = m_sessions->session(id);
        if (!record || m_sessions->state(*record) != SessionState::Running) {
            return false;
        }
        const long value = counterIn(record->initPid);
        return QTest::qWaitFor(
            [&] {
                return counterIn(record->initPid) > value;
            },
            5000);
    }

    /// An earlier snapshot still restores: as a branch, which then counts on.
    bool restores(qint64 snapshotId)
    {
        const Run run = rewindctl({QStringLiteral("--json"), QStringLiteral("restore"), QString::number(snapshotId), QStringLiteral("--as-new")});
        if (run.exitCode != 0) {
            qWarning() << run.err;
            return false;
        }
        const QString branch = QJsonDocument::fromJson(run.out).object().value(QStringLiteral("id")).toString();
        const bool running = runsThawed(branch);
        (void)m_sessions->remove(branch);
        return running;
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        QVERIFY(m_test.isValid() && m_specs.isValid());
        QFile spec(m_specs.filePath(QStringLiteral("failing.conf")));
        QVERIFY(spec.open(QIODevice::WriteOnly));
        spec.write(specText());
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void badCommandLinesChangeNothing_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown spec") << QStringList{QStringLiteral("session"), QStringLiteral("start"), QStringLiteral("nosuchspec")} << 1
                                      << QStringLiteral("nosuchspec");
        QTest::newRow("spec path") << QStringList{QStringLiteral("session"), QStringLiteral("start"), QStringLiteral("../../etc/passwd")} << 1 << QString();
        QTest::newRow("unknown session") << QStringList{QStringLiteral("snapshot"), QStringLiteral("nosuch-1")} << 1 << QStringLiteral("nosuch-1");
        QTest::newRow("malformed session") << QStringList{QStringLiteral("snapshot"), QStringLiteral("../x")} << 1 << QStringLiteral("not a session id");
        QTest::newRow("huge session id") << QStringList{QStringLiteral("snapshot"), QString(100000, QLatin1Char('a'))} << 1
                                         << QStringLiteral("not a session id");
        QTest::newRow("unknown snapshot") << QStringList{QStringLiteral("restore"), QStringLiteral("424242")} << 1 << QStringLiteral("424242");
        QTest::newRow("malformed snapshot") << QStringList{QStringLiteral("restore"), QStringLiteral("12abc")} << 1 << QStringLiteral("not a snapshot id");
        QTest::newRow("negative snapshot") << QStringList{QStringLiteral("delete"), QStringLiteral("-3")} << 2 << QString();
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")} << 2 << QStringLiteral("usage");
        QTest::newRow("missing argument") << QStringList{QStringLiteral("restore")} << 2 << QStringLiteral("usage");
    }

    void badCommandLinesChangeNothing()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const auto sessionsBefore = m_sessions->sessions().size();
        const auto snapshotsBefore = snapshots();
        const Run run = rewindctl(arguments);
        QCOMPARE(run.exitCode, exitCode);
        QVERIFY2(QString::fromLocal8Bit(run.err).contains(message), run.err.constData());
        QVERIFY(!run.err.trimmed().isEmpty());
        QCOMPARE(m_sessions->sessions().size(), sessionsBefore);
        QCOMPARE(snapshots(), snapshotsBefore);
    }

    void malformedSpecNamesFileAndKey()
    {
        QFile spec(m_specs.filePath(QStringLiteral("broken.conf")));
        QVERIFY(spec.open(QIODevice::WriteOnly));
        spec.write("[Session]\nName=broken\n[Display]\nGeometri=800x600\n");
        spec.close();
        const Run run = rewindctl({QStringLiteral("session"), QStringLiteral("start"), QStringLiteral("broken")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("broken.conf") && run.err.contains("line 4") && run.err.contains("Geometri"), run.err.constData());
        QVERIFY(m_sessions->sessions().isEmpty());
    }

    void refusedSessionIsNeverFrozen()
    {
        // A listener outside the cell, on the shared root file system.
        QTemporaryDir outside(QStringLiteral("/var/tmp/rewind-outside-XXXXXX"));
        // Open to the session's user, as the host's buses are.
        QVERIFY(QFile::setPermissions(outside.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ExeGroup | QFile::ExeOther));
        const QByteArray socketPath = QFile::encodeName(outside.filePath(QStringLiteral("host.sock")));
        const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        qstrncpy(address.sun_path, socketPath.constData(), sizeof address.sun_path);
        QVERIFY(::bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
        QVERIFY(::chmod(socketPath.constData(), 0777) == 0);
        QVERIFY(::listen(listener, 8) == 0);
        auto closeListener = qScopeGuard([&] {
            ::close(listener);
        });

        const SessionRecord session = startSession("[App client]\nCommand=rewind-test-hold-open " + socketPath + "\n");
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY(counterIn(session.initPid) > 0);
        int accepted = -1;
        // QTRY_VERIFY checks once more at the end: accept only once.
        QTRY_VERIFY(accepted >= 0 || (accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0);
        auto closeAccepted = qScopeGuard([&] {
            ::close(accepted);
        });

        // Any write to cgroup.freeze would show up here.
        const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        QVERIFY(::inotify_add_watch(watch, QFile::encodeName(m_sessions->cgroupPath(session) + QStringLiteral("/cgroup.freeze")).constData(), IN_MODIFY) >= 0);
        auto closeWatch = qScopeGuard([&] {
            ::close(watch);
        });

        const Run run = rewindctl({QStringLiteral("snapshot"), session.id});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("rewind-test-hold-open") && run.err.contains(socketPath), run.err.constData());
        char events[4096];
        QCOMPARE(::read(watch, events, sizeof events), ssize_t(-1)); // nothing: never frozen
        QVERIFY(runsThawed(session.id));
        QVERIFY(snapshots().isEmpty());

        // The watch does see a freeze request, so its silence above means something.
        QVERIFY(CgroupFreezer::thaw(m_sessions->cgroupPath(session)).ok());
        QVERIFY(::read(watch, events, sizeof events) > 0);
    }

    void killedSnapshotLosesNothing_data()
    {
        QTest::addColumn<QString>("crashPoint");
        QTest::newRow("during the dump") << QString();
        QTest::newRow("while chunks are written") << QStringLiteral("after-first-chunk");
        QTest::newRow("before the catalog commit") << QStringLiteral("before-catalog");
    }

    void killedSnapshotLosesNothing()
    {
        QFETCH(QString, crashPoint);
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY(counterIn(session.initPid) > 0);
        const Run first = rewindctl({QStringLiteral("--json"), QStringLiteral("snapshot"), session.id});
        QCOMPARE(first.exitCode, 0);
        const qint64 earlier = QJsonDocument::fromJson(first.out).object().value(QStringLiteral("id")).toInteger();
        const QJsonArray before = snapshots();

        if (crashPoint.isEmpty()) {
            // kill -9 of rewindctl as soon as it froze the cell for the dump.
            const int watch = ::inotify_init1(IN_CLOEXEC);
            QVERIFY(::inotify_add_watch(watch, QFile::encodeName(m_sessions->cgroupPath(session) + QStringLiteral("/cgroup.freeze")).constData(), IN_MODIFY)
                    >= 0);
            auto closeWatch = qScopeGuard([&] {
                ::close(watch);
            });
            QProcess snapshot;
            snapshot.setProcessEnvironment(environment());
            snapshot.start(QStringLiteral(BUILD_BIN_DIR "/rewindctl"), {QStringLiteral("snapshot"), session.id});
            pollfd frozen{watch, POLLIN, 0};
            QCOMPARE(::poll(&frozen, 1, 30000), 1);
            ::kill(pid_t(snapshot.processId()), SIGKILL);
            QVERIFY(CgroupFreezer::isFreezeRequested(m_sessions->cgroupPath(session)).value());
            snapshot.waitForFinished();
            // CRIU, now an orphan, finishes or gives up on its own.
            QTRY_VERIFY_WITH_TIMEOUT(!criuRuns(), 30000);
            while (::waitpid(-1, nullptr, WNOHANG) > 0) { }
        } else {
            const Run killed = rewindctl({QStringLiteral("snapshot"), session.id}, crashPoint);
            QCOMPARE(killed.exitCode, -9);
        }

        // The next rewindctl thaws what was left frozen and clears the staging area.
        const Run list = rewindctl({QStringLiteral("--json"), QStringLiteral("list")});
        QCOMPARE(list.exitCode, 0);
        if (crashPoint.isEmpty()) {
            QVERIFY2(list.err.contains(session.id.toUtf8() + " had been left frozen"), list.err.constData());
        }
        QCOMPARE(QJsonDocument::fromJson(list.out).array(), before);
        QVERIFY(runsThawed(session.id));
        QVERIFY(QDir(m_paths.stagingDirectory()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
        const Run verify = rewindctl({QStringLiteral("verify")});
        QVERIFY2(verify.exitCode == 0, verify.err.constData());
        QVERIFY(restores(earlier));
    }

    void oneOperationAtATimePerSession()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY(counterIn(session.initPid) > 0);
        const QString cgroup = m_sessions->cgroupPath(session);
        const qsizetype snapshotsBefore = snapshots().size();

        // Hold a snapshot in the middle: stop its rewindctl right after it froze the cell.
        const int watch = ::inotify_init1(IN_CLOEXEC);
        QVERIFY(::inotify_add_watch(watch, QFile::encodeName(cgroup + QStringLiteral("/cgroup.freeze")).constData(), IN_MODIFY) >= 0);
        auto closeWatch = qScopeGuard([&] {
            ::close(watch);
        });
        QProcess first;
        first.setProcessEnvironment(environment());
        first.start(QStringLiteral(BUILD_BIN_DIR "/rewindctl"), {QStringLiteral("--json"), QStringLiteral("snapshot"), session.id});
        QVERIFY(first.waitForStarted());
        pollfd frozen{watch, POLLIN, 0};
        QCOMPARE(::poll(&frozen, 1, 30000), 1);
        ::kill(pid_t(first.processId()), SIGSTOP);
        auto resume = qScopeGuard([&] {
            ::kill(pid_t(first.processId()), SIGCONT);
        });

        // Another snapshot waits its turn; listing does not thaw a cell at work.
        const Run second = rewindctl({QStringLiteral("snapshot"), session.id});
        QCOMPARE(second.exitCode, 1);
        QVERIFY2(second.err.contains("busy"), second.err.constData());
        const Run list = rewindctl({QStringLiteral("list")});
        QCOMPARE(list.exitCode, 0);
        QVERIFY2(!list.err.contains("left frozen"), list.err.constData());
        const auto requested = CgroupFreezer::isFreezeRequested(cgroup);
        QVERIFY(requested.ok() && *requested);

        ::kill(pid_t(first.processId()), SIGCONT);
        QVERIFY(first.waitForFinished(60000));
        QCOMPARE(first.exitCode(), 0);
        QCOMPARE(snapshots().size(), snapshotsBefore + 1);
        QVERIFY(runsThawed(session.id));
    }

    void labelPinAndAutosaveFromTheCommandLine()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY(counterIn(session.initPid) > 0);

        const Run first = rewindctl({QStringLiteral("--json"), QStringLiteral("autosave"), session.id});
        QVERIFY2(first.exitCode == 0, first.err.constData());
        const QJsonObject taken = QJsonDocument::fromJson(first.out).object().value(QStringLiteral("taken")).toObject();
        QCOMPARE(taken.value(QStringLiteral("trigger")).toString(), QStringLiteral("scheduled"));
        const qint64 id = taken.value(QStringLiteral("id")).toInteger();
        // Not due again right away.
        const Run second = rewindctl({QStringLiteral("--json"), QStringLiteral("autosave"), session.id});
        QCOMPARE(second.exitCode, 0);
        QVERIFY(QJsonDocument::fromJson(second.out).object().value(QStringLiteral("taken")).isNull());

        QCOMPARE(rewindctl({QStringLiteral("label"), QString::number(id), QStringLiteral("before lunch")}).exitCode, 0);
        QCOMPARE(rewindctl({QStringLiteral("pin"), QString::number(id)}).exitCode, 0);
        bool found = false;
        const QJsonArray all = snapshots();
        for (const QJsonValue &value : all) {
            const QJsonObject snapshot = value.toObject();
            if (snapshot.value(QStringLiteral("id")).toInteger() == id) {
                found = true;
                QCOMPARE(snapshot.value(QStringLiteral("label")).toString(), QStringLiteral("before lunch"));
                QVERIFY(snapshot.value(QStringLiteral("pinned")).toBool());
            }
        }
        QVERIFY(found);
        const Run unknown = rewindctl({QStringLiteral("pin"), QStringLiteral("987654")});
        QCOMPARE(unknown.exitCode, 1);
        QVERIFY(unknown.err.contains("987654"));
    }

    void hungCriuIsStoppedAndTheSessionThawed()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(counterIn(session.initPid) > 0, 10000);
        auto store = SnapshotStore::open(m_paths.storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        SnapshotEngine engine(*m_sessions, **store);
        const auto earlier = engine.snapshot(session.id, QStringLiteral("earlier"), SnapshotTrigger::Manual);
        QVERIFY2(earlier.ok(), qPrintable(earlier.errorMessage()));

        // A criu that stops answering, as one reading a file system that never
        // answers would: stopped the moment it appears.
        std::atomic<bool> holding{true};
        std::atomic<int> stopped{0};
        std::thread stopper([&] {
            while (holding) {
                const auto children = criuChildren();
                for (const pid_t criu : children) {
                    stopped += ::kill(criu, SIGSTOP) == 0 ? 1 : 0;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
        engine.setCriuTimeLimit(std::chrono::seconds(2));
        QElapsedTimer timer;
        timer.start();
        const auto hung = engine.snapshot(session.id, QStringLiteral("hung"), SnapshotTrigger::Manual);
        const qint64 took = timer.elapsed();
        holding = false;
        stopper.join();
        QVERIFY(stopped > 0);
        QVERIFY(!hung.ok());
        QVERIFY2(hung.errorMessage().contains(QLatin1String("did not finish within 2 seconds")), qPrintable(hung.errorMessage()));
        // A CRIU that was stopped refused nothing: no miss of the scan.
        QVERIFY2(!hung.errorMessage().contains(QLatin1String("the scan missed")), qPrintable(hung.errorMessage()));
        QVERIFY2(took >= 2000 && took < 30000, qPrintable(QString::number(took)));
        QVERIFY(criuChildren().isEmpty());

        // Thawed, nothing stored, and the earlier snapshot is whole.
        const auto freezeRequested = CgroupFreezer::isFreezeRequested(m_sessions->cgroupPath(session));
        QVERIFY(freezeRequested.ok() && !freezeRequested.value());
        const auto listed = (*store)->list(session.id);
        QVERIFY2(listed.ok(), qPrintable(listed.errorMessage()));
        QCOMPARE(listed->size(), 1);
        QCOMPARE(listed->first().id, earlier->id);
        QVERIFY(restores(earlier->id));
    }

    void fullDiskKeepsEverything()
    {
        // The store on a tmpfs that has room for one snapshot, and then not for another.
        TmpfsMount mount;
        QDir(m_paths.stateDirectory).rename(QStringLiteral("store"), QStringLiteral("store-of-earlier-tests"));
        QVERIFY(QDir().mkpath(m_paths.storeDirectory()));
        QVERIFY(::mount("tmpfs", QFile::encodeName(m_paths.storeDirectory()).constData(), "tmpfs", 0, "size=12m,mode=0700") == 0);
        mount.path = m_paths.storeDirectory();

        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY(counterIn(session.initPid) > 0);
        // The default floor (1 GiB free) refuses before the freeze.
        const Run belowFloor = rewindctl({QStringLiteral("snapshot"), session.id});
        QCOMPARE(belowFloor.exitCode, 1);
        QVERIFY2(belowFloor.err.contains("must stay free"), belowFloor.err.constData());
        QVERIFY(runsThawed(session.id));
        QVERIFY(snapshots().isEmpty());
        // Then the disk itself is the limit.
        QFile limits(m_config.filePath(QStringLiteral("limits.conf")));
        QVERIFY(limits.open(QIODevice::WriteOnly) && limits.write("[Store]\nFreeSpaceFloor=4K\n") > 0);
        limits.close();
        const auto removeLimits = qScopeGuard([&limits] {
            limits.remove();
        });
        const Run first = rewindctl({QStringLiteral("--json"), QStringLiteral("snapshot"), session.id});
        QVERIFY2(first.exitCode == 0, first.err.constData());
        const qint64 earlier = QJsonDocument::fromJson(first.out).object().value(QStringLiteral("id")).toInteger();
        const QJsonArray before = snapshots();

        // Leave too little room for what a second session adds.
        QFile filler(m_paths.storeDirectory() + QStringLiteral("/filler"));
        QVERIFY(filler.open(QIODevice::WriteOnly));
        const QByteArray block(64 * 1024, 'f');
        while (filler.write(block) == block.size() && filler.flush()) { }
        filler.close();
        filler.resize(filler.size() - 256 * 1024);

        const SessionRecord other = startSession();
        QVERIFY(!other.id.isEmpty());
        QTRY_VERIFY(counterIn(other.initPid) > 0);
        const Run full = rewindctl({QStringLiteral("snapshot"), other.id});
        QCOMPARE(full.exitCode, 1);
        // Refused by the floor before the disk fills, or by the full disk itself.
        QVERIFY2(full.err.contains("full") || full.err.contains("must stay free"), full.err.constData());
        QVERIFY(runsThawed(other.id));
        QVERIFY(runsThawed(session.id));
        QCOMPARE(snapshots(), before);
        QVERIFY(QDir(m_paths.stagingDirectory()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
        QVERIFY(restores(earlier));
    }
};

REWIND_TEST_GUILESS_MAIN(EngineFailureTest)
#include "EngineFailureTest.moc"
