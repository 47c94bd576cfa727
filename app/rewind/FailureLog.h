// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QString>

/// The user's log of failures the window showed, with their details (CRIU's
/// log lines), for reading later and for bug reports:
/// $XDG_STATE_HOME/rewind/rewind.log (~/.local/state/rewind/rewind.log),
/// 0600. Each entry has a timestamp and the operation; the file is kept
/// below maximumSize by dropping its oldest entries.
namespace FailureLog
{
constexpr qint64 maximumSize = 1024 * 1024;

QString path();

/// Appends a failure of operation (a helper action's name, such as "snapshot").
Rewind::Result<void> append(const QString &operation, const Rewind::Error &error);
} // namespace FailureLog
