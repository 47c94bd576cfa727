// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CriuImageFiles.h"
#include "Result.h"

#include <sys/types.h>

namespace Rewind
{

/// Whether a restored session would hold anything its user may not have.
/// CRIU reopens files by path and follows links, comparing only size and
/// mode: a path that leads elsewhere since the snapshot (a link planted in
/// its place) would hand the restored session whatever it leads to. Every
/// path outside the cell's own file systems (its /tmp, /dev/shm, /dev/pts
/// and /proc come back from the snapshot) is tried as the session's user and
/// group, without supplementary groups (as the session runs), for the access
/// the snapshot had: reading, writing, entering a directory, creating a
/// socket in its directory. The check runs as the user, under a time limit. The cell's user namespace already
/// keeps CRIU from opening more than that; this names the file before
/// anything is touched.
class RestoreAccessCheck
{
public:
    static Result<void> verify(const QList<OpenedPath> &paths, uid_t uid, gid_t gid);
};

} // namespace Rewind
