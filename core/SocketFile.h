// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QString>

#include <fcntl.h>
#include <sys/types.h>

namespace Rewind
{

/// Opens the inode of the unix socket at path as an O_PATH descriptor, which
/// a less privileged process can connect to through /proc/self/fd/N without
/// looking the path up again. Symbolic links are refused where the kernel can
/// tell (openat2), at least in the last component. With rootFd, path is
/// resolved as if rootFd were "/" (a cell's root) and nothing is followed.
Result<UniqueFd> openSocketFile(const QString &path, int rootFd = AT_FDCWD);

/// A socket inside a cell, and a pidfd for the cell's init, which ends with the cell.
struct CellSocket {
    UniqueFd init;
    UniqueFd socket;
};

/// The socket at pathInCell below the root of the cell whose init is initPid,
/// reached through /proc/<initPid>/root; fails if that init is not running.
Result<CellSocket> openCellSocket(pid_t initPid, const QString &pathInCell);

} // namespace Rewind
