// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QList>

#include <sys/types.h>

namespace Rewind
{

/// What a restore does in the cell's network namespace. A cell has its own
/// network namespace, owned by its user namespace; CRIU dumps it "empty"
/// (its sockets, not its devices, addresses or routes: the way out is
/// CellNetwork's, outside the snapshot) and makes a fresh one when it
/// restores the user namespace, so the fresh one belongs to the restored
/// user namespace as the original did. A namespace given to CRIU from
/// outside ("external") could not: it would belong to another user
/// namespace, which the restored cell's root cannot act in.
class CellNetworkNamespace
{
public:
    /// When CRIU has made the namespaces of the tree rooted at pid and
    /// before it restores sockets: the loopback up, and what CRIU needs to
    /// reconnect the connections to the outside in repair mode, which binds
    /// each to its address and needs a route to its peer: their addresses
    /// (CriuImageFiles::connectionAddresses) on the loopback and default
    /// routes through it. Nothing happens when pid shares this process's
    /// network namespace (a snapshot from before cells had their own).
    static Result<void> prepareForSockets(pid_t pid, const QList<QByteArray> &connectionAddresses);

    /// When the tree is complete and before it runs: every TCP connection
    /// whose other end is not in the namespace is aborted (sock_diag's
    /// SOCK_DESTROY; the application reads ECONNABORTED and reconnects),
    /// and the addresses and routes prepareForSockets() added go again.
    /// Connections with both ends inside (loopback) stay established.
    /// Returns how many were aborted.
    static Result<int> closeOutsideConnections(pid_t pid, const QList<QByteArray> &connectionAddresses);
};

} // namespace Rewind
