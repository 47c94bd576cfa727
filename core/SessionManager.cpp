// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionManager.h"

#include "Cgroup.h"
#include "CgroupFreezer.h"

#include <KLocalizedString>

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QThread>

#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>

namespace Rewind
{
namespace
{

QJsonObject planOf(const SessionSpec &spec)
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
    };
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

bool isAlive(const SessionRecord &record)
{
    return record.initPid > 0 && processStartTime(record.initPid) == record.initStartTime;
}

} // namespace

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
    }
    return {};
}

SessionManager::SessionManager(RewindPaths paths)
    : m_paths(std::move(paths))
{
}

QString SessionManager::cgroupPath(const QString &id) const
{
    return m_paths.cgroupParent + QLatin1Char('/') + id;
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
    record.plan = planOf(spec);

    // The plan is read by rewind-session inside the cell, from the shared root file system.
    const QString planPath = m_paths.sessionsDirectory() + QLatin1Char('/') + record.id + QStringLiteral(".plan");
    QDir().mkpath(m_paths.sessionsDirectory());
    QFile planFile(planPath);
    if (!planFile.open(QIODevice::WriteOnly | QIODevice::Truncate) || planFile.write(QJsonDocument(record.plan).toJson()) < 0) {
        return Error{i18n("Cannot write the plan of session %1: %2", record.id, planFile.errorString())};
    }
    planFile.close();

    auto cgroup = Cgroup::create(m_paths.cgroupParent, record.id);
    if (!cgroup) {
        return cgroup.error();
    }
    QProcess launcher;
    // Rewind's own session programs (rewind-demo-app) live beside the cell's init.
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("PATH"),
                       m_paths.libexecDirectory + QLatin1Char(':') + environment.value(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin")));
    launcher.setProcessEnvironment(environment);
    launcher.start(m_paths.cellInitProgram(),
                   {QStringLiteral("--cgroup"),
                    cgroup->path(),
                    QStringLiteral("--hostname"),
                    record.id,
                    QStringLiteral("--log"),
                    QStringLiteral("/tmp/session.log"),
                    QStringLiteral("--"),
                    m_paths.sessionProgram(),
                    planPath});
    if (!launcher.waitForFinished(30000) || launcher.exitStatus() != QProcess::NormalExit || launcher.exitCode() != 0) {
        const QString why = QString::fromLocal8Bit(launcher.readAllStandardError()).trimmed();
        (void)cgroup->remove();
        return Error{i18n("Could not start session %1: %2", record.id, why.isEmpty() ? launcher.errorString() : why)};
    }
    record.initPid = launcher.readAllStandardOutput().trimmed().toInt();
    record.initStartTime = processStartTime(record.initPid);
    if (auto saved = record.save(m_paths.sessionsDirectory()); !saved) {
        (void)killCell(record);
        return saved.error();
    }
    if (auto ready = waitUntilReady(record, std::chrono::seconds(30)); !ready) {
        (void)stop(record.id);
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
        QFile log(cellPath(record.initPid, QStringLiteral("/tmp/session.log")));
        const QString details = log.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(log.readAll().right(2000)).trimmed() : QString();
        return Error{i18n("Session %1 did not come up: its display server never answered.%2",
                          record.id,
                          details.isEmpty() ? QString() : QStringLiteral("\n") + details)};
    }
    return {};
}

Result<void> SessionManager::killCell(const SessionRecord &record)
{
    if (isAlive(record)) {
        ::kill(record.initPid, SIGTERM);
        waitFor(
            [&] {
                return !isAlive(record);
            },
            std::chrono::seconds(5));
    }
    // A restored cell is a child of whoever restored it: reap it if that is us.
    if (record.initPid > 0) {
        ::waitpid(record.initPid, nullptr, WNOHANG);
    }
    auto cgroup = Cgroup::open(m_paths.cgroupParent, record.id);
    if (!cgroup) {
        return {}; // no cgroup: nothing left to kill
    }
    // A frozen cell cannot act on SIGKILL until it is thawed.
    (void)CgroupFreezer::thaw(cgroup->path());
    if (auto killed = cgroup->killAll(); !killed) {
        return killed.error();
    }
    return cgroup->remove();
}

Result<void> SessionManager::stop(const QString &id)
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
    return record->save(m_paths.sessionsDirectory());
}

Result<void> SessionManager::remove(const QString &id)
{
    if (auto stopped = stop(id); !stopped) {
        return stopped.error();
    }
    QFile::remove(m_paths.sessionsDirectory() + QLatin1Char('/') + id + QStringLiteral(".plan"));
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
        return SessionState::Stopped;
    }
    if (!isAlive(record)) {
        return SessionState::Crashed;
    }
    const auto frozen = CgroupFreezer::isFrozen(cgroupPath(record.id));
    return frozen.ok() && *frozen ? SessionState::Frozen : SessionState::Running;
}

Result<QList<SessionProcess>> SessionManager::processes(const QString &id) const
{
    auto cgroup = Cgroup::open(m_paths.cgroupParent, id);
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
    if (auto saved = record.save(m_paths.sessionsDirectory()); !saved) {
        return saved.error();
    }
    return record;
}

} // namespace Rewind
