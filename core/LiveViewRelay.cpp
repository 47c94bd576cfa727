// SPDX-License-Identifier: GPL-2.0-or-later
#include "LiveViewRelay.h"

#include "Cgroup.h"
#include "OwnerProcess.h"
#include "SessionManager.h"
#include "SocketFile.h"

#include <KLocalizedString>

#include <QFile>
#include <QProcess>

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace Rewind
{
namespace
{

/// The relay says why it failed in one line; it runs as the owner, so the line is kept short and printable.
QString relayDetail(QByteArray output)
{
    output = output.left(200);
    output = output.left(output.indexOf('\n') < 0 ? output.size() : output.indexOf('\n'));
    for (char &c : output) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) {
            c = ' ';
        }
    }
    return QString::fromUtf8(output).trimmed();
}

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

    QProcess relay;
    relay.setProgram(paths.liveRelayProgram());
    relay.setArguments({QStringLiteral("--target-fd"),
                        QString::number(display->socket.get()),
                        QStringLiteral("--cell-fd"),
                        QString::number(display->init.get()),
                        QStringLiteral("--directory-fd"),
                        QString::number(directoryFd),
                        QStringLiteral("--name"),
                        socketName});
    relay.setProcessEnvironment(QProcessEnvironment());
    relay.setWorkingDirectory(QStringLiteral("/"));
    relay.setStandardInputFile(QProcess::nullDevice());
    relay.setStandardErrorFile(QProcess::nullDevice());
    relay.setProcessChannelMode(QProcess::SeparateChannels);
    runAsOwner(relay, record.ownerUid, gid, {display->socket.get(), display->init.get(), directoryFd}, procs.get());
    relay.start(QIODevice::ReadOnly);
    // The relay exits as soon as it listens, leaving a detached copy that relays.
    if (!relay.waitForFinished(10000) || relay.exitStatus() != QProcess::NormalExit || relay.exitCode() != 0) {
        const QString detail = relay.error() == QProcess::FailedToStart ? relay.errorString() : relayDetail(relay.readAllStandardOutput());
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
