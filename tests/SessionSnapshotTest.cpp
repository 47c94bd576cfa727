// SPDX-License-Identifier: GPL-2.0-or-later
// The engine end to end, with real cells, a real X session (Xvnc, openbox,
// xterm, a Qt app) and real CRIU: snapshot, restore in place, branch,
// recovery after kill -9, refusal, damaged snapshots and dedup.
#include "CellLimits.h"
#include "Cgroup.h"
#include "CgroupFreezer.h"
#include "CheckpointabilityScan.h"
#include "NetlinkBacklog.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "TestSkip.h"
#include "VncScreenshot.h"

#include <QDir>
#include <QDirIterator>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
const QString xtermCounter = QStringLiteral("/tmp/xterm-counter");
const QString appCounter = QStringLiteral("/tmp/app-counter");

SessionSpec testSpec()
{
    const QByteArray text = "[Session]\nName=test\n[Display]\nGeometry=800x600\nDepth=24\n[WindowManager]\nCommand=openbox\n"
                            "[App xterm]\nCommand=xterm -geometry 40x5+10+10 -title Counter -e sh -c 'i=0; while :; do i=$((i+1)); echo $i > "
        + xtermCounter.toUtf8()
        + "; sleep 0.05; done'\n"
          "[App notes]\nCommand='" BUILD_BIN_DIR "/rewind-demo-app'\nEnv=REWIND_DEMO_STATE="
        + appCounter.toUtf8() + "\n";
    auto spec = SessionSpec::parse(text, QStringLiteral("test.conf"));
    Q_ASSERT_X(spec.ok(), "testSpec", qPrintable(spec.errorMessage()));
    return *spec;
}

long counterIn(pid_t initPid, const QString &path)
{
    return TestSessions::counterIn(initPid, path);
}

/// Window titles and geometries of the session's display, from inside the cell.
QStringList windowTree(pid_t initPid)
{
    QProcess xwininfo;
    xwininfo.start(QStringLiteral("nsenter"),
                   {QStringLiteral("--target"),
                    QString::number(initPid),
                    QStringLiteral("--mount"),
                    QStringLiteral("--"),
                    QStringLiteral("xwininfo"),
                    QStringLiteral("-display"),
                    QStringLiteral(":1"),
                    QStringLiteral("-root"),
                    QStringLiteral("-tree")});
    xwininfo.waitForFinished(10000);
    QStringList windows;
    const auto lines = QString::fromLocal8Bit(xwininfo.readAllStandardOutput()).split(QLatin1Char('\n'));
    for (const QString &line : lines) {
        // e.g.  0x400022 "Counter": ("xterm" "XTerm")  244x69+10+10  +11+30
        if (line.contains(QLatin1String("\"Counter\"")) || line.contains(QLatin1String("\"Rewind demo\"")) || line.contains(QLatin1String("\"Idle\""))) {
            const auto fields = line.simplified().split(QLatin1Char(' '));
            const auto title = line.section(QLatin1Char('"'), 1, 1);
            QString geometry;
            for (const QString &field : fields) {
                if (field.contains(QLatin1Char('x')) && field.contains(QLatin1Char('+')) && field[0].isDigit()) {
                    geometry = field;
                }
            }
            windows.append(title + QLatin1Char(' ') + geometry);
        }
    }
    windows.sort();
    return windows;
}

/// Whether a netlink socket of the cell's network namespace listens to
/// IPv4 address changes (RTMGRP_IPV4_IFADDR), as `ip monitor address` does.
bool addressMonitorListens(pid_t initPid)
{
    constexpr quint32 ipv4AddressGroup = 0x10;
    const auto sockets = NetlinkBacklog::sockets(initPid);
    return sockets && std::any_of(sockets->cbegin(), sockets->cend(), [](const NetlinkBacklog::Socket &socket) {
               return socket.protocol == 0 && (socket.groups & ipv4AddressGroup) != 0;
           });
}

} // namespace

class SessionSnapshotTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    const RewindPaths &m_paths = m_test.paths();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;

    SessionRecord startSession()
    {
        auto record = m_sessions->start(testSpec(), 0);
        if (!record) {
            qWarning() << record.errorMessage();
            return {};
        }
        return *record;
    }

    bool countersRun(pid_t initPid)
    {
        return counterIn(initPid, xtermCounter) > 0 && counterIn(initPid, appCounter) > 0 && windowTree(initPid).size() == 2;
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        QVERIFY(m_test.isValid());
        auto store = SnapshotStore::open(m_paths.storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void windowsAreOnScreen()
    {
        // Nothing but the session talks to its display here: an app started
        // while the window manager was still starting stayed unmapped.
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(counterIn(session.initPid, xtermCounter) > 40 && counterIn(session.initPid, appCounter) > 20, 20000);
        auto screen = m_sessions->screenshot(session, std::chrono::seconds(10));
        QVERIFY2(screen.ok(), qPrintable(screen.errorMessage()));
        qsizetype lit = 0;
        for (int y = 0; y < screen->height(); ++y) {
            for (int x = 0; x < screen->width(); ++x) {
                lit += qGray(screen->pixel(x, y)) > 32 ? 1 : 0;
            }
        }
        // The xterm and the demo app cover far more than the cursor does.
        QVERIFY2(lit > qsizetype(screen->width()) * screen->height() / 10, qPrintable(QString::number(lit)));
    }

    void snapshotThenRestoreInPlace()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        const QStringList windowsAtSnapshot = windowTree(session.initPid);

        const long xtermBefore = counterIn(session.initPid, xtermCounter);
        const long appBefore = counterIn(session.initPid, appCounter);
        auto snapshot = m_engine->snapshot(session.id, QStringLiteral("first"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.ok() ? QString() : snapshot.errorMessage() + QLatin1Char('\n') + snapshot.error().details));
        QCOMPARE(m_sessions->state(*m_sessions->session(session.id)), SessionState::Running);
        QVERIFY(snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() > 0);
        qInfo("snapshot: %lld bytes stored, frozen %.1f ms", snapshot->storedBytes, snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0);
        // This machine has memory to spare: CRIU wrote into a staging directory in memory.
        QCOMPARE(snapshot->metadata.value(QStringLiteral("stagingPlace")).toString(), QStringLiteral("memory"));
        QVERIFY(snapshot->metadata.value(QStringLiteral("stagingInMemoryBytes")).toLongLong() >= snapshot->logicalBytes);

        const auto screenshot = m_store->readFile(snapshot->id, QStringLiteral("screenshot.png"));
        QVERIFY2(screenshot.ok(), qPrintable(screenshot.errorMessage()));
        const QImage atSnapshot = QImage::fromData(*screenshot);
        QCOMPARE(atSnapshot.size(), QSize(800, 600));

        // CRIU archived the cell's tmpfs mounts (its /tmp holds the home)
        // through Rewind's gzip: a tar in deflate blocks that are stored,
        // not compressed, while the session was frozen.
        QStringList archives;
        SnapshotStore::Visitor visitor;
        visitor.entry = [&archives](const QString &path, quint32, qint64) {
            if (path.startsWith(QLatin1String("images/tmpfs-dev-")) && path.endsWith(QLatin1String(".tar.gz.img"))) {
                archives.append(path);
            }
            return Result<void>();
        };
        visitor.chunk = [](const QByteArray &, const QByteArray *, const QByteArray &) {
            return Result<void>();
        };
        QVERIFY(m_store->walk(snapshot->id, visitor).ok());
        QVERIFY(!archives.isEmpty());
        for (const QString &path : std::as_const(archives)) {
            const auto archive = m_store->readFile(snapshot->id, path);
            QVERIFY2(archive.ok(), qPrintable(archive.errorMessage()));
            // A gzip header of 10 bytes (no name), then a stored block's
            // header (BTYPE 00), its length and its complement, then the tar.
            QVERIFY2(archive->size() > 15 + 512 && archive->startsWith("\x1f\x8b\x08"), qPrintable(path));
            QCOMPARE((quint8(archive->at(10)) >> 1) & 3, 0);
            QCOMPARE(archive->mid(15 + 257, 5), QByteArray("ustar"));
        }

        // Let time pass so that going back is visible.
        const long xtermLater = counterIn(session.initPid, xtermCounter) + 20;
        QTRY_VERIFY_WITH_TIMEOUT(counterIn(session.initPid, xtermCounter) > xtermLater, 10000);

        auto outcome = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(outcome.ok(), qPrintable(outcome.errorMessage()));
        QVERIFY(outcome->beforeRestore.has_value());
        QCOMPARE(outcome->beforeRestore->trigger, SnapshotTrigger::BeforeRestore);
        QCOMPARE(outcome->session.id, session.id);
        const pid_t restored = outcome->session.initPid;
        QVERIFY(restored != session.initPid);

        // Back in time: the counters carry on from the snapshot, not from later and not from zero.
        QTRY_VERIFY(counterIn(restored, xtermCounter) > 0);
        const long xtermRestored = counterIn(restored, xtermCounter);
        QVERIFY2(xtermRestored >= xtermBefore && xtermRestored < xtermLater,
                 qPrintable(QStringLiteral("%1 not in [%2, %3)").arg(xtermRestored).arg(xtermBefore).arg(xtermLater)));
        QTRY_VERIFY(counterIn(restored, xtermCounter) > xtermRestored);
        QTRY_VERIFY(counterIn(restored, appCounter) > appBefore);

        // The same windows at the same places, and the same picture in its static parts.
        QTRY_COMPARE(windowTree(restored), windowsAtSnapshot);
        auto now = VncScreenshot::grabInCell(restored, SessionManager::vncSocketInCell, std::chrono::seconds(5));
        QVERIFY2(now.ok(), qPrintable(now.errorMessage()));
        const double differing = VncScreenshot::differingFraction(atSnapshot, *now);
        qInfo("restored screen differs from the snapshot's in %.2f%% of its pixels", differing * 100);
        QVERIFY(differing < 0.05);
    }

    // A session that outgrows the staging set aside in memory while it is
    // dumped (here: 8 MiB for a display, a window manager and two apps) is
    // dumped again on disk, not refused.
    void outgrownStagingInMemoryIsRetriedOnDisk()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        const auto before = m_store->list(session.id);
        QVERIFY2(before.ok(), qPrintable(before.errorMessage()));
        QVERIFY(before->isEmpty());

        SnapshotEngine engine(*m_sessions, *m_store);
        constexpr qint64 tooLittle = 8 * 1024 * 1024;
        engine.setSnapshotStagingInMemory(tooLittle);
        auto snapshot = engine.snapshot(session.id, QStringLiteral("outgrown"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.ok() ? QString() : snapshot.errorMessage() + QLatin1Char('\n') + snapshot.error().details));
        QCOMPARE(snapshot->metadata.value(QStringLiteral("stagingRetriedOnDisk")).toBool(), true);
        QCOMPARE(snapshot->metadata.value(QStringLiteral("stagingPlace")).toString(), QStringLiteral("disk"));
        QVERIFY2(snapshot->logicalBytes > tooLittle, qPrintable(QString::number(snapshot->logicalBytes)));
        QCOMPARE(m_sessions->state(*m_sessions->session(session.id)), SessionState::Running);
        const long counted = counterIn(session.initPid, xtermCounter);
        QTRY_VERIFY(counterIn(session.initPid, xtermCounter) > counted);

        // What was stored is whole: it restores alongside.
        auto branch = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(branch.ok(), qPrintable(branch.errorMessage()));
        QTRY_VERIFY(counterIn(branch->session.initPid, xtermCounter) > 0);
    }

    void branchesRunSideBySide()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        auto snapshot = m_engine->snapshot(session.id, {}, SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));

        auto first = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        auto second = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
        QVERIFY(first->session.id != second->session.id);
        QVERIFY(!first->beforeRestore && !second->beforeRestore);

        for (const pid_t pid : {session.initPid, first->session.initPid, second->session.initPid}) {
            const long value = counterIn(pid, xtermCounter);
            QTRY_VERIFY(counterIn(pid, xtermCounter) > value);
            QTRY_COMPARE(windowTree(pid).size(), 2);
        }
        QCOMPARE(m_sessions->state(*m_sessions->session(session.id)), SessionState::Running);
    }

    void recoversAfterKill()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        const long before = counterIn(session.initPid, xtermCounter);
        auto snapshot = m_engine->snapshot(session.id, {}, SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));

        auto cgroup = Cgroup::open(CellLimits::userParent(m_paths.cgroupParent, session.ownerUid), session.id);
        QVERIFY(cgroup.ok());
        QVERIFY(cgroup->killAll().ok());
        QTRY_COMPARE(m_sessions->state(*m_sessions->session(session.id)), SessionState::Crashed);

        auto outcome = m_engine->recover(session.id);
        QVERIFY2(outcome.ok(), qPrintable(outcome.errorMessage()));
        QVERIFY(!outcome->beforeRestore);
        const pid_t restored = outcome->session.initPid;
        QTRY_VERIFY(counterIn(restored, xtermCounter) >= before);
        const long value = counterIn(restored, xtermCounter);
        QTRY_VERIFY(counterIn(restored, xtermCounter) > value);
    }

    void damagedSnapshotIsRefusedBeforeTouchingTheSession()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        auto snapshot = m_engine->snapshot(session.id, {}, SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
        const qint64 snapshotsBefore = m_store->list()->size();

        // Damage one byte in the data of the first chunk record of the pack this
        // snapshot wrote, the newest (a 32-byte header, the stored size little
        // endian at 28, the data).
        const QFileInfoList packs =
            QDir(m_paths.storeDirectory() + QStringLiteral("/packs")).entryInfoList({QStringLiteral("*.pack")}, QDir::Files, QDir::Time);
        QVERIFY(!packs.isEmpty());
        QFile pack(packs.first().filePath());
        QVERIFY(pack.open(QIODevice::ReadWrite));
        const QByteArray header = pack.read(32);
        QCOMPARE(header.left(4), QByteArray("RWPR"));
        quint32 storedSize = 0;
        for (int i = 3; i >= 0; --i) {
            storedSize = storedSize << 8 | quint8(header[28 + i]);
        }
        QVERIFY(storedSize > 0);
        QVERIFY(pack.seek(32 + storedSize / 2));
        char byte = 0;
        QVERIFY(pack.getChar(&byte));
        QVERIFY(pack.seek(32 + storedSize / 2));
        QVERIFY(pack.putChar(char(byte ^ 0x5a)));
        pack.close();

        auto report = m_store->verify();
        QVERIFY(report.ok());
        QVERIFY(!report->clean());
        QVERIFY(report->damagedSnapshots.contains(snapshot->id));
        const qint64 damaged = snapshot->id;
        const auto outcome = m_engine->restore(damaged, RestoreMode::InPlace);
        QVERIFY(!outcome.ok());
        QVERIFY2(outcome.errorMessage().contains(QString::number(damaged)), qPrintable(outcome.errorMessage()));
        // Untouched: same cell, still counting, no before-restore snapshot taken.
        const auto after = m_sessions->session(session.id);
        QCOMPARE(after->initPid, session.initPid);
        const long value = counterIn(session.initPid, xtermCounter);
        QTRY_VERIFY(counterIn(session.initPid, xtermCounter) > value);
        QCOMPARE(m_store->list()->size(), snapshotsBefore);

        // Put the store right for the tests after this one.
        for (qint64 id : report->damagedSnapshots) {
            (void)m_store->remove(id);
        }
        QVERIFY(m_store->collectGarbage().ok());
    }

    void unknownIdsChangeNothing()
    {
        QVERIFY(!m_engine->restore(987654, RestoreMode::InPlace).ok());
        QVERIFY(!m_engine->snapshot(QStringLiteral("no-such-session"), {}, SnapshotTrigger::Manual).ok());
        const auto bad = m_engine->snapshot(QStringLiteral("../../etc"), {}, SnapshotTrigger::Manual);
        QVERIFY(!bad.ok());
        QVERIFY(bad.errorMessage().contains(QLatin1String("not a session id")));
    }

    void autosaveTakesScheduledSnapshotsAndPrunes()
    {
        const SessionRecord session = startSession();
        QVERIFY(!session.id.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);

        AutosaveSchedule everyHour;
        everyHour.interval = std::chrono::hours(1);
        RetentionPolicy keepTwo;
        keepTwo.keepLast = 2;
        keepTwo.keepHourly = 0;
        keepTwo.keepDaily = 0;

        auto first = m_engine->autosave(session.id, everyHour, keepTwo);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        QVERIFY(first->taken.has_value());
        QCOMPARE(first->taken->trigger, SnapshotTrigger::Scheduled);
        QVERIFY(first->nextDue > QDateTime::currentDateTimeUtc().addSecs(3500));
        // Not due again for an hour.
        auto second = m_engine->autosave(session.id, everyHour, keepTwo);
        QVERIFY(second.ok());
        QVERIFY(!second->taken.has_value());

        // Due every time: the third scheduled snapshot lets the first go.
        AutosaveSchedule always;
        always.interval = std::chrono::minutes(0);
        QVERIFY(m_engine->autosave(session.id, always, keepTwo)->taken.has_value());
        auto third = m_engine->autosave(session.id, always, keepTwo);
        QVERIFY2(third.ok(), qPrintable(third.errorMessage()));
        QCOMPARE(third->pruned, QList<qint64>{first->taken->id});
        QCOMPARE(m_store->list(session.id)->size(), 2);
        QVERIFY(!m_store->snapshot(first->taken->id).ok());
    }

    // A program subscribed to address changes (as GLib's network monitor
    // is) receives one while the session is frozen: CRIU refuses to dump a
    // netlink socket with unread messages, so the engine thaws the session,
    // waits until the program has read it and dumps again. IPv4 only: the
    // end of IPv6 duplicate address detection in the new cell would be news
    // too, at a moment of its own.
    void netlinkMessageWhileFrozenIsReadThenDumpedAgain()
    {
        auto spec = SessionSpec::parse("[Session]\nName=netlink\n[WindowManager]\nCommand=openbox\n[App monitor]\nCommand=ip -4 monitor address\n",
                                       QStringLiteral("netlink.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        auto session = m_sessions->start(*spec, 0);
        QVERIFY2(session.ok(), qPrintable(session.errorMessage()));
        QTRY_VERIFY_WITH_TIMEOUT(addressMonitorListens(session->initPid), 20000);

        SnapshotEngine engine(*m_sessions, *m_store);
        int freezes = 0;
        engine.setWhileFrozen([&] {
            if (++freezes == 1) {
                // In the cell's network namespace: the monitor's socket gets the news, unread.
                QProcess ip;
                ip.start(QStringLiteral("nsenter"),
                         {QStringLiteral("--target"),
                          QString::number(session->initPid),
                          QStringLiteral("--net"),
                          QStringLiteral("--"),
                          QStringLiteral("ip"),
                          QStringLiteral("address"),
                          QStringLiteral("add"),
                          QStringLiteral("10.77.0.1/32"),
                          QStringLiteral("dev"),
                          QStringLiteral("lo")});
                QVERIFY(ip.waitForFinished(10000));
                QCOMPARE(ip.exitCode(), 0);
            }
        });
        auto snapshot = engine.snapshot(session->id, QStringLiteral("netlink"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.ok() ? QString() : snapshot.errorMessage() + QLatin1Char('\n') + snapshot.error().details));
        QCOMPARE(freezes, 2);
        QCOMPARE(snapshot->metadata.value(QStringLiteral("dumpRetriedAfterNetlinkMessages")).toInt(), 1);
        QCOMPARE(m_sessions->state(*m_sessions->session(session->id)), SessionState::Running);
    }

    void secondSnapshotOfIdleSessionIsSmall()
    {
        // Idle: a window manager and a terminal waiting for input, nothing counting.
        auto idle = SessionSpec::parse("[Session]\nName=idle\n[WindowManager]\nCommand=openbox\n[App xterm]\nCommand=xterm -title Idle -e sh -c 'read line'\n",
                                       QStringLiteral("idle.conf"));
        QVERIFY2(idle.ok(), qPrintable(idle.errorMessage()));
        auto session = m_sessions->start(*idle, 0);
        QVERIFY2(session.ok(), qPrintable(session.errorMessage()));
        // Settled: the terminal's window is mapped, so the X server accepted its clients.
        QTRY_VERIFY_WITH_TIMEOUT(windowTree(session->initPid).join(QLatin1Char(',')).contains(QLatin1String("Idle")), 20000);
        const auto scan = CheckpointabilityScan::scan(session->initPid);
        QVERIFY2(scan.ok() && scan->isEmpty(), qPrintable(CheckpointabilityScan::describe(*scan)));
        auto first = m_engine->snapshot(session->id, {}, SnapshotTrigger::Manual);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        auto second = m_engine->snapshot(session->id, {}, SnapshotTrigger::Manual);
        QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
        qInfo("first snapshot stored %lld bytes, the second added %lld (%.1f%%)",
              first->storedBytes,
              second->newBytes,
              100.0 * double(second->newBytes) / double(first->storedBytes));
        QVERIFY(second->newBytes <= first->storedBytes / 10);
    }
};

REWIND_TEST_GUILESS_MAIN(SessionSnapshotTest)
#include "SessionSnapshotTest.moc"
