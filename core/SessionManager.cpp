// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionManager.h"

#include "AtomicFile.h"
#include "CellFile.h"
#include "CellIds.h"
#include "CellLimits.h"
#include "CellNetwork.h"
#include "Cgroup.h"
#include "CgroupFiles.h"
#include "CgroupFreezer.h"
#include "LiveViewRelay.h"
#include "MemoryTracking.h"
#include "SessionLimits.h"
#include "UniqueFd.h"
#include "VncScreenshot.h"

#include <KLocalizedString>

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QScopeGuard>
#include <QThread>
#include <QTimeZone>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace Rewind
{
namespace
{

/// The kernel takes an environment variable of at most 128 KiB.
constexpr qsizetype maximumPlanSize = 100 * 1024;

QJsonObject planOf(const SessionSpec &spec, uid_t uid, gid_t gid)
{
    QJsonArray apps;
    for (const AppSpec &app : spec.apps) {
        QJsonObject env;
        for (auto it = app.env.begin(); it != app.env.end(); ++it) {
            env.insert(it.key(), it.value());
        }
        apps.append(
            QJsonObject{{QStringLiteral("name"), app.name}, {QStringLiteral("argv"), QJsonArray::fromStringList(app.argv)}, {QStringLiteral("env"), env}});
    }
    return QJsonObject{
        {QStringLiteral("name"), spec.name},
        {QStringLiteral("display"), 1},
        {QStringLiteral("geometry"), QStringLiteral("%1x%2").arg(spec.geometry.width()).arg(spec.geometry.height())},
        {QStringLiteral("depth"), spec.depth},
        {QStringLiteral("windowManager"), QJsonArray::fromStringList(spec.windowManager)},
        {QStringLiteral("apps"), apps},
        // rewind-session drops to these before it starts anything.
        {QStringLiteral("uid"), qint64(uid)},
        {QStringLiteral("gid"), qint64(gid)},
        {QStringLiteral("home"), QStringLiteral("/tmp/home")},
    };
}

/// When this boot began, from /proc/stat's btime.
QDateTime bootTime()
{
    static const QDateTime boot = [] {
        QFile stat(QStringLiteral("/proc/stat"));
        const auto lines = stat.open(QIODevice::ReadOnly) ? stat.readAll().split('\n') : QList<QByteArray>();
        for (const QByteArray &line : lines) {
            if (line.startsWith("btime ")) {
                return QDateTime::fromSecsSinceEpoch(line.mid(6).trimmed().toLongLong(), QTimeZone::UTC);
            }
        }
        return QDateTime();
    }();
    return boot;
}

bool isAlive(const SessionRecord &record)
{
    // Start times count from the boot: after a reboot a pid and start time can
    // recur. A record from before boot ids were kept counts as this boot's
    // only if its session was made in this boot.
    const bool thisBoot = record.bootId.isEmpty() ? bootTime().isValid() && record.createdAt >= bootTime() : record.bootId == SessionRecord::currentBootId();
    return thisBoot && record.initPid > 0 && processStartTime(record.initPid) == record.initStartTime;
}

/// Signals the cell's init through a pidfd, after checking that the pid still
/// names the process the record knows: a pid can be reused.
void signalInit(const SessionRecord &record, int signal)
{
    if (record.initPid <= 0) {
        return;
    }
    UniqueFd pidfd(int(::syscall(SYS_pidfd_open, record.initPid, 0)));
    if (pidfd && isAlive(record)) {
        ::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0);
    }
}

/// Waits for a condition the kernel offers no notification for (a process
/// of another namespace creating a socket); polls every 20 ms.
template<typename Condition>
bool waitFor(Condition condition, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    while (!condition()) {
        if (deadline.hasExpired()) {
            return false;
        }
        QThread::msleep(20);
    }
    return true;
}

} // namespace

QString stateKey(SessionState state)
{
    switch (state) {
    case SessionState::Running:
        return QStringLiteral("running");
    case SessionState::Frozen:
        return QStringLiteral("frozen");
    case SessionState::Stopped:
        return QStringLiteral("stopped");
    case SessionState::Crashed:
        return QStringLiteral("crashed");
    case SessionState::Hibernated:
        return QStringLiteral("hibernated");
    }
    return {};
}

QString stateName(SessionState state)
{
    switch (state) {
    case SessionState::Running:
        return i18nc("@label session state", "running");
    case SessionState::Frozen:
        return i18nc("@label session state", "frozen");
    case SessionState::Stopped:
        return i18nc("@label session state", "stopped");
    case SessionState::Crashed:
        return i18nc("@label session state", "crashed");
    case SessionState::Hibernated:
        return i18nc("@label session state", "hibernated");
    }
    return {};
}

SessionManager::SessionManager(RewindPaths paths)
    : m_paths(std::move(paths))
{
}

Result<std::pair<uid_t, gid_t>> SessionManager::sessionUserOf(uid_t owner)
{
    const passwd *entry = owner == 0 ? ::getpwnam(CellIds::rootSessionUserName) : ::getpwuid(owner);
    if (owner == 0 && !entry) {
        return Error{
            i18n("Root's own sessions run as the system user %1, which does not exist. Create it with systemd-sysusers or "
                 "\"useradd --system %1\".",
                 QString::fromLatin1(CellIds::rootSessionUserName))};
    }
    if (entry && (entry->pw_uid == 0 || entry->pw_gid == 0 || entry->pw_uid == CellIds::root || entry->pw_gid == CellIds::rootGroup)) {
        return Error{
            i18n("A session cannot run as user %1: that id or its group is root's or reserved for the root of cells.", QString::number(entry->pw_uid))};
    }
    return std::pair{entry ? entry->pw_uid : owner, entry ? entry->pw_gid : gid_t(owner)};
}

QString SessionManager::cgroupPath(const SessionRecord &record) const
{
    const QString path = CellLimits::userParent(m_paths.cgroupParent, record.ownerUid) + QLatin1Char('/') + record.id;
    // A cell started before cells had a parent of their user's lives directly in the parent.
    const QString former = m_paths.cgroupParent + QLatin1Char('/') + record.id;
    return !QFileInfo::exists(path) && QFileInfo::exists(former) ? former : path;
}

Result<CellCgroups> SessionManager::createCell(const SessionRecord &record) const
{
    const auto configured = SessionLimits::read();
    if (!configured) {
        return configured.error();
    }
    const auto limits = CellLimits::detect(m_paths.cgroupParent);
    if (!limits) {
        return limits.error();
    }
    return limits->createCell(record.ownerUid, record.id, UserLimits::of(record.ownerUid, limits->unifiedMount(), *configured));
}

QString SessionManager::cellPath(pid_t initPid, const QString &pathInCell)
{
    return QStringLiteral("/proc/%1/root%2").arg(initPid).arg(pathInCell);
}

QString SessionManager::vncSocketPath(pid_t initPid)
{
    return cellPath(initPid, vncSocketInCell);
}

Result<SessionRecord> SessionManager::start(const SessionSpec &spec, uid_t owner)
{
    SessionRecord record;
    record.id = SessionRecord::newId(spec.name);
    record.specName = spec.name;
    record.ownerUid = owner;
    record.createdAt = QDateTime::currentDateTimeUtc();
    const auto user = sessionUserOf(owner);
    if (!user) {
        return user.error();
    }
    const auto limits = SessionLimits::read();
    if (!limits) {
        return limits.error();
    }
    if (owner != 0) {
        const auto all = sessions();
        const auto running = std::count_if(all.begin(), all.end(), [&](const SessionRecord &other) {
            const SessionState current = state(other);
            return other.ownerUid == owner && (current == SessionState::Running || current == SessionState::Frozen);
        });
        if (running >= limits->runningPerUser) {
            return Error{i18np("You have %1 session running, as many as one user may run here. Stop it first.",
                               "You have %1 sessions running, as many as one user may run here. Stop one of them first.",
                               int(running))};
        }
    }
    record.plan = planOf(spec, user->first, user->second);

    auto held = lock(record.id);
    if (!held) {
        return held.error();
    }
    // The plan travels in the environment of the cell's init and of
    // rewind-session, which clears it: the cell's root may not read Rewind's
    // state directory, and a command line is for every user to see.
    const QByteArray plan = QJsonDocument(record.plan).toJson(QJsonDocument::Compact);
    if (plan.size() > maximumPlanSize) {
        return Error{i18n("The session spec %1 is too large to start.", spec.name)};
    }

    auto cell = createCell(record);
    if (!cell) {
        return cell.error();
    }
    QProcess launcher;
    // Nothing of this process's environment goes into the cell (and its
    // snapshots): the plan, and a PATH with Rewind's own session programs
    // (rewind-demo-app) beside the cell's init.
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), m_paths.libexecDirectory + QStringLiteral(":/usr/local/bin:/usr/bin:/bin"));
    environment.insert(QStringLiteral("REWIND_SESSION_PLAN"), QString::fromUtf8(plan));
    launcher.setProcessEnvironment(environment);
    // Nor its working directory: one outside the cell would be in every
    // snapshot, and restores fail once it is gone.
    launcher.setWorkingDirectory(QStringLiteral("/"));
    QStringList arguments;
    const auto directories = cell->directories();
    for (const QString &directory : directories) {
        arguments << QStringLiteral("--cgroup") << directory;
    }
    if (cell->processLimit() > 0) {
        arguments << QStringLiteral("--max-processes") << QString::number(cell->processLimit());
    }
    arguments << QStringLiteral("--owner") << QStringLiteral("%1:%2").arg(user->first).arg(user->second) << QStringLiteral("--tmp-size")
              << QString::number(limits->tmpBytes) << QStringLiteral("--hostname") << record.id << QStringLiteral("--log") << QStringLiteral("/tmp/session.log")
              << QStringLiteral("--wait-for-start") << QStringLiteral("--") << m_paths.sessionProgram();
    launcher.start(m_paths.cellInitProgram(), arguments);
    const bool launched = launcher.waitForFinished(30000) && launcher.exitStatus() == QProcess::NormalExit && launcher.exitCode() == 0;
    bool pidOk = false;
    const pid_t initPid = launcher.readAllStandardOutput().trimmed().toInt(&pidOk);
    if (!launched || !pidOk || initPid <= 0) {
        const QString why = QString::fromLocal8Bit(launcher.readAllStandardError()).trimmed();
        launcher.kill();
        launcher.waitForFinished();
        // The init may have been forked into the cgroup already.
        (void)cell->killAndRemove();
        return Error{i18n("Could not start session %1: %2", record.id, why.isEmpty() ? launcher.errorString() : why)};
    }
    record.initPid = initPid;
    record.initStartTime = processStartTime(record.initPid);
    record.bootId = SessionRecord::currentBootId();
    if (auto saved = record.create(m_paths.sessionsDirectory()); !saved) {
        (void)killCell(record);
        record.initPid = -1;
        return saved.error();
    }
    // The session starts once its way out is there: its apps may connect at once.
    connectNetwork(record);
    if (::kill(record.initPid, SIGUSR1) != 0) {
        const QString why = QString::fromLocal8Bit(std::strerror(errno));
        (void)stopLocked(record.id);
        return Error{i18n("Could not start session %1: %2", record.id, why)};
    }
    if (auto ready = waitUntilReady(record, std::chrono::seconds(30)); !ready) {
        (void)stopLocked(record.id);
        return ready.error();
    }
    return record;
}

Result<void> SessionManager::waitUntilReady(const SessionRecord &record, std::chrono::milliseconds timeout) const
{
    const QString socket = vncSocketPath(record.initPid);
    const bool ready = waitFor(
        [&] {
            struct stat info;
            return !isAlive(record) || (::stat(QFile::encodeName(socket).constData(), &info) == 0 && S_ISSOCK(info.st_mode));
        },
        timeout);
    if (!ready || !isAlive(record)) {
        // The session's user controls the log: only its end, never through a
        // link, and only while the pid is still the cell's init.
        const auto log = isAlive(record) ? CellFile::readTail(record.initPid, "/tmp/session.log", 2000) : Result<QByteArray>(QByteArray());
        const QString details = log && isAlive(record) ? QString::fromLocal8Bit(*log).trimmed() : QString();
        return Error{i18n("Session %1 did not come up: its display server never answered.%2",
                          record.id,
                          details.isEmpty() ? QString() : QStringLiteral("\n") + details)};
    }
    return {};
}

Result<QImage> SessionManager::screenshot(const SessionRecord &record, std::chrono::milliseconds timeout) const
{
    const QStringList geometry = record.plan.value(QStringLiteral("geometry")).toString().split(QLatin1Char('x'));
    const QSize expected = geometry.size() == 2 ? QSize(geometry[0].toInt(), geometry[1].toInt()) : QSize();
    const auto gid = gid_t(record.plan.value(QStringLiteral("gid")).toInteger(0));
    return VncScreenshot::grabInCell(record.initPid, vncSocketInCell, timeout, record.ownerUid, gid, expected);
}

void SessionManager::connectNetwork(const SessionRecord &record) const
{
    // Without a way out a session still works, with its loopback only.
    if (auto connected = CellNetwork::connect(m_paths, record); !connected) {
        qWarning("%s", qPrintable(connected.errorMessage()));
    }
}

Result<void> SessionManager::killCell(const SessionRecord &record)
{
    (void)LiveViewRelay::endAll(m_paths, record.id); // they would end with the cell, a little later
    (void)CellNetwork::disconnect(m_paths, record.id); // it would end with the cell's network namespace
    const QString cgroupPath = this->cgroupPath(record);
    // A frozen cell cannot act on signals until it is thawed.
    if (QFileInfo::exists(cgroupPath)) {
        (void)CgroupFreezer::thaw(cgroupPath);
    }
    if (isAlive(record)) {
        signalInit(record, SIGTERM);
        waitFor(
            [&] {
                return !isAlive(record);
            },
            std::chrono::seconds(5));
    }
    if (QFileInfo::exists(cgroupPath)) {
        auto cgroup = Cgroup::open(QFileInfo(cgroupPath).path(), record.id);
        if (!cgroup) {
            return cgroup.error();
        }
        if (auto killed = cgroup->killAll(); !killed) {
            return killed.error();
        }
        if (auto removed = cgroup->remove(); !removed) {
            return removed.error();
        }
    }
    // Its directories in cgroup v1 hierarchies held the same processes.
    if (const auto limits = CellLimits::detect(m_paths.cgroupParent)) {
        const auto legacy = limits->legacyDirectories(record.ownerUid, record.id);
        for (const QString &directory : legacy) {
            if (auto removed = CgroupFiles::removeDirectory(directory); !removed) {
                return removed.error();
            }
        }
    }
    // A restored cell is a child of whoever restored it: reap it if that is us.
    if (record.initPid > 0) {
        ::waitpid(record.initPid, nullptr, WNOHANG);
    }
    return {};
}

Result<SessionLock> SessionManager::lock(const QString &id) const
{
    if (auto made = makePrivateDirectory(m_paths.sessionsDirectory()); !made) {
        return made.error();
    }
    return SessionLock::acquire(m_paths.sessionsDirectory(), id);
}

Result<void> SessionManager::stop(const QString &id)
{
    auto held = lock(id);
    if (!held) {
        return held.error();
    }
    return stopLocked(id);
}

Result<void> SessionManager::stop(const SessionLock &lock)
{
    return stopLocked(lock.sessionId());
}

Result<void> SessionManager::hibernate(const SessionLock &lock)
{
    return stopLocked(lock.sessionId(), true);
}

Result<void> SessionManager::stopLocked(const QString &id, bool hibernating)
{
    auto record = session(id);
    if (!record) {
        return record.error();
    }
    if (auto killed = killCell(*record); !killed) {
        return killed.error();
    }
    record->initPid = -1;
    record->initStartTime = 0;
    record->hibernated = hibernating;
    return record->save(m_paths.sessionsDirectory());
}

Result<void> SessionManager::openLiveView(const QString &id, gid_t gid, int directoryFd, const QString &socketName)
{
    // Not while a snapshot runs: a viewer connecting during the dump would make it fail.
    auto held = lock(id);
    if (!held) {
        return held.error();
    }
    auto record = session(id);
    if (!record) {
        return record.error();
    }
    if (const SessionState current = state(*record); current != SessionState::Running) {
        return Error{i18n("Session %1 is %2: only a running session can be viewed.", id, stateName(current))};
    }
    return LiveViewRelay::start(m_paths, *record, gid, directoryFd, socketName);
}

Result<QList<CheckpointabilityScan::Obstacle>> SessionManager::scan(const SessionRecord &record) const
{
    return CheckpointabilityScan::scan(record.initPid, LiveViewRelay::running(m_paths, record.id));
}

Result<void> SessionManager::endLiveViews(const SessionLock &lock)
{
    return LiveViewRelay::endAll(m_paths, lock.sessionId());
}

QStringList SessionManager::thawAbandoned()
{
    QStringList thawed;
    const auto all = sessions();
    for (const SessionRecord &record : all) {
        auto held = lock(record.id);
        if (!held) {
            continue; // at work in another process
        }
        const auto frozen = CgroupFreezer::isFreezeRequested(cgroupPath(record));
        if (frozen.ok() && *frozen && CgroupFreezer::thaw(cgroupPath(record)).ok()) {
            thawed.append(record.id);
        }
        // A cell that ended by itself leaves its way out running (pasta
        // cannot watch the cell's namespace, see CellNetwork).
        if (!isAlive(record)) {
            (void)CellNetwork::disconnect(m_paths, record.id);
        }
    }
    return thawed;
}

Result<void> SessionManager::remove(const QString &id)
{
    auto held = lock(id);
    if (!held) {
        return held.error();
    }
    if (auto stopped = stopLocked(id); !stopped) {
        return stopped.error();
    }
    if (auto forgotten = MemoryTracking(m_paths.sessionsDirectory()).forget(id); !forgotten) {
        return forgotten;
    }
    QFile::remove(m_paths.sessionsDirectory() + QLatin1Char('/') + id + QStringLiteral(".lock"));
    return SessionRecord::remove(m_paths.sessionsDirectory(), id);
}

Result<SessionRecord> SessionManager::session(const QString &id) const
{
    return SessionRecord::load(m_paths.sessionsDirectory(), id);
}

QList<SessionRecord> SessionManager::sessions() const
{
    QList<SessionRecord> result;
    const auto ids = SessionRecord::ids(m_paths.sessionsDirectory());
    for (const QString &id : ids) {
        if (auto record = session(id)) {
            result.append(*record);
        }
    }
    return result;
}

SessionState SessionManager::state(const SessionRecord &record) const
{
    if (record.initPid <= 0) {
        return record.hibernated ? SessionState::Hibernated : SessionState::Stopped;
    }
    if (!isAlive(record)) {
        return SessionState::Crashed;
    }
    const auto frozen = CgroupFreezer::isFrozen(cgroupPath(record));
    return frozen.ok() && *frozen ? SessionState::Frozen : SessionState::Running;
}

Result<QList<SessionProcess>> SessionManager::processes(const QString &id) const
{
    const auto record = session(id);
    if (!record) {
        return record.error();
    }
    auto cgroup = Cgroup::open(QFileInfo(cgroupPath(*record)).path(), id);
    if (!cgroup) {
        return cgroup.error();
    }
    auto pids = cgroup->processes();
    if (!pids) {
        return pids.error();
    }
    QList<SessionProcess> result;
    for (pid_t pid : *pids) {
        QFile comm(QStringLiteral("/proc/%1/comm").arg(pid));
        QFile cmdline(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (!comm.open(QIODevice::ReadOnly) || !cmdline.open(QIODevice::ReadOnly)) {
            continue; // exited meanwhile
        }
        QByteArray arguments = cmdline.read(4096);
        arguments.replace('\0', ' ');
        result.append({pid, QString::fromLocal8Bit(comm.readAll().trimmed()), QString::fromLocal8Bit(arguments.trimmed())});
    }
    return result;
}

Result<SessionRecord> SessionManager::adopt(SessionRecord record, pid_t initPid)
{
    record.initPid = initPid;
    record.initStartTime = processStartTime(initPid);
    record.hibernated = false;
    record.bootId = SessionRecord::currentBootId();
    if (auto saved = record.save(m_paths.sessionsDirectory()); !saved) {
        return saved.error();
    }
    // A restored cell has a fresh network namespace, with its loopback only.
    connectNetwork(record);
    return record;
}

} // namespace Rewind
