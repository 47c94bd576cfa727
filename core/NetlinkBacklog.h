// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <chrono>
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
    /// True if CRIU refused a dump for such a socket.
    static bool refusedDump(const Error &error);
    /// Waits until no netlink socket in the network namespace of cellInit
    /// holds unread messages, at most timeout; false if one still does or
    /// they cannot be read (/proc/<cellInit>/net/netlink).
    static bool waitUntilRead(pid_t cellInit, std::chrono::milliseconds timeout);
};

} // namespace Rewind
