// SPDX-License-Identifier: GPL-2.0-or-later
#include "MemoryTracking.h"

#include "AtomicFile.h"

#include <KLocalizedString>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace Rewind
{
namespace
{

const QString snapshotKey = QStringLiteral("snapshot");
const QString initPidKey = QStringLiteral("initPid");
const QString initStartTimeKey = QStringLiteral("initStartTime");
const QString bootIdKey = QStringLiteral("bootId");
const QString incrementalDumpsKey = QStringLiteral("incrementalDumps");

} // namespace

MemoryTracking::MemoryTracking(const QString &sessionsDirectory)
    : m_directory(sessionsDirectory)
{
}

QString MemoryTracking::fileName(const QString &sessionId) const
{
    return sessionId + QStringLiteral(".tracked");
}

std::optional<TrackedParent> MemoryTracking::parentFor(const SessionRecord &record, qint64 newestSnapshot) const
{
    QFile file(m_directory + QLatin1Char('/') + fileName(record.id));
    if (newestSnapshot <= 0 || !file.open(QIODevice::ReadOnly) || file.size() > 4096) {
        return std::nullopt;
    }
    const QJsonObject tracked = QJsonDocument::fromJson(file.readAll()).object();
    // The same cell: its init, started in this boot, is the one the bits were reset in.
    const bool sameCell = tracked.value(initPidKey).toInteger(-1) == record.initPid
        && tracked.value(initStartTimeKey).toString() == QString::number(record.initStartTime) && tracked.value(bootIdKey).toString() == record.bootId
        && record.bootId == SessionRecord::currentBootId();
    const qint64 incrementalDumps = tracked.value(incrementalDumpsKey).toInteger(-1);
    if (!sameCell || tracked.value(snapshotKey).toInteger(-1) != newestSnapshot || incrementalDumps < 0 || incrementalDumps >= maximumIncrementalDumps) {
        return std::nullopt;
    }
    return TrackedParent{newestSnapshot, int(incrementalDumps)};
}

Result<void> MemoryTracking::forget(const QString &sessionId) const
{
    const QByteArray path = QFile::encodeName(m_directory + QLatin1Char('/') + fileName(sessionId));
    if (::unlink(path.constData()) != 0 && errno != ENOENT) {
        return Error{i18n("Cannot remove %1: %2", QFile::decodeName(path), QString::fromLocal8Bit(std::strerror(errno)))};
    }
    return {};
}

Result<void> MemoryTracking::remember(const SessionRecord &record, qint64 snapshotId, const std::optional<TrackedParent> &parent) const
{
    const QJsonObject tracked{
        {snapshotKey, snapshotId},
        {incrementalDumpsKey, parent ? parent->incrementalDumps + 1 : 0},
        {initPidKey, qint64(record.initPid)},
        {initStartTimeKey, QString::number(record.initStartTime)},
        {bootIdKey, record.bootId},
    };
    return writeFileAtomically(m_directory, fileName(record.id), QJsonDocument(tracked).toJson(QJsonDocument::Compact));
}

} // namespace Rewind
