// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>

#include <optional>
#include <sys/types.h>

namespace Rewind
{

/// The fields of /proc/PID/stat that Rewind reads: "PID (COMMAND) STATE
/// PPID PGRP SESSION TTY_NR TPGID ... STARTTIME ...". The command may hold
/// spaces and parentheses, so the fields after it start after the last ')'.
struct ProcessStat {
    QByteArray command; ///< what the kernel keeps (15 bytes at most)
    char state = 0; ///< 'R', 'S', 'Z', …
    pid_t parent = 0;
    pid_t session = 0;
    unsigned int terminal = 0; ///< TTY_NR as the kernel encodes it; 0: none
    pid_t terminalForeground = 0; ///< TPGID
    qulonglong startTime = 0; ///< clock ticks after boot

    /// The process's; nothing if it is gone or the line is not one.
    static std::optional<ProcessStat> read(pid_t pid);
    static std::optional<ProcessStat> parse(const QByteArray &line);

    /// A zombie (or a process past it) has ended and only waits to be reaped.
    bool hasEnded() const
    {
        return state == 'Z' || state == 'X';
    }
};

} // namespace Rewind
