// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "SessionManager.h"

#include <QList>

#include <chrono>

namespace Rewind
{

/// Unix sockets that processes of a cell hold but that belong to another
/// network namespace than the cell's. A connection made from outside to a
/// socket the cell listens on (a screenshot, a live view) is accepted as a
/// socket of the connecting side's namespace. CRIU lists sockets by the
/// cell's namespace and cannot dump such a socket ("Unix socket ... not
/// found"), even once its other end is closed; the program in the cell
/// closes it when it reads the end of the connection.
class OutsideSockets
{
public:
    /// The processes of the cell that hold any, by the sockets of this
    /// process's network namespace (where Rewind's own connections come from).
    static QList<SessionProcess> holders(const QList<SessionProcess> &cellProcesses, pid_t cellInit);

    /// Waits until no process of the session holds any (its programs closed
    /// what Rewind's screenshot or viewers left), at most timeout; an Error
    /// names the processes that still do.
    static Result<void> waitUntilClosed(const SessionManager &sessions, const SessionRecord &record, std::chrono::milliseconds timeout);
};

} // namespace Rewind
