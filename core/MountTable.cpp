// SPDX-License-Identifier: GPL-2.0-or-later
#include "MountTable.h"

#include <KLocalizedString>

#include <QFile>

namespace Rewind
{
namespace
{

/// mountinfo escapes space, tab, newline and backslash as \ooo.
QString unescape(const QByteArray &field)
{
    QByteArray out;
    out.reserve(field.size());
    for (qsizetype i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            bool ok = false;
            const int value = field.mid(i + 1, 3).toInt(&ok, 8);
            if (ok) {
                out.append(char(value));
                i += 3;
                continue;
            }
        }
        out.append(field[i]);
    }
    return QString::fromUtf8(out);
}

} // namespace

QList<MountEntry> MountTable::parse(const QByteArray &mountinfo)
{
    QList<MountEntry> mounts;
    const auto lines = mountinfo.split('\n');
    for (const QByteArray &line : lines) {
        const auto fields = line.split(' ');
        const auto separator = fields.indexOf("-");
        if (fields.size() < 7 || separator < 6 || separator + 2 >= fields.size()) {
            continue;
        }
        mounts.append(MountEntry{
            .root = unescape(fields[3]),
            .mountPoint = unescape(fields[4]),
            .fsType = QString::fromUtf8(fields[separator + 1]),
            .source = unescape(fields[separator + 2]),
            .superOptions = separator + 3 < fields.size() ? unescape(fields[separator + 3]).split(QLatin1Char(',')) : QStringList(),
        });
    }
    return mounts;
}

Result<QList<MountEntry>> MountTable::read(pid_t pid)
{
    QFile file(QStringLiteral("/proc/%1/mountinfo").arg(pid));
    if (!file.open(QIODevice::ReadOnly)) {
        return Error{i18n("Cannot read the mounts of process %1: %2", QString::number(pid), file.errorString())};
    }
    return parse(file.readAll());
}

QStringList MountTable::externalMountPoints(const QList<MountEntry> &mounts)
{
    // The mounts rewind-cell-init makes for the cell, the topmost (last
    // listed) at their mount points: their content is the session's. Its
    // proc CRIU mounts afresh, as it does the host's proc below it (which a
    // user namespace needs to mount its own). Everything else comes from the
    // host and is bound again on restore: inside a user namespace sysfs
    // cannot be mounted afresh. The cell's terminals (devpts) CRIU mounts
    // afresh as well.
    const auto isTopmost = [&mounts](qsizetype index) {
        for (qsizetype later = index + 1; later < mounts.size(); ++later) {
            if (mounts[later].mountPoint == mounts[index].mountPoint) {
                return false;
            }
        }
        return true;
    };
    const auto isCellOwn = [&](qsizetype index) {
        const MountEntry &mount = mounts[index];
        const bool tmpfs =
            mount.fsType == QLatin1String("tmpfs") && (mount.mountPoint == QLatin1String("/tmp") || mount.mountPoint == QLatin1String("/dev/shm"));
        const bool terminals = mount.fsType == QLatin1String("devpts") && mount.mountPoint == QLatin1String("/dev/pts");
        return (tmpfs || terminals) && isTopmost(index);
    };
    QStringList external;
    for (qsizetype i = 0; i < mounts.size(); ++i) {
        const MountEntry &mount = mounts[i];
        if (mount.mountPoint == QLatin1String("/") || mount.fsType == QLatin1String("proc") || isCellOwn(i)) {
            continue;
        }
        if (!external.contains(mount.mountPoint)) {
            external.append(mount.mountPoint);
        }
    }
    return external;
}

} // namespace Rewind
