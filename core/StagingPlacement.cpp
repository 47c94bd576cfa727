// SPDX-License-Identifier: GPL-2.0-or-later
#include "StagingPlacement.h"

#include <QFile>

#include <algorithm>

namespace Rewind
{

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
