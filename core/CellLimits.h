// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CellCgroups.h"
#include "MountTable.h"
#include "Result.h"
#include "SessionLimits.h"

#include <QList>
#include <QString>

#include <sys/types.h>

namespace Rewind
{

/// How much of the machine the sessions of one user may take together, and
/// where each limit comes from: the user's systemd slice
/// (user.slice/user-UID.slice of the cgroup v2 hierarchy) where systemd sets
/// one, so that a session gets no more than the user gets elsewhere, else
/// the administrator's limits.conf (SessionLimits).
struct UserLimits {
    qint64 tasks = -1; ///< processes and threads; -1: none
    qint64 memoryBytes = -1; ///< -1: none
    QString tasksSource;
    QString memorySource;

    /// SLICEROOT is the root of the cgroup v2 hierarchy, where user.slice is.
    static UserLimits of(uid_t uid, const QString &sliceRoot, const SessionLimits &configured);
    /// The same from the slice's pids.max and memory.max as read (empty
    /// where it has none, "max" where it sets no limit).
    static UserLimits fromSlice(const QString &slice, const QByteArray &pidsMax, const QByteArray &memoryMax, const SessionLimits &configured);
};

/// How one kind of limit is kept, the best the machine has first.
enum class LimitMechanism {
    UnifiedCgroup, ///< a controller of the cgroup v2 hierarchy
    LegacyCgroup, ///< a cgroup v1 hierarchy of the controller (hybrid layouts)
    ProcessLimit, ///< RLIMIT_NPROC of the cell's processes (tasks only)
    None, ///< nothing limits it
};

/// Where the cells of one user live and how they are limited on this
/// machine. Cells live in a parent of their user's, PARENT/user-UID/CELL,
/// which holds the user's limits (UserLimits) for all their cells together.
/// What the machine has is detected at run time from the mounts this
/// process sees, for the pids and the memory controller each: the cgroup v2
/// controller where the hierarchy has it (enabled in cgroup.subtree_control
/// from its root down to the user's parent), else a cgroup v1 hierarchy of
/// the controller (found by its mount options), where the cell gets the same
/// directories; else, for processes only, RLIMIT_NPROC set before the cell's
/// user namespace is made, which the kernel counts per user in that
/// namespace, so per cell.
class CellLimits
{
public:
    /// PARENT is the cgroup v2 directory of all cells (RewindPaths::cgroupParent).
    static Result<CellLimits> detect(const QString &parent);
    /// The same on a given mount table.
    static Result<CellLimits> detect(const QString &parent, const QList<MountEntry> &mounts);

    LimitMechanism tasks() const
    {
        return m_tasks;
    }
    LimitMechanism memory() const
    {
        return m_memory;
    }
    /// What keeps each limit, in words (for logs and tests).
    QString describe() const;
    /// Where the cgroup v2 hierarchy of the parent is mounted.
    QString unifiedMount() const
    {
        return m_unifiedMount;
    }

    /// PARENT/user-UID.
    static QString userParent(const QString &parent, uid_t uid);
    /// The user's parent in every hierarchy used, the cgroup v2 one first.
    QStringList userParents(uid_t uid) const;
    /// The parent of all cells in every hierarchy used, the cgroup v2 one first.
    QStringList parents() const;
    /// The cgroup v1 directories of cell NAME of user UID.
    QStringList legacyDirectories(uid_t uid, const QString &name) const;

    /// Makes the user's parent in every hierarchy used with LIMITS applied,
    /// and the cell's cgroups in it. Fails if the cell's cgroup v2 directory
    /// exists already.
    Result<CellCgroups> createCell(uid_t uid, const QString &name, const UserLimits &limits) const;

private:
    Result<void> enableUnifiedControllers(uid_t uid) const;
    Result<void> makeLegacyParent(const QString &mount, uid_t uid, const QByteArray &file, qint64 value) const;

    QString m_parent;
    QString m_unifiedMount;
    QString m_relativeParent; ///< the parent below the root of its hierarchy, "/rewind"
    QString m_legacyPidsMount;
    QString m_legacyMemoryMount;
    LimitMechanism m_tasks = LimitMechanism::None;
    LimitMechanism m_memory = LimitMechanism::None;
};

} // namespace Rewind
