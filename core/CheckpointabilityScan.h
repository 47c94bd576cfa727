// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>
#include <QString>

#include <sys/types.h>

namespace Rewind
{

/// Looks through every process of a cell, before it is frozen, for what a
/// snapshot cannot take along, as CRIU would refuse it: connections to
/// programs outside the cell (the host's D-Bus, X, Wayland, sound server),
/// devices such as a GPU, debuggers and uprobes, kernel objects CRIU
/// refuses (io_uring, userfaultfd, perf events, BPF), namespaces nested in
/// the cell's (browsers' sandboxes), files, mappings and working
/// directories on mounts the process does not see (POSIX message queues),
/// sockets of families and protocols CRIU does not save (AF_VSOCK, MPTCP),
/// and unread messages that carry their senders' credentials. It cannot see
/// descriptors in flight in a socket's queue.
class CheckpointabilityScan
{
public:
    /// One thing in one process that keeps the cell from being snapshotted.
    struct Obstacle {
        pid_t pid = 0; ///< as seen from the scanning process
        QString processName;
        QString resource; ///< the socket path, device file or kernel object
        QString reason; ///< a sentence a user can act on
    };

    /// Scans the cell whose init is CELLINITPID: the processes in its pid
    /// namespace and all its descendants. An empty list: nothing found.
    /// Connections to the processes endedBeforeSnapshot (the session's
    /// live-view relays, which a snapshot ends first) are no obstacle.
    static Result<QList<Obstacle>> scan(pid_t cellInitPid, const QList<pid_t> &endedBeforeSnapshot = {});

    /// Every process of the cell whose init is cellInitPid: those in its pid
    /// namespace, and its descendants.
    static Result<QList<pid_t>> cellProcesses(pid_t cellInitPid);

    /// The obstacles as one message, for an error shown to the user.
    static QString describe(const QList<Obstacle> &obstacles);
};

} // namespace Rewind
