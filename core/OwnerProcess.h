// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QList>
#include <QProcess>

#include <sys/types.h>

namespace Rewind
{

/// Makes process start as uid:gid, a session's owner, when started by root:
/// without supplementary groups, new privileges or core dumps, and with no
/// descriptor of its starter but stdio and those in inherited. With
/// cgroupProcs (an open cgroup.procs), it joins that cgroup first.
/// Without root, only the restrictions apply.
void runAsOwner(QProcess &process, uid_t uid, gid_t gid, const QList<int> &inherited = {}, int cgroupProcs = -1);

/// What such a process says about a failure, fit for a message: its first
/// line, control characters blanked, trimmed. The caller bounds the length.
QString printableLine(QByteArray output);

} // namespace Rewind
