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

    /// Mount points backed by real storage (disks, bind mounts of them).
    /// CRIU cannot recreate those itself; Rewind marks them external and
    /// binds the same paths again on restore. Kernel filesystems and tmpfs
    /// (the session's private /tmp, /dev/shm) belong to the snapshot.
    static QStringList externalMountPoints(const QList<MountEntry> &mounts);
};

} // namespace Rewind
