// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "RewindPaths.h"
#include "SessionRecord.h"

#include <QString>

#include <sys/types.h>

namespace Rewind
{

/// How a session's owner reaches its display without root. The display's
/// VNC socket lies inside the cell, below /proc/<init>/root, which only root
/// can look into; a relay (rewind-live-relay) started as the owner listens on
/// a socket in a directory of the owner's and forwards each connection to
/// the display's socket, opened here without following any link.
///
/// A session's relays run in their own cgroup, beside the cells: a viewer
/// connected to the display is a connection CRIU cannot dump, so before a
/// snapshot they are all ended at once (cgroup.kill), and viewers reconnect
/// through a new hand-off afterwards.
class LiveViewRelay
{
public:
    /// Ends the session's relays, if any, and starts a new one as its owner
    /// (of group gid), listening on socketName in directoryFd, a directory of
    /// the owner's. Returns once the socket listens.
    static Result<void> start(const RewindPaths &paths, const SessionRecord &record, gid_t gid, int directoryFd, const QString &socketName);
    /// Ends every relay of the session and waits until they are gone.
    static Result<void> endAll(const RewindPaths &paths, const QString &sessionId);
    /// Removes the cgroups of relays that have all ended by themselves.
    static void removeEnded(const RewindPaths &paths);
    /// The relays of the session that run (for tests and status).
    static QList<pid_t> running(const RewindPaths &paths, const QString &sessionId);
};

} // namespace Rewind
