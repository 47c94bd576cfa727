// SPDX-License-Identifier: GPL-2.0-or-later
// A session started for an unprivileged owner: every program of it runs as
// the owner with rewind-session's minimal environment, its directories belong
// to the owner, its screen is grabbed as the owner, and it survives a
// snapshot and a restore as the owner. Root's sessions get a shell (bash,
// else sh) for the nologin of their system user.
#include "CellIds.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "TestSkip.h"
#include "UniqueFd.h"
#include "VncScreenshot.h"

#include <QFile>
#include <QSet>
#include <QTest>

#include <cerrno>
#include <fcntl.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
const QString xtermCounter = QStringLiteral("/tmp/xterm-counter");
const QString appCounter = QStringLiteral("/tmp/app-counter");
constexpr uid_t ownerUid = 1500;

SessionSpec ownerSpec()
{
    const QByteArray text = "[Session]\nName=owned\n[Display]\nGeometry=800x600\nDepth=24\n[WindowManager]\nCommand=openbox\n"
                            "[App xterm]\nCommand=xterm -geometry 40x5+10+10 -title Counter -e sh -c 'i=0; while :; do i=$((i+1)); echo $i > "
        + xtermCounter.toUtf8()
        + "; sleep 0.05; done'\n"
          "[App notes]\nCommand=rewind-demo-app\nEnv=REWIND_DEMO_STATE="
        + appCounter.toUtf8() + "\n";
    auto spec = SessionSpec::parse(text, QStringLiteral("owned.conf"));
    Q_ASSERT_X(spec.ok(), "ownerSpec", qPrintable(spec.errorMessage()));
    return *spec;
}

/// The lines of /proc/PID/status by key, read at once; empty once the process has ended.
QMap<QByteArray, QByteArray> statusOf(pid_t pid)
{
    QMap<QByteArray, QByteArray> result;
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly)) {
        return result;
    }
    const auto lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0) {
            result.insert(line.left(colon), line.mid(colon + 1).simplified());
        }
    }
    return result;
}

QList<qint64> idsIn(const QByteArray &value)
{
    QList<qint64> ids;
    const auto fields = value.split(' ');
    for (const QByteArray &field : fields) {
        if (!field.isEmpty()) {
            ids.append(field.toLongLong());
        }
    }
    return ids;
}

/// The four ids of a "Uid:" or "Gid:" line of /proc/PID/status.
QList<qint64> idsOf(pid_t pid, const QByteArray &key)
{
    return idsIn(statusOf(pid).value(key));
}

QMap<QByteArray, QByteArray> environmentOf(pid_t pid)
{
    QFile environ(QStringLiteral("/proc/%1/environ").arg(pid));
    QMap<QByteArray, QByteArray> result;
    if (!environ.open(QIODevice::ReadOnly)) {
        return result;
    }
    const auto entries = environ.readAll().split('\0');
    for (const QByteArray &entry : entries) {
        const auto equals = entry.indexOf('=');
        if (equals > 0) {
            result.insert(entry.left(equals), entry.mid(equals + 1));
        }
    }
    return result;
}

/// What unshare(CLONE_NEWUSER) says in the user namespace of pid (0: it worked).
int nestedUserNamespaceError(pid_t pid)
{
    const UniqueFd userNamespace(::open(QByteArray("/proc/" + QByteArray::number(pid) + "/ns/user").constData(), O_RDONLY | O_CLOEXEC));
    if (!userNamespace) {
        return -1;
    }
    int result[2];
    if (::pipe(result) != 0) {
        return -1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        int error = ::setns(userNamespace.get(), CLONE_NEWUSER) != 0 ? -1 : (::unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
        (void)!::write(result[1], &error, sizeof error);
        _exit(0);
    }
    ::close(result[1]);
    int error = -1;
    if (child < 0 || ::read(result[0], &error, sizeof error) != sizeof error) {
        error = -1;
    }
    ::close(result[0]);
    ::waitpid(child, nullptr, 0);
    return error;
}

QByteArray fileContent(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool hasCapability(int capability)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) {
        return false;
    }
    const auto lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("CapEff:")) {
            bool ok = false;
            const qulonglong effective = line.mid(7).trimmed().toULongLong(&ok, 16);
            return ok && (effective >> capability & 1U) != 0;
        }
    }
    return false;
}

} // namespace

class SessionOwnerTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    QByteArray m_ownerName;

    /// The session's programs by name (comm), once each is running.
    QMap<QString, pid_t> programs(const QString &id)
    {
        QMap<QString, pid_t> result;
        const auto processes = m_sessions->processes(id);
        if (processes) {
            for (const SessionProcess &process : *processes) {
                result.insert(process.name, process.pid);
            }
        }
        return result;
    }

    bool countersRun(pid_t initPid)
    {
        return TestSessions::counterIn(initPid, xtermCounter) > 0 && TestSessions::counterIn(initPid, appCounter) > 0;
    }

    /// Everything of the session but its init runs as the owner, and nothing as root.
    void verifyRunsAsOwner(const QString &id, pid_t initPid)
    {
        const auto running = programs(id);
        for (const QString &name : {QStringLiteral("Xvnc"),
                                    QStringLiteral("openbox"),
                                    QStringLiteral("xterm"),
                                    QStringLiteral("rewind-demo-app"),
                                    QStringLiteral("dbus-daemon"),
                                    QStringLiteral("rewind-session")}) {
            QVERIFY2(running.contains(name), qPrintable(name + QStringLiteral(" is not running")));
        }
        for (auto it = running.begin(); it != running.end(); ++it) {
            if (it.value() == initPid) {
                continue; // rewind-cell-init stays the cell's root to reap and stop the cell
            }
            // Read at once: the xterm's sleep may end between two reads.
            const QMap<QByteArray, QByteArray> status = statusOf(it.value());
            if (status.isEmpty()) {
                continue; // ended meanwhile, like the xterm's sleep
            }
            const QList<qint64> owner{ownerUid, ownerUid, ownerUid, ownerUid};
            QCOMPARE(idsIn(status.value("Uid")), owner);
            QCOMPARE(idsIn(status.value("Gid")), owner);
            QVERIFY2(status.value("Groups").isEmpty(), status.value("Groups").constData());
            for (const QByteArray set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
                QVERIFY2(status.value(set) == "0000000000000000",
                         qPrintable(it.key() + QLatin1Char(' ') + QString::fromLatin1(set) + QLatin1Char(' ') + QString::fromLatin1(status.value(set))));
            }
        }
        // The cell's root is the reserved id; nothing else but the owner is mapped.
        const QList<qint64> cellRoot{CellIds::root, CellIds::root, CellIds::root, CellIds::root};
        QCOMPARE(idsOf(initPid, "Uid"), cellRoot);
        const QByteArray uidMap = fileContent(QStringLiteral("/proc/%1/uid_map").arg(initPid)).simplified();
        QCOMPARE(uidMap, QByteArray("0 2147418112 1 1500 1500 1"));
        const QByteArray gidMap = fileContent(QStringLiteral("/proc/%1/gid_map").arg(initPid)).simplified();
        QCOMPARE(gidMap, QByteArray("0 2147418112 1 1500 1500 1"));
        QVERIFY(QFile::symLinkTarget(QStringLiteral("/proc/%1/ns/user").arg(initPid)) != QFile::symLinkTarget(QStringLiteral("/proc/self/ns/user")));
        // Not even root inside the cell makes a nested user namespace.
        QCOMPARE(nestedUserNamespaceError(initPid), ENOSPC);

        const auto environment = environmentOf(running.value(QStringLiteral("rewind-demo-app")));
        QSet<QByteArray> names;
        for (auto it = environment.begin(); it != environment.end(); ++it) {
            names.insert(it.key());
        }
        const QSet<QByteArray> expected{"HOME",
                                        "USER",
                                        "LOGNAME",
                                        "SHELL",
                                        "PATH",
                                        "DISPLAY",
                                        "XDG_RUNTIME_DIR",
                                        "DBUS_SESSION_BUS_ADDRESS",
                                        "LANG",
                                        "QT_QPA_PLATFORM",
                                        "TERM",
                                        "REWIND_DEMO_STATE"};
        QCOMPARE(names, expected);
        QCOMPARE(environment.value("HOME"), QByteArray("/tmp/home"));
        QCOMPARE(environment.value("USER"), m_ownerName);
        QCOMPARE(environment.value("LOGNAME"), m_ownerName);
        QCOMPARE(environment.value("SHELL"), QByteArray("/bin/bash"));
        QCOMPARE(environment.value("PATH"), QByteArray("/usr/local/bin:/usr/bin:/bin:" BUILD_BIN_DIR));
        QCOMPARE(environment.value("DISPLAY"), QByteArray(":1"));
        QCOMPARE(environment.value("XDG_RUNTIME_DIR"), QByteArray("/tmp/.rewind"));
        QCOMPARE(environment.value("LANG"), QByteArray("C.UTF-8"));
        QCOMPARE(environment.value("QT_QPA_PLATFORM"), QByteArray("xcb"));
        // The shell of the xterm got the same environment, without the app's own variable.
        QCOMPARE(environmentOf(running.value(QStringLiteral("xterm"))).value("HOME"), QByteArray("/tmp/home"));
        QVERIFY(!environmentOf(running.value(QStringLiteral("xterm"))).contains("REWIND_DEMO_STATE"));
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        QVERIFY(m_test.isValid());
        const passwd *entry = ::getpwuid(ownerUid);
        if (!entry) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        m_ownerName = entry->pw_name;
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
        // The owner must reach the programs of the build tree.
        QVERIFY2(QFileInfo(QStringLiteral(BUILD_BIN_DIR "/rewind-demo-app")).isExecutable(), "rewind-demo-app is not built");
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void sessionRunsAsItsOwner()
    {
        auto started = m_sessions->start(ownerSpec(), ownerUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        const SessionRecord session = *started;
        QCOMPARE(session.plan.value(QStringLiteral("uid")).toInteger(-1), qint64(ownerUid));
        QTRY_VERIFY_WITH_TIMEOUT(countersRun(session.initPid), 20000);
        verifyRunsAsOwner(session.id, session.initPid);

        // Its directories: the home and the runtime directory are the owner's alone.
        struct stat info;
        const QByteArray home = QFile::encodeName(SessionManager::cellPath(session.initPid, QStringLiteral("/tmp/home")));
        QCOMPARE(::lstat(home.constData(), &info), 0);
        QVERIFY(S_ISDIR(info.st_mode));
        QCOMPARE(info.st_uid, ownerUid);
        QCOMPARE(info.st_mode & 07777, 0700u);
        const QByteArray runtime = QFile::encodeName(SessionManager::cellPath(session.initPid, QStringLiteral("/tmp/.rewind")));
        QCOMPARE(::lstat(runtime.constData(), &info), 0);
        QCOMPARE(info.st_uid, ownerUid);
        QCOMPARE(info.st_mode & 07777, 0700u);
        const QByteArray x11 = QFile::encodeName(SessionManager::cellPath(session.initPid, QStringLiteral("/tmp/.X11-unix")));
        QCOMPARE(::lstat(x11.constData(), &info), 0);
        QCOMPARE(info.st_uid, CellIds::root);
        QCOMPARE(info.st_mode & 07777, 01777u);

        // The screen, grabbed as the owner.
        auto screen =
            VncScreenshot::grabInCell(session.initPid, SessionManager::vncSocketInCell, std::chrono::seconds(10), ownerUid, ownerUid, QSize(800, 600));
        QVERIFY2(screen.ok(), qPrintable(screen.errorMessage()));
        QCOMPARE(screen->size(), QSize(800, 600));
        // A smaller expected size than the display's is refused.
        auto tooLarge =
            VncScreenshot::grabInCell(session.initPid, SessionManager::vncSocketInCell, std::chrono::seconds(10), ownerUid, ownerUid, QSize(640, 480));
        QVERIFY(!tooLarge.ok());
        QVERIFY2(tooLarge.errorMessage().contains(QStringLiteral("refused")), qPrintable(tooLarge.errorMessage()));

        // Snapshot and restore in place: the restored programs are the owner's
        // still. CRIU reads the rlimits of every process with prlimit(), which
        // for another user's process takes CAP_SYS_RESOURCE in its user
        // namespace: root holds it in the cell's, also where it lacks it outside.
        qInfo("root %s CAP_SYS_RESOURCE outside the cell", hasCapability(CAP_SYS_RESOURCE) ? "has" : "lacks");
        auto snapshot = m_engine->snapshot(session.id, QStringLiteral("owned"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
        const QStringList external = snapshot->metadata.value(QStringLiteral("externalMounts")).toStringList();
        QVERIFY2(!external.contains(QStringLiteral("/tmp")), qPrintable(external.join(QLatin1Char(' '))));
        const long xtermBefore = TestSessions::counterIn(session.initPid, xtermCounter);
        auto outcome = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(outcome.ok(), qPrintable(outcome.errorMessage()));
        const pid_t restored = outcome->session.initPid;
        QVERIFY(restored != session.initPid);
        QTRY_VERIFY2_WITH_TIMEOUT(TestSessions::counterIn(restored, xtermCounter) >= xtermBefore,
                                  fileContent(SessionManager::cellPath(restored, QStringLiteral("/tmp/session.log"))).right(2000).constData(),
                                  10000);
        const long xtermRestored = TestSessions::counterIn(restored, xtermCounter);
        QTRY_VERIFY_WITH_TIMEOUT(TestSessions::counterIn(restored, xtermCounter) > xtermRestored, 10000);
        verifyRunsAsOwner(outcome->session.id, restored);
        const QByteArray restoredHome = QFile::encodeName(SessionManager::cellPath(restored, QStringLiteral("/tmp/home")));
        QCOMPARE(::lstat(restoredHome.constData(), &info), 0);
        QCOMPARE(info.st_uid, ownerUid);
    }

    void nologinShellIsReplaced()
    {
        // Root's sessions run as rewind-session, whose shell is nologin: a
        // terminal of theirs would end at once.
        const passwd *system = ::getpwnam("rewind-session");
        if (!system) {
            REWIND_SKIP("there is no system user rewind-session");
        }
        if (!QByteArray(system->pw_shell).endsWith("/nologin")) {
            REWIND_SKIP("rewind-session's shell is not nologin here");
        }
        const QByteArray text =
            "[Session]\nName=shell\n[Display]\nGeometry=640x480\n[App shell]\nCommand=sh -c 'echo \"$SHELL\" > /tmp/shell; exec sleep 1000'\n";
        auto spec = SessionSpec::parse(text, QStringLiteral("shell.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        auto started = m_sessions->start(*spec, 0);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        const QString shellFile = SessionManager::cellPath(started->initPid, QStringLiteral("/tmp/shell"));
        QTRY_VERIFY_WITH_TIMEOUT(!fileContent(shellFile).isEmpty(), 20000);
        // bash where there is one: dash keeps /dev/tty open, which CRIU refuses to dump.
        QCOMPARE(fileContent(shellFile).trimmed(), QFile::exists(QStringLiteral("/bin/bash")) ? QByteArray("/bin/bash") : QByteArray("/bin/sh"));
    }
};

REWIND_TEST_GUILESS_MAIN(SessionOwnerTest)
#include "SessionOwnerTest.moc"
