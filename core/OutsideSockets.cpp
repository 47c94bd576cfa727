// SPDX-License-Identifier: GPL-2.0-or-later
#include "OutsideSockets.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QSet>
#include <QThread>

#include <unistd.h>

namespace Rewind
{
namespace
{

/// The inodes of the unix sockets a /proc/.../net/unix lists.
QSet<quint32> unixSocketInodes(const QString &table)
{
    QSet<quint32> inodes;
    QFile file(table);
    if (!file.open(QIODevice::ReadOnly)) {
        return inodes;
    }
    const auto lines = file.readAll().split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QList<QByteArray> fields = lines[i].simplified().split(' ');
        if (fields.size() >= 7) {
            inodes.insert(fields[6].toUInt());
        }
    }
    return inodes;
}

bool holdsAny(pid_t pid, const QSet<quint32> &sockets)
{
    const QDir descriptors(QStringLiteral("/proc/%1/fd").arg(pid));
    const QStringList entries = descriptors.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        const QString target = QFile::symLinkTarget(descriptors.filePath(entry));
        // symLinkTarget makes the link absolute: ".../socket:[N]".
        const qsizetype at = target.lastIndexOf(QLatin1String("socket:["));
        if (at >= 0 && sockets.contains(target.mid(at + 8).chopped(1).toUInt())) {
            return true;
        }
    }
    return false;
}

} // namespace

QList<SessionProcess> OutsideSockets::holders(const QList<SessionProcess> &cellProcesses, pid_t cellInit)
{
    QList<SessionProcess> result;
    QSet<quint32> outside = unixSocketInodes(QStringLiteral("/proc/thread-self/net/unix"));
    outside.subtract(unixSocketInodes(QStringLiteral("/proc/%1/net/unix").arg(cellInit)));
    if (outside.isEmpty()) {
        return result;
    }
    for (const SessionProcess &process : cellProcesses) {
        if (holdsAny(process.pid, outside)) {
            result.append(process);
        }
    }
    return result;
}

Result<void> OutsideSockets::waitUntilClosed(const SessionManager &sessions, const SessionRecord &record, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto processes = sessions.processes(record.id);
        if (!processes) {
            return processes.error();
        }
        const QList<SessionProcess> holding = holders(*processes, record.initPid);
        if (holding.isEmpty()) {
            return {};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            QStringList names;
            for (const SessionProcess &process : holding) {
                names.append(i18nc("a process: its name and pid", "%1 (pid %2)", process.name, QString::number(process.pid)));
            }
            return Error{
                i18n("%1 still holds a connection from outside the session (such as a display viewer), which a snapshot cannot take along. Close "
                     "the viewer and try again.",
                     names.join(QStringLiteral(", ")))};
        }
        QThread::msleep(10);
    }
}

} // namespace Rewind
