// SPDX-License-Identifier: GPL-2.0-or-later
// The cells' cgroups and their freezer: a frozen counter stops counting and
// carries on when thawed, a FreezeGuard always thaws, a cell left frozen by
// a killed process is found and thawed, a freeze that is not confirmed
// in time is undone, and no freeze is held while a process waits in vfork().
#include "CgroupFreezer.h"
#include "Cgroup.h"
#include "FreezeGuard.h"
#include "TestCell.h"
#include "TestCgroupParent.h"
#include "TestSkip.h"
#include "VforkWaits.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;
using namespace std::chrono_literals;

// Compares what a freezer query found, and fails the test instead of
// crashing when the query itself failed.
#define COMPARE_STATE(query, expected)                                                                                                                         \
    do {                                                                                                                                                       \
        const auto queried = (query);                                                                                                                          \
        QVERIFY2(queried.ok(), qPrintable(queried.errorMessage()));                                                                                            \
        QCOMPARE(*queried, expected);                                                                                                                          \
    } while (false)

namespace
{
const QString counterFile = QStringLiteral("/tmp/counter");

/// Makes opening FILE fail (EACCES) until this goes away: a device node on a
/// nodev file system of its own is bound over it.
class BlockedFile
{
public:
    explicit BlockedFile(const QString &file)
        : m_file(QFile::encodeName(file))
        , m_directory(QStringLiteral("/var/tmp/rewind-test-block-XXXXXX"))
    {
        if (!m_directory.isValid()) {
            return;
        }
        const QByteArray directory = QFile::encodeName(m_directory.path());
        if (::mount("tmpfs", directory.constData(), "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC, "size=64k") != 0) {
            return;
        }
        m_tmpfs = directory;
        const QByteArray node = directory + "/null";
        if (::mknod(node.constData(), S_IFCHR | 0666, ::makedev(1, 3)) != 0) {
            return;
        }
        m_bound = ::mount(node.constData(), m_file.constData(), nullptr, MS_BIND, nullptr) == 0;
    }
    ~BlockedFile()
    {
        if (m_bound) {
            ::umount2(m_file.constData(), MNT_DETACH);
        }
        if (!m_tmpfs.isEmpty()) {
            ::umount2(m_tmpfs.constData(), MNT_DETACH);
        }
    }
    BlockedFile(const BlockedFile &) = delete;
    BlockedFile &operator=(const BlockedFile &) = delete;

    bool valid() const
    {
        return m_bound;
    }

private:
    QByteArray m_file;
    QTemporaryDir m_directory;
    QByteArray m_tmpfs;
    bool m_bound = false;
};

/// Whether the counter in CELL stays the same for 100 ms.
bool counterStandsStill(const TestCell &cell)
{
    const long before = cell.counter(counterFile);
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 100) {
        QTest::qWait(10);
    }
    return before > 0 && cell.counter(counterFile) == before;
}

/// Freezes through a guard and then gives up half-way, as error paths do.
Result<void> freezeAndFail(const QString &cgroupDir, bool *wasFrozen)
{
    auto guard = FreezeGuard::freeze(cgroupDir);
    if (!guard) {
        return guard.error();
    }
    const auto frozen = CgroupFreezer::isFrozen(cgroupDir);
    *wasFrozen = frozen.ok() && *frozen;
    return Error{QStringLiteral("something after the freeze failed")};
}
}

class CgroupFreezerTest : public QObject
{
    Q_OBJECT

private:
    // What most tests start from; cleanup() ends the cell before its cgroups go.
    std::unique_ptr<TestCgroupParent> m_parent;
    std::optional<Cgroup> m_cgroup;
    std::optional<TestCell> m_cell;
    QString m_setUpError;

    /// A cgroup NAME under a parent of the test's own, with a cell in it running COMMAND.
    bool startCell(const QString &name, const QStringList &command)
    {
        m_parent = std::make_unique<TestCgroupParent>();
        auto cgroup = Cgroup::create(m_parent->path(), name);
        if (!cgroup) {
            m_setUpError = cgroup.errorMessage();
            return false;
        }
        m_cgroup = *cgroup;
        m_cell = TestCell::startInCgroup(m_cgroup->path(), command, &m_setUpError);
        return m_cell->valid();
    }

    /// The same, with a cell whose counter counts.
    bool startCountingCell(const QString &name)
    {
        if (!startCell(name, {QStringLiteral(COUNTER_PATH), counterFile})) {
            return false;
        }
        if (!QTest::qWaitFor([this] {
                return m_cell->counter(counterFile) > 0;
            })) {
            m_setUpError = QStringLiteral("the cell's counter did not start counting");
            return false;
        }
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
    }

    void cleanup()
    {
        m_cell.reset();
        m_cgroup.reset();
        m_parent.reset();
    }

    void cgroupNamesAreValidated_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("dot-dot") << QStringLiteral("../x") << false;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("65 characters") << QString(65, QLatin1Char('a')) << false;
        QTest::newRow("upper case") << QStringLiteral("A") << false;
        QTest::newRow("slash") << QStringLiteral("a/b") << false;
        QTest::newRow("newline") << QStringLiteral("a\n") << false;
        QTest::newRow("64 characters") << QString(64, QLatin1Char('a')) << true;
        QTest::newRow("plain") << QStringLiteral("cell-1") << true;
    }

    void cgroupNamesAreValidated()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        TestCgroupParent parent;
        QCOMPARE(Cgroup::isValidName(name), valid);
        const auto created = Cgroup::create(parent.path(), name);
        QCOMPARE(created.ok(), valid);
        if (valid) {
            QVERIFY(created->exists());
            QCOMPARE(created->path(), parent.path() + QLatin1Char('/') + name);
        } else {
            QVERIFY(!created.errorMessage().isEmpty());
            QCOMPARE(QDir(parent.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot), QStringList());
        }
    }

    void cgroupIsCreatedOpenedAndRemoved()
    {
        TestCgroupParent parent;
        QVERIFY(!QFileInfo::exists(parent.path()));
        auto created = Cgroup::create(parent.path(), QStringLiteral("cell"));
        QVERIFY2(created.ok(), qPrintable(created.errorMessage()));
        QCOMPARE(QFileInfo(parent.path()).permissions() & QFile::WriteGroup, QFileDevice::Permissions());
        QVERIFY(QFileInfo::exists(created->path() + QStringLiteral("/cgroup.procs")));
        QVERIFY(!Cgroup::create(parent.path(), QStringLiteral("cell")).ok());

        auto opened = Cgroup::open(parent.path(), QStringLiteral("cell"));
        QVERIFY2(opened.ok(), qPrintable(opened.errorMessage()));
        QVERIFY(opened->exists());
        QVERIFY(!Cgroup::open(parent.path(), QStringLiteral("other")).ok());
        const auto processes = opened->processes();
        QVERIFY2(processes.ok(), qPrintable(processes.errorMessage()));
        QVERIFY(processes->isEmpty());

        QVERIFY2(opened->remove().ok(), "removing an empty cgroup");
        QVERIFY(!created->exists());
        QVERIFY(!Cgroup::open(parent.path(), QStringLiteral("cell")).ok());
    }

    void cgroupRefusesSymlinkedParent()
    {
        TestCgroupParent parent;
        QVERIFY(Cgroup::create(parent.path(), QStringLiteral("real")).ok());
        const QString link = QStringLiteral("/run/rewind-test-link-%1").arg(::getpid());
        QVERIFY(QFile::link(parent.path(), link));
        const auto created = Cgroup::create(link, QStringLiteral("cell"));
        const auto opened = Cgroup::open(link, QStringLiteral("real"));
        QFile::remove(link);
        QVERIFY(!created.ok());
        QVERIFY2(created.errorMessage().contains(QLatin1String("symbolic link")), qPrintable(created.errorMessage()));
        QVERIFY(!opened.ok());
        QVERIFY(!QFileInfo::exists(parent.path() + QStringLiteral("/cell")));
    }

    void cgroupRefusesParentOutsideCgroupFileSystem()
    {
        const auto created = Cgroup::create(QStringLiteral("/run"), QStringLiteral("cell"));
        QVERIFY(!created.ok());
        QVERIFY(!QFileInfo::exists(QStringLiteral("/run/cell")));
    }

    void killAllEmptiesTheCgroup()
    {
        QVERIFY2(startCountingCell(QStringLiteral("cell")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        const auto before = cgroup.processes();
        QVERIFY2(before.ok(), qPrintable(before.errorMessage()));
        QVERIFY(before->contains(cell.pid()));
        QCOMPARE(before->size(), 2); // the init and the counter
        QVERIFY(!cgroup.remove().ok());

        const auto killed = cgroup.killAll();
        QVERIFY2(killed.ok(), qPrintable(killed.errorMessage()));
        const auto after = cgroup.processes();
        QVERIFY2(after.ok(), qPrintable(after.errorMessage()));
        QVERIFY(after->isEmpty());
        const auto removed = cgroup.remove();
        QVERIFY2(removed.ok(), qPrintable(removed.errorMessage()));
    }

    void frozenCounterStopsAndThawedCarriesOn()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        QVERIFY(!counterStandsStill(cell));

        const auto frozen = CgroupFreezer::freeze(cgroup.path());
        QVERIFY2(frozen.ok(), qPrintable(frozen.errorMessage()));
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);
        QVERIFY(counterStandsStill(cell));
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);

        const long whenFrozen = cell.counter(counterFile);
        const auto thawed = CgroupFreezer::thaw(cgroup.path());
        QVERIFY2(thawed.ok(), qPrintable(thawed.errorMessage()));
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        QTRY_VERIFY(cell.counter(counterFile) > whenFrozen);
    }

    void freezeLatencyIsMeasured()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        QList<qint64> latencies;
        QList<qint64> frozenFor;
        // The kernel announces changes of cgroup.events at most about every
        // 10 ms, so the rounds are as far apart as a snapshot schedule would
        // make them at least: a round ends when the counter counted on.
        for (int round = 0; round < 20; ++round) {
            auto guard = FreezeGuard::freeze(cgroup.path());
            QVERIFY2(guard.ok(), qPrintable(guard.errorMessage()));
            COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);
            QVERIFY(guard->isHeld());
            const auto thawed = guard->thaw();
            QVERIFY2(thawed.ok(), qPrintable(thawed.errorMessage()));
            QVERIFY(!guard->isHeld());
            QVERIFY(guard->freezeLatency() > 0us);
            QVERIFY(guard->frozenFor() >= guard->freezeLatency());
            latencies.append(guard->freezeLatency().count());
            frozenFor.append(guard->frozenFor().count());
            const long thawedAt = cell.counter(counterFile);
            QTRY_VERIFY(cell.counter(counterFile) > thawedAt + 1);
        }
        std::sort(latencies.begin(), latencies.end());
        std::sort(frozenFor.begin(), frozenFor.end());
        qInfo("freeze confirmed after (µs): min %lld, median %lld, max %lld; frozen for (µs, freeze + thaw): median %lld, max %lld",
              latencies.first(),
              latencies.at(latencies.size() / 2),
              latencies.last(),
              frozenFor.at(frozenFor.size() / 2),
              frozenFor.last());
        QVERIFY(latencies.at(latencies.size() / 2) < 1000000);
    }

    void freezeGuardThawsOnScopeExit()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        long whenFrozen = 0;
        {
            auto guard = FreezeGuard::freeze(cgroup.path());
            QVERIFY2(guard.ok(), qPrintable(guard.errorMessage()));
            FreezeGuard moved = std::move(*guard);
            QVERIFY(!guard->isHeld());
            QVERIFY(moved.isHeld());
            COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);
            whenFrozen = cell.counter(counterFile);
        }
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup.path()), false);
        QTRY_VERIFY(cell.counter(counterFile) > whenFrozen);
    }

    void freezeGuardThawsOnErrorPath()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        bool wasFrozen = false;
        const auto result = freezeAndFail(cgroup.path(), &wasFrozen);
        QVERIFY(!result.ok());
        QVERIFY(wasFrozen);
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        const long afterError = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > afterError);
    }

    void thawIsAskedForWhenItsStateCannotBeRead()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;
        const auto frozen = CgroupFreezer::freeze(cgroup.path());
        QVERIFY2(frozen.ok(), qPrintable(frozen.errorMessage()));

        {
            BlockedFile events(cgroup.path() + QStringLiteral("/cgroup.events"));
            QVERIFY(events.valid());
            QVERIFY(!CgroupFreezer::isFrozen(cgroup.path()).ok());
            const auto thawed = CgroupFreezer::thaw(cgroup.path(), 100ms);
            QVERIFY(!thawed.ok());
            QVERIFY2(thawed.errorMessage().contains(cgroup.path()), qPrintable(thawed.errorMessage()));
            COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup.path()), false);
        }
        QTRY_VERIFY(CgroupFreezer::isFrozen(cgroup.path()).ok() && !*CgroupFreezer::isFrozen(cgroup.path()));
        const long thawedAt = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > thawedAt);
    }

    void freezeGuardThawsLaterWhenThawCannotBeAskedFor()
    {
        QVERIFY2(startCountingCell(QStringLiteral("counter")), qPrintable(m_setUpError));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        long whenFrozen = 0;
        {
            auto guard = FreezeGuard::freeze(cgroup.path());
            QVERIFY2(guard.ok(), qPrintable(guard.errorMessage()));
            {
                BlockedFile freezer(cgroup.path() + QStringLiteral("/cgroup.freeze"));
                QVERIFY(freezer.valid());
                const auto thawed = guard->thaw();
                QVERIFY(!thawed.ok());
                QVERIFY2(thawed.errorMessage().contains(QLatin1String("freezer")), qPrintable(thawed.errorMessage()));
                QVERIFY(guard->isHeld());
            }
            COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);
            QVERIFY(counterStandsStill(cell));
            whenFrozen = cell.counter(counterFile);
        }
        COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup.path()), false);
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        QTRY_VERIFY(cell.counter(counterFile) > whenFrozen);
    }

    void leftoverFreezeOfKilledProcessIsThawed()
    {
        QVERIFY2(startCountingCell(QStringLiteral("leftover")), qPrintable(m_setUpError));
        auto running = Cgroup::create(m_parent->path(), QStringLiteral("running"));
        QVERIFY2(running.ok(), qPrintable(running.errorMessage()));
        Cgroup &cgroup = *m_cgroup;
        TestCell &cell = *m_cell;

        int ready[2];
        QCOMPARE(::pipe2(ready, O_CLOEXEC), 0);
        const pid_t freezer = ::fork();
        QVERIFY(freezer >= 0);
        if (freezer == 0) {
            ::close(ready[0]);
            auto guard = FreezeGuard::freeze(cgroup.path());
            const char state = guard.ok() ? 'F' : 'E';
            (void)!::write(ready[1], &state, 1);
            for (;;) {
                ::pause();
            }
        }
        ::close(ready[1]);
        char state = 0;
        const auto got = ::read(ready[0], &state, 1);
        ::close(ready[0]);
        ::kill(freezer, SIGKILL);
        ::waitpid(freezer, nullptr, 0);
        QCOMPARE(got, 1);
        QCOMPARE(state, 'F');

        // Its guard died with it: the cell stays frozen until someone thaws it.
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), true);
        QVERIFY(counterStandsStill(cell));

        QCOMPARE(CgroupFreezer::thawLeftovers(m_parent->path()), QStringList{QStringLiteral("leftover")});
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup.path()), false);
        const long thawedAt = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > thawedAt);
        QCOMPARE(CgroupFreezer::thawLeftovers(m_parent->path()), QStringList());
    }

    void unconfirmedFreezeTimesOutAndThaws()
    {
        TestCgroupParent parent;
        auto cgroup = Cgroup::create(parent.path(), QStringLiteral("stuck"));
        QVERIFY2(cgroup.ok(), qPrintable(cgroup.errorMessage()));
        QString error;
        TestCell cell = TestCell::startInCgroup(cgroup->path(), {QStringLiteral(COUNTER_PATH), counterFile}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(cell.counter(counterFile) > 0);
        // rewind-test-stuck waits where the freezer cannot stop it, like a
        // process on a hung network file system: the freeze is never confirmed.
        // It joins from outside the cell: a cell's user namespace may not
        // have userfaultfd handle faults of the kernel's own accesses.
        QProcess stuck;
        stuck.start(QStringLiteral(STUCK_PATH));
        QVERIFY(stuck.waitForStarted());
        const auto killStuck = qScopeGuard([&stuck] {
            stuck.kill();
            stuck.waitForFinished();
        });
        QFile procs(cgroup->path() + QStringLiteral("/cgroup.procs"));
        QVERIFY(procs.open(QIODevice::WriteOnly));
        QVERIFY(procs.write(QByteArray::number(stuck.processId())) > 0 && procs.flush());
        const auto stuckInKernel = [&cgroup] {
            const auto pids = cgroup->processes();
            for (const pid_t pid : pids.ok() ? *pids : QList<pid_t>()) {
                QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
                if (stat.open(QIODevice::ReadOnly)) {
                    const QByteArray line = stat.readAll();
                    if (line.contains("(rewind-test-stu) D ")) {
                        return true;
                    }
                }
            }
            return false;
        };
        QTRY_VERIFY(stuckInKernel());

        QElapsedTimer timer;
        timer.start();
        const auto frozen = CgroupFreezer::freeze(cgroup->path(), 300ms);
        const qint64 took = timer.elapsed();
        QVERIFY(!frozen.ok());
        QVERIFY2(frozen.errorMessage().contains(QLatin1String("runs on")), qPrintable(frozen.errorMessage()));
        QVERIFY2(took >= 300 && took < 2000, qPrintable(QString::number(took)));
        COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup->path()), false);
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup->path()), false);
        const long afterTimeout = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > afterTimeout);

        // The same through a guard: no guard, nothing left frozen.
        const auto guard = FreezeGuard::freeze(cgroup->path(), 50ms);
        QVERIFY(!guard.ok());
        COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup->path()), false);
    }

    // A freeze that catches a parent waiting for its vfork() child is no
    // freeze CRIU can seize: the guard undoes it, waits for the child
    // to exec or exit, and freezes again; a wait that never ends fails
    // clearly and leaves the cell running.
    void freezeGuardWaitsOutAVforkParent()
    {
        const QString fifo = QStringLiteral("/tmp/release");
        QVERIFY2(startCell(QStringLiteral("vfork"), {QStringLiteral(VFORK_WAITER_PATH), fifo}), qPrintable(m_setUpError));
        const Cgroup *cgroup = &*m_cgroup;
        const auto vforkWaits = [&cgroup] {
            const auto waiting = VforkWaits::inCgroup(cgroup->path());
            return waiting.ok() ? waiting->size() : -1;
        };
        QTRY_COMPARE(vforkWaits(), 1);

        QElapsedTimer timer;
        timer.start();
        const auto stuck = FreezeGuard::freeze(cgroup->path(), 300ms);
        const qint64 took = timer.elapsed();
        QVERIFY(!stuck.ok());
        QVERIFY2(stuck.errorMessage().contains(QLatin1String("waiting for a program it starts")), qPrintable(stuck.errorMessage()));
        QVERIFY2(stuck.errorMessage().contains(QLatin1String("rewind-test-vfo")), qPrintable(stuck.errorMessage()));
        QVERIFY2(took >= 300 && took < 2000, qPrintable(QString::number(took)));
        COMPARE_STATE(CgroupFreezer::isFreezeRequested(cgroup->path()), false);
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup->path()), false);

        // The child gets its byte and exits: the parent moves on, and the freeze holds.
        const QByteArray fifoOutside = QFile::encodeName(QStringLiteral("/proc/%1/root%2").arg(m_cell->pid()).arg(fifo));
        const int release = ::open(fifoOutside.constData(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        QVERIFY2(release >= 0, std::strerror(errno));
        QCOMPARE(::write(release, "x", 1), 1);
        ::close(release);
        QTRY_COMPARE(vforkWaits(), 0);
        auto guard = FreezeGuard::freeze(cgroup->path());
        QVERIFY2(guard.ok(), qPrintable(guard.errorMessage()));
        QCOMPARE(guard->attempts(), 1);
        COMPARE_STATE(CgroupFreezer::isFrozen(cgroup->path()), true);
    }

    // dash starts every command with vfork(): a shell loop is caught in that
    // wait by up to one freeze in thirty here. No guard may hold such a freeze.
    void freezeGuardNeverHoldsAShellInVfork()
    {
        const QStringList loop{QStringLiteral("/bin/sh"),
                               QStringLiteral("-c"),
                               QStringLiteral("i=0; while :; do i=$((i+1)); echo $i > %1; sleep 0.01; done").arg(counterFile)};
        QVERIFY2(startCell(QStringLiteral("shell"), loop), qPrintable(m_setUpError));
        const Cgroup *cgroup = &*m_cgroup;
        QTRY_VERIFY(m_cell->counter(counterFile) > 0);

        int retried = 0;
        for (int round = 0; round < 300; ++round) {
            auto guard = FreezeGuard::freeze(cgroup->path());
            QVERIFY2(guard.ok(), qPrintable(guard.errorMessage()));
            const auto waiting = VforkWaits::inCgroup(cgroup->path());
            QVERIFY2(waiting.ok(), qPrintable(waiting.errorMessage()));
            if (!waiting->isEmpty()) {
                QFAIL(qPrintable(QStringLiteral("round %1: %2 (%3) waits in vfork()").arg(round).arg(waiting->first().parent).arg(waiting->first().command)));
            }
            retried += guard->attempts() > 1 ? 1 : 0;
            const auto thawed = guard->thaw();
            QVERIFY2(thawed.ok(), qPrintable(thawed.errorMessage()));
        }
        qInfo("%d of 300 freezes caught the shell in vfork() and were done again", retried);
        const long afterRounds = m_cell->counter(counterFile);
        QTRY_VERIFY(m_cell->counter(counterFile) > afterRounds);
    }
};

REWIND_TEST_GUILESS_MAIN(CgroupFreezerTest)
#include "CgroupFreezerTest.moc"
