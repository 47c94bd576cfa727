// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "RewindPaths.h"
#include "SessionRecord.h"

#include <QByteArray>

namespace Rewind
{

/// A cell's way out to the network: pasta (of the passt package), user-mode
/// networking attached to the cell's network namespace from outside. It
/// copies the host's addresses and routes of the interface with the default
/// route onto a tap device in the cell, forwards the cell's connections
/// through sockets of its own, and maps the gateway's address to the host's
/// loopback. No port of the host is forwarded into the cell and none of the
/// cell's ports onto the host, so a branch listens on the same ports as its
/// original.
///
/// pasta runs outside the cell's cgroup (it is not part of a snapshot), in a
/// cgroup of its own per session beside the cells, and ends when the
/// session is stopped (or, if the cell ended by itself, at the next
/// SessionManager::thawAbandoned()). It runs as root:
/// the cell's user namespace belongs to root, and pasta of Debian 13 changes
/// to its --runas user before it joins the namespace, which the owner could
/// not join. It keeps only CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN, under its
/// own seccomp filter, in namespaces of its own.
class CellNetwork
{
public:
    /// The pasta binary, by absolute path; empty if it is not installed.
    static const QByteArray &pastaBinary();

    /// Connects the running cell of record to the network. An Error says why
    /// it could not be (no pasta, no interface with a route); the session
    /// then has its loopback only.
    static Result<void> connect(const RewindPaths &paths, const SessionRecord &record);
    /// Ends the session's pasta, if any, and waits until it is gone.
    static Result<void> disconnect(const RewindPaths &paths, const QString &sessionId);
    /// Whether the session has a way out running (for tests and status).
    static bool isConnected(const RewindPaths &paths, const QString &sessionId);
};

} // namespace Rewind
