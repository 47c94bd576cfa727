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
    QStringList superOptions; ///< the file system's own options ("rw", "pids", "memory" of a cgroup v1 hierarchy)
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
    /// root, the cell's private /tmp and /dev/shm (the topmost tmpfs there),
    /// its terminals (devpts at /dev/pts) and proc, which CRIU mounts afresh.
    /// Inherited mounts (the host's /sys, /dev, /run) are external: other users' files must not
    /// end up in a snapshot, and a user namespace cannot mount them afresh.
    static QStringList externalMountPoints(const QList<MountEntry> &mounts);
};

} // namespace Rewind
