// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>

#include <sys/types.h>

namespace Rewind
{

/// openat2() of relativePath inside dirFd that never follows a symbolic link
/// (in any component) and never leaves dirFd (no "..", no absolute paths).
/// O_CLOEXEC is added. Returns the fd, or -1 with errno set (ELOOP for a
/// symbolic link, EXDEV for a path that leaves dirFd).
int openBeneath(int dirFd, const QByteArray &relativePath, int flags, mode_t mode = 0);

/// A relative path of names (no "", "." or "..", no leading '/', no NUL):
/// what a catalog or a stream may name inside a snapshot's tree.
bool isSafeRelativePath(const QByteArray &path);

} // namespace Rewind
