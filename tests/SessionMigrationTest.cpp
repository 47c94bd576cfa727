// SPDX-License-Identifier: GPL-2.0-or-later
// A running X session moves to "another machine": exported from one state
// directory and cgroup parent, imported into another with a store, sessions
// and cells of its own, restored there, and it runs on from where it was.
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "SnapshotTransfer.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "TestSkip.h"

#include <QTest>

#include <fcntl.h>
#include <thread>
#include <unistd.h>

using namespace Rewind;

namespace
{

const QString counter = QStringLiteral("/tmp/xterm-counter");

SessionSpec movingSpec()
{
    const QByteArray text =
        "[Session]\nName=moving\n[Display]\nGeometry=640x480\nDepth=24\n[WindowManager]\nCommand=openbox\n"
        "[App xterm]\nCommand=xterm -geometry 40x5+10+10 -title Counter -e sh -c 'i=0; while :; do i=$((i+1)); echo $i > "
        + counter.toUtf8() + "; sleep 0.05; done'\n";
    auto spec = SessionSpec::parse(text, QStringLiteral("moving.conf"));
    Q_ASSERT_X(spec.ok(), "movingSpec", qPrintable(spec.errorMessage()));
    return *spec;
}

/// One machine as far as Rewind can tell: its state, cells, store and engine.
struct Machine {
    TestSessions sessions;
    std::unique_ptr<SnapshotStore> store;
    std::unique_ptr<SnapshotEngine> engine;

    bool open()
    {
        if (!sessions.isValid()) {
            return false;
        }
        auto opened = SnapshotStore::open(sessions.paths().storeDirectory());
        if (!opened) {
            qWarning() << opened.errorMessage();
            return false;
        }
        store = std::move(*opened);
        engine = std::make_unique<SnapshotEngine>(sessions.manager(), *store);
        return true;
    }
};

} // namespace

class SessionMigrationTest : public QObject
{
    Q_OBJECT

private:
    Machine m_here;
    Machine m_there;

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        QVERIFY(m_here.open());
        QVERIFY(m_there.open());
        QVERIFY(m_here.sessions.paths().stateDirectory != m_there.sessions.paths().stateDirectory);
        QVERIFY(m_here.sessions.paths().cgroupParent != m_there.sessions.paths().cgroupParent);
    }

    void cleanupTestCase()
    {
        m_here.sessions.removeAll();
        m_there.sessions.removeAll();
    }

    void aSessionMovesAndRunsThere()
    {
        auto started = m_here.sessions.manager().start(movingSpec(), 0);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        QTRY_VERIFY_WITH_TIMEOUT(TestSessions::counterIn(started->initPid, counter) > 20, 20000);
        const long beforeSnapshot = TestSessions::counterIn(started->initPid, counter);
        auto snapshot = m_here.engine->snapshot(started->id, QStringLiteral("to take along"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));

        // Here, the session ends; there, it comes in through a pipe, as over ssh.
        QVERIFY(m_here.sessions.manager().stop(started->id).ok());
        int ends[2];
        QCOMPARE(::pipe2(ends, O_CLOEXEC), 0);
        UniqueFd readEnd(ends[0]);
        UniqueFd writeEnd(ends[1]);
        Result<SnapshotTransfer::ExportOutcome> sent = Error{};
        std::thread exporter([&] {
            sent = SnapshotTransfer::exportSnapshot(*m_here.store, snapshot->id, writeEnd.get());
            writeEnd.reset();
        });
        auto imported = SnapshotTransfer::importSnapshot(*m_there.store, m_there.sessions.paths().stagingDirectory(), readEnd.get(), 0, {});
        exporter.join();
        QVERIFY2(sent.ok(), qPrintable(sent.errorMessage()));
        QVERIFY2(imported.ok(), qPrintable(imported.errorMessage()));
        qInfo("moved a session of %lld bytes as a stream of %lld bytes", snapshot->logicalBytes, sent->bytes);
        QCOMPARE(imported->trigger, SnapshotTrigger::Imported);

        auto restored = m_there.engine->restore(imported->id, RestoreMode::AsNewSession);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        const pid_t there = restored->session.initPid;
        QVERIFY(restored->session.id != started->id);
        QCOMPARE(m_there.sessions.manager().state(restored->session), SessionState::Running);
        QVERIFY(m_here.sessions.manager().sessions().size() == 1); // the stopped one, only here
        // It carries on from the snapshot, not from zero, and keeps counting.
        QTRY_VERIFY(TestSessions::counterIn(there, counter) > 0);
        const long first = TestSessions::counterIn(there, counter);
        QVERIFY2(first >= beforeSnapshot, qPrintable(QStringLiteral("%1 after %2").arg(first).arg(beforeSnapshot)));
        QTRY_VERIFY(TestSessions::counterIn(there, counter) > first + 10);
        // Its cell is there's, in there's cgroup parent.
        QVERIFY(m_there.sessions.manager().cgroupPath(restored->session).startsWith(m_there.sessions.paths().cgroupParent));
    }
};

REWIND_TEST_GUILESS_MAIN(SessionMigrationTest)
#include "SessionMigrationTest.moc"
