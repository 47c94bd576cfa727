// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>

#include <sys/types.h>

/// Small facts of the system the tests ask about.
namespace TestSystem
{
/// The real uid in /proc/PID/status, or -1. (A process that is not dumpable
/// has a /proc entry owned by root, so the entry's owner does not tell.)
long realUidOf(pid_t pid);

/// A blocking connection to the unix socket at path, or -1 with errno set.
/// System calls only, so that it may run in a child between fork and exit.
int connectUnixSocket(const QByteArray &path);
} // namespace TestSystem
