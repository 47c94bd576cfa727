// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellNetwork.h"

#include "Cgroup.h"
#include "OwnerProcess.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>
#include <QProcess>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// pasta sets up the tap device, then leaves a copy in the background.
constexpr int pastaStartTimeoutMs = 10000;

} // namespace

const QByteArray &CellNetwork::pastaBinary()
{
    static const QByteArray binary = [] {
        for (const char *candidate : {"/usr/bin/pasta", "/usr/local/bin/pasta", "/bin/pasta"}) {
            struct stat status;
            if (::stat(candidate, &status) == 0 && S_ISREG(status.st_mode) && ::access(candidate, X_OK) == 0) {
                return QByteArray(candidate);
            }
        }
        return QByteArray();
    }();
    return binary;
}

Result<void> CellNetwork::connect(const RewindPaths &paths, const SessionRecord &record)
{
    if (pastaBinary().isEmpty()) {
        return Error{i18n("Session %1 has no network beyond its own loopback: pasta is not installed (package passt).", record.id)};
    }
    // pasta, which keeps capabilities of root's, must configure the cell's
    // network and no other: were the cell's init gone and its pid taken by
    // another process, that process's network might be Rewind's own.
    const QByteArray namespacePath = QFile::encodeName(QStringLiteral("/proc/%1/ns/net").arg(record.initPid));
    struct stat cellStatus;
    struct stat ownStatus;
    if (::stat(namespacePath.constData(), &cellStatus) != 0 || ::stat("/proc/self/ns/net", &ownStatus) != 0
        || (cellStatus.st_dev == ownStatus.st_dev && cellStatus.st_ino == ownStatus.st_ino)) {
        return Error{i18n("Session %1 has no network beyond its own loopback: its first process is gone or has no network namespace of its own.", record.id)};
    }
    if (auto ended = disconnect(paths, record.id); !ended) {
        return ended.error();
    }
    auto cgroup = Cgroup::create(paths.networkCgroupParent(), record.id);
    if (!cgroup) {
        return cgroup.error();
    }
    const QByteArray procsPath = QFile::encodeName(cgroup->path() + QStringLiteral("/cgroup.procs"));
    const UniqueFd procs(::open(procsPath.constData(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!procs) {
        const QString why = QString::fromLocal8Bit(std::strerror(errno));
        (void)cgroup->remove();
        return Error{i18n("Cannot connect session %1 to the network: %2", record.id, why)};
    }
    QProcess pasta;
    pasta.setProgram(QFile::decodeName(pastaBinary()));
    // No port forwarding either way (-t/-u/-T/-U none): the cell's listeners
    // stay its own, and a branch's do not collide with the original's.
    // pasta cannot watch /proc/<init>/ns for the namespace to go (the
    // cell's init is not root's to look into once pasta dropped its
    // capabilities): Rewind ends it with the session (--no-netns-quit).
    pasta.setArguments({QStringLiteral("--config-net"),
                        QStringLiteral("--quiet"),
                        QStringLiteral("--no-netns-quit"),
                        QStringLiteral("--netns"),
                        QStringLiteral("/proc/%1/ns/net").arg(record.initPid),
                        QStringLiteral("--netns-only"),
                        QStringLiteral("--runas"),
                        QStringLiteral("0:0"),
                        QStringLiteral("--tcp-ports"),
                        QStringLiteral("none"),
                        QStringLiteral("--udp-ports"),
                        QStringLiteral("none"),
                        QStringLiteral("--tcp-ns"),
                        QStringLiteral("none"),
                        QStringLiteral("--udp-ns"),
                        QStringLiteral("none")});
    pasta.setProcessEnvironment(QProcessEnvironment());
    pasta.setWorkingDirectory(QStringLiteral("/"));
    pasta.setStandardInputFile(QProcess::nullDevice());
    pasta.setStandardOutputFile(QProcess::nullDevice());
    runAsOwner(pasta, ::geteuid(), ::getegid(), {}, procs.get());
    pasta.start(QIODevice::ReadOnly);
    const bool finished = pasta.waitForFinished(pastaStartTimeoutMs);
    if (!finished || pasta.exitStatus() != QProcess::NormalExit || pasta.exitCode() != 0) {
        QString detail = pasta.error() == QProcess::FailedToStart ? pasta.errorString() : printableLine(pasta.readAllStandardError().left(400));
        if (!finished) {
            detail = i18n("pasta did not start within %1 seconds", pastaStartTimeoutMs / 1000);
        }
        pasta.kill();
        pasta.waitForFinished(1000);
        (void)disconnect(paths, record.id);
        return Error{i18n("Session %1 has no network beyond its own loopback: %2", record.id, detail.isEmpty() ? i18n("pasta did not start") : detail)};
    }
    return {};
}

Result<void> CellNetwork::disconnect(const RewindPaths &paths, const QString &sessionId)
{
    auto cgroup = Cgroup::open(paths.networkCgroupParent(), sessionId);
    if (!cgroup) {
        return {}; // none was started, or it is gone already
    }
    if (auto killed = cgroup->killAll(); !killed) {
        return killed.error();
    }
    return cgroup->remove();
}

bool CellNetwork::isConnected(const RewindPaths &paths, const QString &sessionId)
{
    auto cgroup = Cgroup::open(paths.networkCgroupParent(), sessionId);
    if (!cgroup) {
        return false;
    }
    auto processes = cgroup->processes();
    return processes && !processes->isEmpty();
}

} // namespace Rewind
