// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CellCgroups.h"
#include "CheckpointabilityScan.h"
#include "Result.h"
#include "RewindPaths.h"
#include "SessionLock.h"
#include "SessionRecord.h"
#include "SessionSpec.h"

#include <QImage>
#include <QList>

#include <chrono>

namespace Rewind
{

enum class SessionState {
    Running,
    Frozen,
    Stopped,
    Crashed, ///< the record says it runs, but its cell is gone: it died, or the machine rebooted
    Hibernated, ///< snapshotted and stopped by hibernate(); recover() wakes it
};
/// The state in words, translated, for people.
QString stateName(SessionState state);
/// The state as JSON and scripts see it: "running", "frozen", "stopped", "crashed", "hibernated".
QString stateKey(SessionState state);

struct SessionProcess {
    pid_t pid = -1;
    QString name;
    QString commandLine;
};

/// Starts, stops and watches sessions: each one a cell (cgroup, namespaces,
/// rewind-cell-init) running rewind-session with the session's plan.
class SessionManager
{
public:
    explicit SessionManager(RewindPaths paths);

    /// Who a session's processes run as: its owner, or for root's own
    /// sessions the system user reserved for them.
    static Result<std::pair<uid_t, gid_t>> sessionUserOf(uid_t owner);

    /// Starts a session of spec for owner and waits until its display answers.
    Result<SessionRecord> start(const SessionSpec &spec, uid_t owner);
    /// Graceful first (SIGTERM to the cell's init), then the cgroup is killed.
    Result<void> stop(const QString &id);
    /// The same, for a caller that holds the session's lock already.
    Result<void> stop(const SessionLock &lock);
    /// Stops the session and remembers it as hibernated (its state until it
    /// runs again); the caller has just snapshotted it.
    Result<void> hibernate(const SessionLock &lock);
    /// Exclusive use of a session for one operation; see SessionLock.
    Result<SessionLock> lock(const QString &id) const;
    /// Lets the session's owner reach its display: a relay running as the
    /// owner (of group gid) listens on socketName in directoryFd, a directory
    /// of theirs, and forwards to the display (see LiveViewRelay). An earlier
    /// relay of the session is ended first.
    Result<void> openLiveView(const QString &id, gid_t gid, int directoryFd, const QString &socketName);
    /// What would keep the running session from being snapshotted; its live
    /// views would not, since a snapshot ends them first.
    Result<QList<CheckpointabilityScan::Obstacle>> scan(const SessionRecord &record) const;
    /// Ends the session's live views, whose connections would keep it from being dumped.
    Result<void> endLiveViews(const SessionLock &lock);
    /// Thaws every session left frozen by a process that died while it
    /// snapshotted it (its lock is free), and ends the way out to the network
    /// of sessions whose cell ended by itself; returns the ids of those thawed.
    QStringList thawAbandoned();
    /// Stops the session if it runs and forgets it.
    Result<void> remove(const QString &id);

    Result<SessionRecord> session(const QString &id) const;
    QList<SessionRecord> sessions() const;
    SessionState state(const SessionRecord &record) const;
    Result<QList<SessionProcess>> processes(const QString &id) const;

    /// Records that the session now runs as the tree rooted at initPid.
    Result<SessionRecord> adopt(SessionRecord record, pid_t initPid);

    /// Where rewind-session makes Xvnc listen for VNC, inside the cell.
    static inline const QString vncSocketInCell = QStringLiteral("/tmp/.rewind/vnc");
    /// The session's VNC socket, reached through its init's root.
    static QString vncSocketPath(pid_t initPid);
    static QString cellPath(pid_t initPid, const QString &pathInCell);
    Result<void> waitUntilReady(const SessionRecord &record, std::chrono::milliseconds timeout) const;
    /// A picture of the session's screen, taken with its owner's rights.
    Result<QImage> screenshot(const SessionRecord &record, std::chrono::milliseconds timeout) const;

    /// The cgroup v2 directory of the session's cell: PARENT/user-UID/ID.
    QString cgroupPath(const SessionRecord &record) const;
    /// Makes the cgroups of a new cell for the session, in every hierarchy
    /// that limits it, with its owner's limits (CellLimits, UserLimits).
    Result<CellCgroups> createCell(const SessionRecord &record) const;
    const RewindPaths &paths() const
    {
        return m_paths;
    }

private:
    /// Starts the cell's way out (CellNetwork); a session without one keeps its loopback.
    void connectNetwork(const SessionRecord &record) const;
    Result<void> killCell(const SessionRecord &record);
    Result<void> stopLocked(const QString &id, bool hibernating = false);

    RewindPaths m_paths;
};

} // namespace Rewind
