// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>

#include <sys/types.h>

namespace Rewind
{

/// Reading, as root, a file a session wrote in its cell: the session's user
/// controls it, its size and every link on its path. It is opened inside the
/// cell's root without following any link (openat2, RESOLVE_IN_ROOT and
/// RESOLVE_NO_SYMLINKS), only if it is a regular file, and read with a bound.
class CellFile
{
public:
    /// At most the last maxBytes of pathInCell (absolute in the cell whose
    /// init is initPid).
    static Result<QByteArray> readTail(pid_t initPid, const QByteArray &pathInCell, qint64 maxBytes);
};

} // namespace Rewind
