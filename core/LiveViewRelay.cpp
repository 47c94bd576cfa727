// SPDX-License-Identifier: GPL-2.0-or-later
#include "LiveViewRelay.h"

#include "Cgroup.h"
#include "OwnerProcess.h"
#include "SessionManager.h"
#include "SocketFile.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QProcess>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// Long enough for a loaded machine; a relay stopped by its owner holds the helper up no longer.
constexpr int relayStartTimeoutMs = 5000;

} // namespace

Result<void> LiveViewRelay::start(const RewindPaths &paths, const SessionRecord &record, gid_t gid, int directoryFd, const QString &socketName)
{
    if (auto ended = endAll(paths, record.id); !ended) {
        return ended.error();
    }
    auto display = openCellSocket(record.initPid, SessionManager::vncSocketInCell);
    if (!display) {
        return display.error();
    }
    auto cgroup = Cgroup::create(paths.viewersCgroupParent(), record.id);
    if (!cgroup) {
        return cgroup.error();
    }
    const QByteArray procsPath = QFile::encodeName(cgroup->path() + QStringLiteral("/cgroup.procs"));
    UniqueFd procs(::open(procsPath.constData(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!procs) {
        const QString why = QString::fromLocal8Bit(std::strerror(errno));
        (void)cgroup->remove();
        return Error{i18n("Cannot prepare the live view of session %1: %2", record.id, why)};
    }

    // The relay reports a failure on a pipe of its own, read here with a bound:
    // it runs as the owner, whose process may write anything.
    int statusPipe[2];
    if (::pipe2(statusPipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        const QString why = QString::fromLocal8Bit(std::strerror(errno));
        (void)cgroup->remove();
        return Error{i18n("Cannot prepare the live view of session %1: %2", record.id, why)};
    }
    const UniqueFd statusRead(statusPipe[0]);
    UniqueFd statusWrite(statusPipe[1]);

    QProcess relay;
    relay.setProgram(paths.liveRelayProgram());
    relay.setArguments({QStringLiteral("--target-fd"),
                        QString::number(display->socket.get()),
                        QStringLiteral("--cell-fd"),
                        QString::number(display->init.get()),
                        QStringLiteral("--directory-fd"),
                        QString::number(directoryFd),
                        QStringLiteral("--name"),
                        socketName,
                        QStringLiteral("--status-fd"),
                        QString::number(statusWrite.get())});
    relay.setProcessEnvironment(QProcessEnvironment());
    relay.setWorkingDirectory(QStringLiteral("/"));
    relay.setStandardInputFile(QProcess::nullDevice());
    relay.setStandardOutputFile(QProcess::nullDevice());
    relay.setStandardErrorFile(QProcess::nullDevice());
    runAsOwner(relay, record.ownerUid, gid, {display->socket.get(), display->init.get(), directoryFd, statusWrite.get()}, procs.get());
    relay.start(QIODevice::ReadOnly);
    statusWrite.reset();
    // The relay exits as soon as it listens, leaving a detached copy that relays.
    const bool finished = relay.waitForFinished(relayStartTimeoutMs);
    if (!finished || relay.exitStatus() != QProcess::NormalExit || relay.exitCode() != 0) {
        char line[200];
        const ssize_t got = ::read(statusRead.get(), line, sizeof line);
        QString detail = relay.error() == QProcess::FailedToStart ? relay.errorString() : printableLine(QByteArray(line, int(std::max<ssize_t>(got, 0))));
        if (!finished) {
            detail = i18n("the relay did not start within %1 seconds", relayStartTimeoutMs / 1000);
        }
        relay.kill();
        relay.waitForFinished(1000);
        (void)endAll(paths, record.id);
        return Error{i18n("Could not open a live view of session %1: %2", record.id, detail.isEmpty() ? i18n("the relay did not start") : detail)};
    }
    return {};
}

Result<void> LiveViewRelay::endAll(const RewindPaths &paths, const QString &sessionId)
{
    auto cgroup = Cgroup::open(paths.viewersCgroupParent(), sessionId);
    if (!cgroup) {
        return {}; // no live view was ever opened
    }
    if (auto killed = cgroup->killAll(); !killed) {
        return Error{i18n("Could not end the live view of session %1: %2", sessionId, killed.errorMessage())};
    }
    return cgroup->remove();
}

void LiveViewRelay::removeEnded(const RewindPaths &paths)
{
    const QStringList sessions = QDir(paths.viewersCgroupParent()).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &session : sessions) {
        // Relays that ended by themselves (idle, or with their cell) leave their cgroup empty.
        if (auto cgroup = Cgroup::open(paths.viewersCgroupParent(), session); cgroup) {
            if (auto processes = cgroup->processes(); processes && processes->isEmpty()) {
                (void)cgroup->remove();
            }
        }
    }
}

QList<pid_t> LiveViewRelay::running(const RewindPaths &paths, const QString &sessionId)
{
    auto cgroup = Cgroup::open(paths.viewersCgroupParent(), sessionId);
    if (!cgroup) {
        return {};
    }
    auto processes = cgroup->processes();
    return processes ? *processes : QList<pid_t>();
}

} // namespace Rewind
