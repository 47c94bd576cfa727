// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <sys/types.h>

namespace Rewind
{

/// One line of /proc/PID/mountinfo.
struct MountEntry {
    QString root; ///< the part of the filesystem that is mounted
    QString mountPoint;
    QString fsType;
    QString source;
};

/// The mounts a process sees, and which of them CRIU must treat as external.
class MountTable
{
public:
    static Result<QList<MountEntry>> read(pid_t pid);
    static QList<MountEntry> parse(const QByteArray &mountinfo);

    /// The mount points CRIU must treat as external: Rewind marks them so and
    /// binds the same paths again on restore, and their content is not in the
    /// snapshot. Everything is external except what belongs to the cell: the
    /// root, the cell's private /tmp (the topmost tmpfs there) and kernel
    /// file systems CRIU recreates (proc, sysfs, cgroup2, devpts, mqueue...).
    /// Inherited tmpfs mounts (the host's /run, /dev/shm) are external: other
    /// users' files must not end up in a snapshot.
    static QStringList externalMountPoints(const QList<MountEntry> &mounts);
};

} // namespace Rewind
