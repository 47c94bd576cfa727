// SPDX-License-Identifier: GPL-2.0-or-later
// What one user's sessions may take of the machine: so many processes and
// threads and so much memory, for all their cells together, kept by what
// the machine has (cgroup v2 controllers, else cgroup v1 hierarchies, else
// RLIMIT_NPROC). Real sessions of rewind-user: a fork bomb and a memory hog
// in a cell are stopped by the kernel at the limits while the rest of the
// session and the machine go on, and a restored session is limited as a
// started one.
#include "TestSkip.h"

#include "CellLimits.h"
#include "CgroupFiles.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestCgroupParent.h"
#include "TestSessions.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
const QString counterFile = QStringLiteral("/tmp/counter");

/// openbox, a counter, and APP once the test writes a line to /tmp/go.
SessionSpec specWith(const QByteArray &app)
{
    QByteArray text =
        "[Session]\nName=limited\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App counter]\nCommand=rewind-test-counter /tmp/counter\n";
    if (!app.isEmpty()) {
        text += "[App held]\nCommand=sh -c 'mkfifo /tmp/go && read go < /tmp/go && " + app + "'\n";
    }
    auto spec = SessionSpec::parse(text, QStringLiteral("limited.conf"));
    Q_ASSERT_X(spec.ok(), "specWith", qPrintable(spec.errorMessage()));
    return *spec;
}

/// Lets the held app of the session go: a line into its fifo, once it listens.
bool letGo(pid_t initPid)
{
    const QByteArray fifo = QFile::encodeName(SessionManager::cellPath(initPid, QStringLiteral("/tmp/go")));
    const int fd = ::open(fifo.constData(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return false; // not made yet, or nobody reads yet
    }
    const bool written = ::write(fd, "go\n", 3) == 3;
    ::close(fd);
    return written;
}

/// The cell's processes and its log, for a failure's message.
QByteArray describeCell(SessionManager &manager, const SessionRecord &record)
{
    QByteArray text;
    if (const auto processes = manager.processes(record.id)) {
        for (const SessionProcess &process : *processes) {
            text += QByteArray::number(process.pid) + ' ' + process.commandLine.toLocal8Bit() + '\n';
        }
    }
    QFile log(SessionManager::cellPath(record.initPid, QStringLiteral("/tmp/session.log")));
    return text + (log.open(QIODevice::ReadOnly) ? log.readAll().right(1500) : QByteArray());
}

/// How many forks the kernel refused the bomb, from its report "started N refused M".
long refusedForks(const QByteArray &report)
{
    const auto fields = report.simplified().split(' ');
    return fields.size() == 4 && fields[2] == "refused" ? fields[3].toLong() : 0;
}

QByteArray cellFile(pid_t initPid, const QString &path)
{
    QFile file(SessionManager::cellPath(initPid, path));
    return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
}

QList<pid_t> processesIn(const QString &cgroupDirectory)
{
    QList<pid_t> pids;
    const auto content = CgroupFiles::read(cgroupDirectory + QStringLiteral("/cgroup.procs"));
    if (content) {
        const auto lines = content->split('\n');
        for (const QByteArray &line : lines) {
            if (!line.trimmed().isEmpty()) {
                pids.append(pid_t(line.trimmed().toInt()));
            }
        }
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

/// Processes and threads of the processes PIDS.
qint64 tasksOf(const QList<pid_t> &pids)
{
    qint64 tasks = 0;
    for (pid_t pid : pids) {
        tasks += QDir(QStringLiteral("/proc/%1/task").arg(pid)).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size();
    }
    return tasks;
}

QString mechanismName(LimitMechanism mechanism)
{
    switch (mechanism) {
    case LimitMechanism::UnifiedCgroup:
        return QStringLiteral("cgroup v2");
    case LimitMechanism::LegacyCgroup:
        return QStringLiteral("cgroup v1");
    case LimitMechanism::ProcessLimit:
        return QStringLiteral("RLIMIT_NPROC");
    case LimitMechanism::None:
        return QStringLiteral("none");
    }
    return {};
}

MountEntry mountOf(const QString &type, const QString &mountPoint, const QStringList &options = {})
{
    return MountEntry{.root = QStringLiteral("/"), .mountPoint = mountPoint, .fsType = type, .source = type, .superOptions = options};
}

} // namespace

class CellLimitsTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_config{QStringLiteral("/var/tmp/rewind-cell-limits-XXXXXX")};
    TestSessions m_test;
    std::optional<CellLimits> m_limits;

    void writeLimits(const QByteArray &content)
    {
        QFile file(m_config.filePath(QStringLiteral("limits.conf")));
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        QCOMPARE(file.write(content), content.size());
    }

    SessionRecord start(const SessionSpec &spec)
    {
        auto record = m_test.manager().start(spec, userUid);
        if (!record) {
            qWarning("%s", qPrintable(record.errorMessage()));
            return {};
        }
        return *record;
    }

    /// The cell's directories in every hierarchy that limits it, the cgroup v2 one first.
    QStringList cellDirectories(const SessionRecord &record)
    {
        return QStringList{m_test.manager().cgroupPath(record)} + m_limits->legacyDirectories(record.ownerUid, record.id);
    }

    /// Every process of the cell is in each of its cgroups, and nothing else is.
    void verifyInItsCgroups(const SessionRecord &record)
    {
        const QStringList directories = cellDirectories(record);
        // One list is read after the other while a starting session forks:
        // they agree once it holds still, and never if a process is missing.
        QString lists;
        const auto listsAgree = [&] {
            lists.clear();
            const QList<pid_t> processes = processesIn(directories.first());
            bool agree = true;
            for (const QString &directory : directories) {
                const QList<pid_t> listed = processesIn(directory);
                agree = agree && listed == processes;
                lists += directory + QStringLiteral(": ") + QString::number(listed.size()) + QStringLiteral(" processes\n");
            }
            return agree;
        };
        QTRY_VERIFY2_WITH_TIMEOUT(listsAgree(), qPrintable(lists), 10000);
        QVERIFY2(processesIn(directories.first()).contains(record.initPid), qPrintable(directories.first()));
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        QVERIFY(m_config.isValid() && m_test.isValid());
        qputenv("REWIND_LIMITS_FILE", QFile::encodeName(m_config.filePath(QStringLiteral("limits.conf"))));
        auto limits = CellLimits::detect(m_test.paths().cgroupParent);
        QVERIFY2(limits.ok(), qPrintable(limits.errorMessage()));
        m_limits = *limits;
        qInfo("This machine limits cells with %s for processes and %s for memory: %s",
              qPrintable(mechanismName(m_limits->tasks())),
              qPrintable(mechanismName(m_limits->memory())),
              qPrintable(m_limits->describe()));
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void limitsAreReadWithDefaults()
    {
        writeLimits("");
        auto defaults = SessionLimits::read();
        QVERIFY(defaults.ok());
        QCOMPARE(defaults->tasksMax, 4096);
        QCOMPARE(defaults->memoryMaxBytes, SessionLimits::physicalMemory() / 4 * 3);
        writeLimits("[Sessions]\nTasksMax=300\nMemoryMax=1G\n");
        auto set = SessionLimits::read();
        QVERIFY(set.ok());
        QCOMPARE(set->tasksMax, 300);
        QCOMPARE(set->memoryMaxBytes, 1024LL * 1024 * 1024);
        writeLimits("[Sessions]\nMemoryMax=50%\n");
        QCOMPARE(SessionLimits::read()->memoryMaxBytes, SessionLimits::physicalMemory() / 100 * 50);
        for (const QByteArray wrong : {"TasksMax=many", "TasksMax=3", "MemoryMax=lots", "MemoryMax=101%", "MemoryMax=1K"}) {
            writeLimits("[Sessions]\n" + wrong + "\n");
            const auto refused = SessionLimits::read();
            QVERIFY2(!refused.ok(), wrong.constData());
            QVERIFY2(refused.errorMessage().contains(QString::fromLatin1(wrong.left(wrong.indexOf('=')))), qPrintable(refused.errorMessage()));
        }
    }

    void theUsersSliceComesFirst()
    {
        SessionLimits configured;
        configured.tasksMax = 500;
        configured.memoryMaxBytes = 1 << 30;
        // systemd's limits of the user where it sets them, the administrator's where it does not.
        const auto fromSlice = UserLimits::fromSlice(QStringLiteral("user-1500.slice"), "10813\n", "8589934592\n", configured);
        QCOMPARE(fromSlice.tasks, 10813);
        QCOMPARE(fromSlice.memoryBytes, 8589934592LL);
        QCOMPARE(fromSlice.tasksSource, QStringLiteral("user-1500.slice"));
        const auto unlimitedSlice = UserLimits::fromSlice(QStringLiteral("user-1500.slice"), "max\n", "max\n", configured);
        QCOMPARE(unlimitedSlice.tasks, 500);
        QCOMPARE(unlimitedSlice.memoryBytes, 1 << 30);
        QCOMPARE(unlimitedSlice.memorySource, SessionLimits::configFile());
        const auto noSlice = UserLimits::fromSlice(QStringLiteral("user-1500.slice"), QByteArray(), QByteArray(), configured);
        QCOMPARE(noSlice.tasks, 500);
    }

    void theBestMechanismIsChosen()
    {
        const QString parent = m_test.paths().cgroupParent;
        const auto unified = CellLimits::detect(parent, {mountOf(QStringLiteral("cgroup2"), QStringLiteral("/sys/fs/cgroup"))});
        QVERIFY2(unified.ok(), qPrintable(unified.errorMessage()));
        const QByteArray controllers = CgroupFiles::read(QStringLiteral("/sys/fs/cgroup/cgroup.controllers")).value();
        // Without a v1 hierarchy: the v2 controller if there is one, else RLIMIT_NPROC for processes and nothing for memory.
        QCOMPARE(unified->tasks(), controllers.contains("pids") ? LimitMechanism::UnifiedCgroup : LimitMechanism::ProcessLimit);
        QCOMPARE(unified->memory(), controllers.contains("memory") ? LimitMechanism::UnifiedCgroup : LimitMechanism::None);
        const auto hybrid =
            CellLimits::detect(parent,
                               {mountOf(QStringLiteral("cgroup2"), QStringLiteral("/sys/fs/cgroup")),
                                mountOf(QStringLiteral("cgroup"), QStringLiteral("/elsewhere/pids"), {QStringLiteral("rw"), QStringLiteral("pids")}),
                                mountOf(QStringLiteral("cgroup"), QStringLiteral("/elsewhere/memory"), {QStringLiteral("rw"), QStringLiteral("memory")})});
        QVERIFY(hybrid.ok());
        if (!controllers.contains("pids")) {
            QCOMPARE(hybrid->tasks(), LimitMechanism::LegacyCgroup);
            QCOMPARE(hybrid->legacyDirectories(userUid, QStringLiteral("cell")).first(),
                     QStringLiteral("/elsewhere/pids") + parent.mid(QStringLiteral("/sys/fs/cgroup").size()) + QStringLiteral("/user-1500/cell"));
        }
        if (!controllers.contains("memory")) {
            QCOMPARE(hybrid->memory(), LimitMechanism::LegacyCgroup);
        }
        const auto none = CellLimits::detect(parent, {mountOf(QStringLiteral("tmpfs"), QStringLiteral("/sys/fs/cgroup"))});
        QVERIFY(!none.ok());
        QVERIFY2(none.errorMessage().contains(QLatin1String("cgroup version 2")), qPrintable(none.errorMessage()));
    }

    void limitsLandInTheCgroupsTheMachineHas()
    {
        writeLimits("[Sessions]\nTasksMax=200\nMemoryMax=512M\n");
        const SessionRecord session = start(specWith({}));
        QVERIFY(!session.id.isEmpty());
        QCOMPARE(QFileInfo(m_test.manager().cgroupPath(session)).path(), CellLimits::userParent(m_test.paths().cgroupParent, userUid));
        verifyInItsCgroups(session);
        const QStringList userParents = m_limits->userParents(userUid);
        qsizetype legacy = 1;
        const auto expect = [&](LimitMechanism mechanism, const QString &unifiedFile, const QString &legacyFile, const QByteArray &value) {
            if (mechanism == LimitMechanism::UnifiedCgroup) {
                QCOMPARE(CgroupFiles::read(userParents.first() + QLatin1Char('/') + unifiedFile).value().trimmed(), value);
            } else if (mechanism == LimitMechanism::LegacyCgroup) {
                QCOMPARE(CgroupFiles::read(userParents.at(legacy++) + QLatin1Char('/') + legacyFile).value().trimmed(), value);
            }
        };
        expect(m_limits->tasks(), QStringLiteral("pids.max"), QStringLiteral("pids.max"), "200");
        expect(m_limits->memory(), QStringLiteral("memory.max"), QStringLiteral("memory.limit_in_bytes"), "536870912");
        if (m_limits->tasks() == LimitMechanism::ProcessLimit) {
            QFile limits(QStringLiteral("/proc/%1/limits").arg(session.initPid));
            QVERIFY(limits.open(QIODevice::ReadOnly));
            QVERIFY2(limits.readAll().simplified().contains("Max processes 200 200 processes"), "RLIMIT_NPROC of the cell");
        }
        QVERIFY(m_test.manager().stop(session.id).ok());
        for (const QString &directory : cellDirectories(session)) {
            QVERIFY2(!QFileInfo::exists(directory), qPrintable(directory));
        }
    }

    void aForkBombIsStoppedAtTheLimit()
    {
        constexpr qint64 limit = 64;
        writeLimits("[Sessions]\nTasksMax=64\n");
        const SessionRecord session = start(specWith("exec rewind-test-fork-bomb /tmp/bomb"));
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(TestSessions::counterIn(session.initPid, counterFile) > 0, 20000);
        // Once: QTRY checks its condition again after it held, and the app no longer listens then.
        bool released = false;
        QTRY_VERIFY2_WITH_TIMEOUT(released || (released = letGo(session.initPid)), describeCell(m_test.manager(), session).constData(), 20000);
        // The kernel refuses the bomb's forks: it reached the limit.
        QTRY_VERIFY_WITH_TIMEOUT(refusedForks(cellFile(session.initPid, QStringLiteral("/tmp/bomb"))) > 0, 20000);
        qInfo("The bomb: %s", cellFile(session.initPid, QStringLiteral("/tmp/bomb")).constData());
        // For a second of the counter's (which keeps counting), the cell stays at the limit while the bomb keeps trying.
        const long from = TestSessions::counterIn(session.initPid, counterFile);
        qint64 most = 0;
        while (TestSessions::counterIn(session.initPid, counterFile) < from + 100) {
            // The cell's init, the cell's root, is counted apart where RLIMIT_NPROC counts per user.
            const qint64 tasks = tasksOf(processesIn(m_test.manager().cgroupPath(session)));
            most = std::max(most, tasks);
            QVERIFY2(tasks <= limit + (m_limits->tasks() == LimitMechanism::ProcessLimit ? 1 : 0), qPrintable(QString::number(tasks)));
            QTest::qWait(10);
        }
        qInfo("At most %lld processes and threads in the cell, limit %lld", most, limit);
        QVERIFY(most >= limit - 8);
        // The rest of the machine answers: the engine, and a new process of ours.
        QCOMPARE(m_test.manager().state(*m_test.manager().session(session.id)), SessionState::Running);
        const auto listed = m_test.manager().processes(session.id);
        QVERIFY2(listed.ok(), qPrintable(listed.errorMessage()));
        QVERIFY(listed->size() > limit / 2);
        QProcess machine;
        machine.start(QStringLiteral("true"));
        QVERIFY(machine.waitForFinished(10000) && machine.exitCode() == 0);
        // And the session stops as any other, its cgroups gone in every hierarchy.
        auto stopped = m_test.manager().stop(session.id);
        QVERIFY2(stopped.ok(), qPrintable(stopped.errorMessage()));
        QCOMPARE(m_test.manager().state(*m_test.manager().session(session.id)), SessionState::Stopped);
        for (const QString &directory : cellDirectories(session)) {
            QVERIFY2(!QFileInfo::exists(directory), qPrintable(directory));
        }
    }

    void processLimitHoldsWithoutAPidsController()
    {
        // What a machine without any pids controller gets: RLIMIT_NPROC in a cell of its own.
        TestCgroupParent parent;
        QVERIFY(QDir().mkpath(parent.path() + QStringLiteral("/cell")));
        const QTemporaryDir report(QStringLiteral("/var/tmp/rewind-bomb-XXXXXX"));
        QVERIFY(report.isValid());
        QVERIFY(::chmod(QFile::encodeName(report.path()).constData(), 0777) == 0);
        QString error;
        TestCell cell =
            TestCell::startWith({QStringLiteral("--cgroup"), parent.path() + QStringLiteral("/cell"), QStringLiteral("--max-processes"), QStringLiteral("24")},
                                {QStringLiteral(BUILD_BIN_DIR "/rewind-test-fork-bomb"), report.filePath(QStringLiteral("bomb"))},
                                &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        const auto bomb = [&] {
            QFile file(report.filePath(QStringLiteral("bomb")));
            return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
        };
        QTRY_VERIFY_WITH_TIMEOUT(refusedForks(bomb()) > 0, 20000);
        const qint64 tasks = tasksOf(processesIn(parent.path() + QStringLiteral("/cell")));
        qInfo("The bomb under RLIMIT_NPROC 24: %s; %lld processes in the cell", bomb().constData(), tasks);
        QVERIFY2(tasks <= 24, qPrintable(QString::number(tasks)));
    }

    void aMemoryHogIsKilledInsideItsCell()
    {
        if (m_limits->memory() == LimitMechanism::None) {
            REWIND_SKIP("this machine has no memory controller, neither in cgroup v2 nor in a cgroup v1 hierarchy");
        }
        writeLimits("[Sessions]\nMemoryMax=192M\n");
        const SessionRecord session = start(specWith("rewind-test-memory-hog /tmp/hog; echo $? > /tmp/hog-status"));
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(TestSessions::counterIn(session.initPid, counterFile) > 0, 20000);
        // Once: QTRY checks its condition again after it held, and the app no longer listens then.
        bool released = false;
        QTRY_VERIFY2_WITH_TIMEOUT(released || (released = letGo(session.initPid)), describeCell(m_test.manager(), session).constData(), 20000);
        // The kernel's OOM killer ends the hog (SIGKILL: 128 + 9) within the cell's limit.
        QTRY_COMPARE_WITH_TIMEOUT(cellFile(session.initPid, QStringLiteral("/tmp/hog-status")), QByteArray("137"), 60000);
        const long held = cellFile(session.initPid, QStringLiteral("/tmp/hog")).toLong();
        qInfo("The hog held %ld MiB when it was killed (limit 192 MiB)", held);
        QVERIFY(held > 16 && held <= 192);
        // The kill is counted where the hog was, in the cell's memory cgroup.
        const bool unified = m_limits->memory() == LimitMechanism::UnifiedCgroup;
        const QString cell = unified ? m_test.manager().cgroupPath(session) : m_limits->legacyDirectories(userUid, session.id).constLast();
        const QByteArray events = CgroupFiles::read(cell + (unified ? QStringLiteral("/memory.events") : QStringLiteral("/memory.oom_control"))).value();
        QVERIFY2(events.contains("\noom_kill ") && !events.contains("\noom_kill 0"), events.constData());
        // The rest of the session goes on.
        const long value = TestSessions::counterIn(session.initPid, counterFile);
        QTRY_VERIFY(TestSessions::counterIn(session.initPid, counterFile) > value);
        QCOMPARE(m_test.manager().state(*m_test.manager().session(session.id)), SessionState::Running);
        QVERIFY(m_test.manager().stop(session.id).ok());
    }

    void aRestoredSessionIsLimitedAsAStartedOne()
    {
        writeLimits("[Sessions]\nTasksMax=150\nMemoryMax=768M\n");
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        SnapshotEngine engine(m_test.manager(), **store);
        const SessionRecord session = start(specWith({}));
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(TestSessions::counterIn(session.initPid, counterFile) > 0, 20000);
        auto snapshot = engine.snapshot(session.id, {}, SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));

        for (const RestoreMode mode : {RestoreMode::AsNewSession, RestoreMode::InPlace}) {
            auto restored = engine.restore(snapshot->id, mode);
            QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
            const SessionRecord &record = restored->session;
            const long value = TestSessions::counterIn(record.initPid, counterFile);
            QTRY_VERIFY(TestSessions::counterIn(record.initPid, counterFile) > value);
            // The whole restored tree, and only it, is in the cell's cgroups of every hierarchy, below the user's limits.
            verifyInItsCgroups(record);
            QVERIFY(!processesIn(m_test.manager().cgroupPath(record)).contains(::getpid()));
            for (const QString &directory : m_limits->legacyDirectories(userUid, record.id)) {
                QVERIFY(!processesIn(directory).contains(::getpid()));
            }
            if (m_limits->tasks() == LimitMechanism::ProcessLimit) {
                QFile limits(QStringLiteral("/proc/%1/limits").arg(record.initPid));
                QVERIFY(limits.open(QIODevice::ReadOnly));
                QVERIFY(limits.readAll().simplified().contains("Max processes 150 150 processes"));
            }
        }
    }
};

REWIND_TEST_GUILESS_MAIN(CellLimitsTest)
#include "CellLimitsTest.moc"
