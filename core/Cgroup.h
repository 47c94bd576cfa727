// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>
#include <QString>

#include <chrono>

#include <sys/types.h>

namespace Rewind
{

/// The cgroup v2 directory of one cell, under a parent directory that
/// belongs to Rewind. Names are plain names, never paths: [a-z0-9-]{1,64}.
class Cgroup
{
public:
    /// Where Rewind keeps the cgroups of its cells.
    static QString defaultParent();
    static bool isValidName(const QString &name);

    /// Makes the cgroup NAME under PARENT (creating PARENT with mode 0755
    /// if missing). Fails if it exists already or a symlink is on the way.
    static Result<Cgroup> create(const QString &parent, const QString &name);
    /// An existing cgroup NAME under PARENT.
    static Result<Cgroup> open(const QString &parent, const QString &name);

    QString name() const
    {
        return m_name;
    }
    QString parent() const
    {
        return m_parent;
    }
    QString path() const;
    bool exists() const;

    /// The processes in the cgroup (cgroup.procs), as pids of this pid namespace.
    Result<QList<pid_t>> processes() const;
    /// SIGKILL to every process in the cgroup, then waits until it is empty.
    Result<void> killAll(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Removes the (empty) cgroup directory.
    Result<void> remove();

private:
    Cgroup(const QString &parent, const QString &name);

    QString m_parent;
    QString m_name;
};

} // namespace Rewind
