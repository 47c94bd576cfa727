// SPDX-License-Identifier: GPL-2.0-or-later
#include "SocketFile.h"

#include <KLocalizedString>

#include <QFile>

#include <cerrno>
#include <cstring>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{

Result<UniqueFd> openSocketFile(const QString &path, int rootFd)
{
    const QByteArray encoded = QFile::encodeName(path);
    if (path.isEmpty() || !path.startsWith(QLatin1Char('/'))) {
        return Error{i18n("The VNC socket path '%1' is not absolute.", path)};
    }
    open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (rootFd == AT_FDCWD ? 0 : RESOLVE_IN_ROOT);
    int fd = static_cast<int>(::syscall(SYS_openat2, rootFd, encoded.constData(), &how, sizeof how));
    if (fd < 0 && rootFd == AT_FDCWD && (errno == ENOSYS || errno == EPERM)) {
        // Kernels before 5.6, or a seccomp filter: at least the last component.
        fd = ::open(encoded.constData(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        const int error = errno;
        if (error == ELOOP) {
            return Error{i18n("The VNC socket path %1 contains a symbolic link, which is not followed.", path)};
        }
        return Error{i18n("Could not open the VNC socket %1: %2", path, QString::fromLocal8Bit(std::strerror(error)))};
    }
    UniqueFd file(fd);
    struct stat status;
    if (::fstat(file.get(), &status) != 0) {
        return Error{i18n("Could not examine the VNC socket %1: %2", path, QString::fromLocal8Bit(std::strerror(errno)))};
    }
    if (S_ISLNK(status.st_mode)) {
        return Error{i18n("The VNC socket path %1 contains a symbolic link, which is not followed.", path)};
    }
    if (!S_ISSOCK(status.st_mode)) {
        return Error{i18n("%1 is not a socket, so it cannot be an Xvnc display's VNC socket.", path)};
    }
    return file;
}

Result<CellSocket> openCellSocket(pid_t initPid, const QString &pathInCell)
{
    // The pidfd pins the process: if the init ended while its root was
    // opened, the pid may name another process by now, and the root is not used.
    UniqueFd pidfd(initPid > 0 ? int(::syscall(SYS_pidfd_open, initPid, 0)) : -1);
    const QByteArray root = "/proc/" + QByteArray::number(initPid) + "/root";
    UniqueFd rootFd(pidfd ? ::open(root.constData(), O_PATH | O_DIRECTORY | O_CLOEXEC) : -1);
    if (!pidfd || !rootFd || ::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) {
        return Error{i18n("The session's cell (process %1) is not running.", QString::number(initPid))};
    }
    auto socket = openSocketFile(pathInCell, rootFd.get());
    if (!socket) {
        return socket.error();
    }
    return CellSocket{std::move(pidfd), std::move(*socket)};
}

} // namespace Rewind
