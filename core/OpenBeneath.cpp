// SPDX-License-Identifier: GPL-2.0-or-later
#include "OpenBeneath.h"

#include <QList>

#include <linux/openat2.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{

int openBeneath(int dirFd, const QByteArray &relativePath, int flags, mode_t mode)
{
    open_how how{};
    how.flags = std::uint64_t(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd;
    do {
        fd = int(::syscall(SYS_openat2, dirFd, relativePath.constData(), &how, sizeof how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return fd;
}

bool isSafeRelativePath(const QByteArray &path)
{
    if (path.isEmpty() || path.startsWith('/') || path.contains('\0')) {
        return false;
    }
    const auto components = path.split('/');
    return std::none_of(components.cbegin(), components.cend(), [](const QByteArray &component) {
        return component.isEmpty() || component == "." || component == "..";
    });
}

} // namespace Rewind
