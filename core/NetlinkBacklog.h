// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QList>

#include <chrono>
#include <optional>
#include <sys/types.h>

namespace Rewind
{

/// Netlink messages the kernel sent to a cell's programs that they have not
/// read yet. A program subscribed to address, route or neighbour changes
/// (GLib's network monitor, say) receives them at any time, also while its
/// session is frozen; CRIU cannot dump a netlink socket with unread messages
/// ("netlink: The socket has data to read"). The program reads them as soon
/// as it runs.
class NetlinkBacklog
{
public:
    /// A netlink socket of a network namespace, as /proc/<pid>/net/netlink lists it.
    struct Socket {
        int protocol = 0; ///< NETLINK_ROUTE is 0
        quint32 groups = 0; ///< the first 32 multicast groups it listens to
        qint64 unreadBytes = 0;
    };
    /// The netlink sockets of pid's network namespace; none if unreadable.
    static std::optional<QList<Socket>> sockets(pid_t pid);
    /// True if CRIU refused a dump for such a socket.
    static bool refusedDump(const Error &error);
    /// Waits until no netlink socket in the network namespace of cellInit
    /// holds unread messages, at most timeout; false if one still does or
    /// they cannot be read (/proc/<cellInit>/net/netlink).
    static bool waitUntilRead(pid_t cellInit, std::chrono::milliseconds timeout);
};

} // namespace Rewind
