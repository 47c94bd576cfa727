// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

namespace Rewind
{

/// Where Rewind keeps its state. Fixed, root-owned locations in production;
/// tests and the development tree point them elsewhere through the
/// environment (REWIND_STATE_DIR, REWIND_CGROUP_PARENT, REWIND_LIBEXEC_DIR),
/// which only root can set for root's processes.
struct RewindPaths {
    QString stateDirectory; ///< /var/lib/rewind
    QString cgroupParent; ///< /sys/fs/cgroup/rewind
    QString libexecDirectory; ///< rewind-cell-init and rewind-session

    QString storeDirectory() const;
    QString sessionsDirectory() const;
    QString stagingDirectory() const;
    QString cellInitProgram() const;
    QString sessionProgram() const;
    QString liveRelayProgram() const;
    /// Where the live-view relays of each session run, one cgroup a session:
    /// beside the cells, never inside one (a freeze or a dump must not reach them).
    QString viewersCgroupParent() const;
    /// Where the sessions' ways out to the network (CellNetwork) run, beside the cells.
    QString networkCgroupParent() const;

    static RewindPaths system();
    /// A program of Rewind's, by its path below the libexec directory: where
    /// REWIND_LIBEXEC_DIR says, else beside the running program (the build
    /// tree, where the tests run), else the installed one; empty if none is
    /// an executable file.
    static QString findProgram(const QString &relativePath);
};

} // namespace Rewind
