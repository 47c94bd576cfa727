// SPDX-License-Identifier: GPL-2.0-or-later
#include "StagingPlacement.h"

#include <QFile>

#include <algorithm>

namespace Rewind
{

namespace
{

/// What the memory cgroup of this process may still take (tmpfs pages are
/// charged to the writer's cgroup, and a helper started by the bus lives in
/// the bus's), or nullopt where it has no limit.
std::optional<qint64> cgroupHeadroom()
{
    QFile membership(QStringLiteral("/proc/self/cgroup"));
    if (!membership.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    auto number = [](const QString &path) -> std::optional<qint64> {
        QFile file(path);
        bool ok = false;
        const qint64 value = file.open(QIODevice::ReadOnly) ? file.readAll().trimmed().toLongLong(&ok) : 0;
        return ok ? std::optional<qint64>(value) : std::nullopt; // "max" is no number: no limit
    };
    // Lines read "0::/path" (cgroup v2) or "4:memory:/path" (v1).
    for (const QByteArray &line : membership.readAll().split('\n')) {
        const QList<QByteArray> fields = line.split(':');
        if (fields.size() != 3 || fields.at(2).contains("..")) {
            continue;
        }
        const QString path = QString::fromUtf8(fields.at(2));
        std::optional<qint64> limit;
        std::optional<qint64> used;
        if (fields.at(0) == "0" && fields.at(1).isEmpty()) {
            const QString directory = QStringLiteral("/sys/fs/cgroup") + path;
            limit = number(directory + QStringLiteral("/memory.high"));
            if (const auto max = number(directory + QStringLiteral("/memory.max")); max && (!limit || *max < *limit)) {
                limit = max;
            }
            used = number(directory + QStringLiteral("/memory.current"));
        } else if (fields.at(1) == "memory") {
            const QString directory = QStringLiteral("/sys/fs/cgroup/memory") + path;
            limit = number(directory + QStringLiteral("/memory.limit_in_bytes"));
            used = number(directory + QStringLiteral("/memory.usage_in_bytes"));
        }
        // v1 says "no limit" with a huge number.
        if (limit && used && *limit < (qint64(1) << 60)) {
            return std::max<qint64>(0, *limit - *used);
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<MemoryInfo> MemoryInfo::read()
{
    QFile file(QStringLiteral("/proc/meminfo"));
    if (!file.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    MemoryInfo info;
    // Lines read "MemAvailable:   123456 kB".
    for (const QByteArray &line : file.readAll().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() < 2) {
            continue;
        }
        bool ok = false;
        const qint64 kib = fields.at(1).toLongLong(&ok);
        if (!ok) {
            continue;
        }
        if (fields.at(0) == "MemTotal:") {
            info.totalBytes = kib * 1024;
        } else if (fields.at(0) == "MemAvailable:") {
            info.availableBytes = kib * 1024;
        }
    }
    if (info.totalBytes <= 0 || info.availableBytes <= 0) {
        return std::nullopt;
    }
    if (const auto headroom = cgroupHeadroom()) {
        info.availableBytes = std::min(info.availableBytes, *headroom);
    }
    return info;
}

StagingPlacement StagingPlacement::choose(qint64 expectedBytes, const std::optional<MemoryInfo> &memory)
{
    if (!memory || expectedBytes <= 0) {
        return {};
    }
    const qint64 reserve = std::max<qint64>(memory->totalBytes / 8, qint64(256) * 1024 * 1024);
    const qint64 usable = memory->availableBytes - reserve;
    if (expectedBytes + expectedBytes / 4 > usable) {
        return {};
    }
    return {StagingPlace::Memory, usable};
}

} // namespace Rewind
