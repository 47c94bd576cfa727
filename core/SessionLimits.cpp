// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionLimits.h"

#include <KLocalizedString>

#include <QFile>

#include <optional>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// "2G", "512M", "64K" or bytes; nullopt if it is none of those or not positive.
std::optional<qint64> parseSize(QString text)
{
    text = text.trimmed().toUpper();
    qint64 unit = 1;
    if (text.endsWith(QLatin1Char('K'))) {
        unit = 1024;
    } else if (text.endsWith(QLatin1Char('M'))) {
        unit = 1024 * 1024;
    } else if (text.endsWith(QLatin1Char('G'))) {
        unit = 1024 * 1024 * 1024;
    }
    if (unit != 1) {
        text.chop(1);
    }
    bool ok = false;
    const qint64 number = text.toLongLong(&ok);
    if (!ok || number <= 0 || number > (qint64(1) << 50) / unit) {
        return std::nullopt;
    }
    return number * unit;
}

Result<void> readStoreKey(SessionLimits &limits, const QString &key, const QString &value, const QString &file)
{
    if (key == QLatin1String("SnapshotsPerUser")) {
        bool ok = false;
        limits.snapshotsPerUser = value.toLongLong(&ok);
        if (!ok || limits.snapshotsPerUser < 1) {
            return Error{i18n("SnapshotsPerUser in %1 must be a number of snapshots, 1 or more.", file)};
        }
        return {};
    }
    qint64 *size = key == QLatin1String("BytesPerUser") ? &limits.storeBytesPerUser : key == QLatin1String("FreeSpaceFloor") ? &limits.freeSpaceFloor : nullptr;
    if (!size) {
        return {};
    }
    const auto parsed = parseSize(value);
    if (!parsed) {
        return Error{i18n("%1 in %2 must be a size such as 512M or 2G.", key, file)};
    }
    *size = *parsed;
    return {};
}

/// "75%" of the machine's memory, or a size as parseSize() takes it.
std::optional<qint64> parseMemory(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed.endsWith(QLatin1Char('%'))) {
        bool ok = false;
        const int percent = trimmed.chopped(1).trimmed().toInt(&ok);
        if (!ok || percent < 1 || percent > 100) {
            return std::nullopt;
        }
        return SessionLimits::physicalMemory() / 100 * percent;
    }
    return parseSize(trimmed);
}

} // namespace

StoreQuota SessionLimits::storeQuotaFor(uid_t owner) const
{
    StoreQuota quota;
    quota.freeSpaceFloor = freeSpaceFloor;
    if (owner != 0) {
        quota.bytesPerOwner = storeBytesPerUser;
        quota.snapshotsPerOwner = snapshotsPerUser;
    }
    return quota;
}

qint64 SessionLimits::physicalMemory()
{
    return qint64(::sysconf(_SC_PHYS_PAGES)) * qint64(::sysconf(_SC_PAGESIZE));
}

QString SessionLimits::configFile()
{
    const QString overridden = qEnvironmentVariable("REWIND_LIMITS_FILE");
    return overridden.isEmpty() ? QStringLiteral("/etc/rewind/limits.conf") : overridden;
}

Result<SessionLimits> SessionLimits::read(const QString &file)
{
    SessionLimits limits;
    QFile config(file);
    if (!config.exists()) {
        return limits;
    }
    if (!config.open(QIODevice::ReadOnly)) {
        return Error{i18n("The limits in %1 cannot be read: %2", file, config.errorString())};
    }
    // An INI file of one group, read here rather than with QSettings, which
    // caches files by name and time.
    QString group;
    const auto lines = config.read(64 * 1024).split('\n');
    for (const QByteArray &raw : lines) {
        const QString line = QString::fromUtf8(raw).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')) || line.startsWith(QLatin1Char(';'))) {
            continue;
        }
        if (line.startsWith(QLatin1Char('[')) && line.endsWith(QLatin1Char(']'))) {
            group = line.mid(1, line.size() - 2).trimmed();
            continue;
        }
        const qsizetype equals = line.indexOf(QLatin1Char('='));
        if (equals < 0) {
            continue;
        }
        const QString key = line.left(equals).trimmed();
        const QString value = line.mid(equals + 1).section(QLatin1Char('#'), 0, 0).trimmed();
        if (group == QLatin1String("Store")) {
            if (auto read = readStoreKey(limits, key, value, file); !read) {
                return read.error();
            }
            continue;
        }
        if (group != QLatin1String("Sessions")) {
            continue;
        }
        if (key == QLatin1String("RunningPerUser")) {
            bool ok = false;
            limits.runningPerUser = value.toInt(&ok);
            if (!ok || limits.runningPerUser < 1) {
                return Error{i18n("RunningPerUser in %1 must be a number of sessions, 1 or more.", file)};
            }
        } else if (key == QLatin1String("TmpSize")) {
            const auto size = parseSize(value);
            if (!size) {
                return Error{i18n("TmpSize in %1 must be a size such as 512M or 2G.", file)};
            }
            limits.tmpBytes = *size;
        } else if (key == QLatin1String("TasksMax")) {
            bool ok = false;
            limits.tasksMax = value.toLongLong(&ok);
            if (!ok || limits.tasksMax < 16 || limits.tasksMax > 4194304) {
                return Error{i18n("TasksMax in %1 must be a number of processes and threads, from 16 to 4194304.", file)};
            }
        } else if (key == QLatin1String("MemoryMax")) {
            const auto size = parseMemory(value);
            if (!size || *size < 16 * 1024 * 1024) {
                return Error{i18n("MemoryMax in %1 must be a size of at least 16M, such as 4G, or a share of the machine's memory, such as 75%.", file)};
            }
            limits.memoryMaxBytes = *size;
        }
    }
    return limits;
}

} // namespace Rewind
