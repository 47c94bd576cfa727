// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Cgroup.h"
#include "Result.h"

#include <QStringList>

namespace Rewind
{

/// The cgroups of one cell: its cgroup v2 directory, which is frozen, listed
/// and killed, and its directories in the cgroup v1 hierarchies that keep
/// its limits where cgroup v2 lacks the controller (see CellLimits). The
/// cell's processes belong to all of them.
class CellCgroups
{
public:
    CellCgroups(Cgroup unified, QStringList legacy, qint64 processLimit = -1)
        : m_unified(std::move(unified))
        , m_legacy(std::move(legacy))
        , m_processLimit(processLimit)
    {
    }

    const Cgroup &unified() const
    {
        return m_unified;
    }
    Cgroup &unified()
    {
        return m_unified;
    }
    /// The cell's directories in cgroup v1 hierarchies; often none.
    QStringList legacy() const
    {
        return m_legacy;
    }
    /// Every directory the cell's processes join, the cgroup v2 one first.
    QStringList directories() const
    {
        return QStringList{m_unified.path()} + m_legacy;
    }
    /// Where no pids controller limits the cell: the RLIMIT_NPROC its
    /// processes get, counted by the kernel per user in the cell's own user
    /// namespace; -1 for none.
    qint64 processLimit() const
    {
        return m_processLimit;
    }

    /// Kills every process of the cell and removes its directories in every hierarchy.
    Result<void> killAndRemove();
    /// Removes the cell's cgroup v1 directories, which empty with the cell;
    /// missing ones are fine.
    Result<void> removeLegacy() const;

private:
    Cgroup m_unified;
    QStringList m_legacy;
    qint64 m_processLimit = -1;
};

} // namespace Rewind
