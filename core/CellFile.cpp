// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellFile.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{

Result<QByteArray> CellFile::readTail(pid_t initPid, const QByteArray &pathInCell, qint64 maxBytes)
{
    const QString shownPath = QFile::decodeName(pathInCell);
    const UniqueFd root(::open(QByteArray("/proc/" + QByteArray::number(initPid) + "/root").constData(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
        return Error{i18n("Cannot reach the cell of process %1: %2", QString::number(initPid), QString::fromLocal8Bit(std::strerror(errno)))};
    }
    open_how how{};
    how.flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const UniqueFd file(int(::syscall(SYS_openat2, root.get(), pathInCell.constData(), &how, sizeof how)));
    if (!file) {
        return Error{i18n("Cannot open %1 in the session: %2", shownPath, QString::fromLocal8Bit(std::strerror(errno)))};
    }
    struct stat status;
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        return Error{i18n("%1 in the session is not a regular file.", shownPath)};
    }
    const qint64 length = std::min<qint64>(std::max<qint64>(maxBytes, 0), status.st_size);
    QByteArray tail(length, Qt::Uninitialized);
    qint64 done = 0;
    while (done < length) {
        const ssize_t n = ::pread(file.get(), tail.data() + done, size_t(length - done), status.st_size - length + done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; // shrunk meanwhile, or unreadable: what was read
        }
        done += n;
    }
    tail.truncate(done);
    return tail;
}

} // namespace Rewind
