// SPDX-License-Identifier: GPL-2.0-or-later
#include "CgroupFiles.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind::CgroupFiles
{
namespace
{
QString systemError(int error = errno)
{
    return QString::fromLocal8Bit(std::strerror(error));
}
} // namespace

UniqueFd open(const QString &path, int flags)
{
    const QByteArray encoded = QFile::encodeName(path);
    open_how how{};
    how.flags = flags | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(int(::syscall(SYS_openat2, AT_FDCWD, encoded.constData(), &how, sizeof how)));
    if (!fd) {
        return fd;
    }
    struct statfs fs{};
    if (::fstatfs(fd.get(), &fs) < 0 || (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC)) {
        errno = EMEDIUMTYPE;
        return UniqueFd();
    }
    return fd;
}

Result<QByteArray> read(const QString &path)
{
    UniqueFd fd = open(path, O_RDONLY);
    if (!fd) {
        return Error{i18n("Cannot open %1: %2", path, systemError())};
    }
    QByteArray content;
    char buffer[4096];
    for (;;) {
        const ssize_t length = ::read(fd.get(), buffer, sizeof buffer);
        if (length < 0 && errno == EINTR) {
            continue;
        }
        if (length < 0) {
            return Error{i18n("Cannot read %1: %2", path, systemError())};
        }
        if (length == 0 || content.size() > 1024 * 1024) {
            return content;
        }
        content.append(buffer, length);
    }
}

Result<void> write(const QString &path, const QByteArray &value)
{
    UniqueFd fd = open(path, O_WRONLY);
    if (!fd) {
        return Error{i18n("Cannot open %1: %2", path, systemError())};
    }
    if (::write(fd.get(), value.constData(), value.size()) != value.size()) {
        return Error{i18n("Cannot write “%1” to %2: %3", QString::fromUtf8(value.trimmed()), path, systemError())};
    }
    return {};
}

Result<void> makeDirectories(const QString &base, const QString &relative)
{
    UniqueFd directory = open(base, O_RDONLY | O_DIRECTORY);
    if (!directory) {
        return Error{i18n("Cannot open the control group directory %1: %2", base, systemError())};
    }
    QString path = base;
    const auto names = relative.split(QLatin1Char('/'), Qt::SkipEmptyParts);
    for (const QString &name : names) {
        path += QLatin1Char('/') + name;
        const QByteArray encoded = QFile::encodeName(name);
        if (name == QLatin1String("..") || name == QLatin1String(".")) {
            return Error{i18n("Refusing the control group directory %1.", path)};
        }
        if (::mkdirat(directory.get(), encoded.constData(), 0755) < 0 && errno != EEXIST) {
            return Error{i18n("Cannot create the control group directory %1: %2", path, systemError())};
        }
        UniqueFd next(::openat(directory.get(), encoded.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            return Error{i18n("Cannot open the control group directory %1: %2", path, systemError())};
        }
        directory = std::move(next);
    }
    return {};
}

Result<void> removeDirectory(const QString &directory)
{
    if (::rmdir(QFile::encodeName(directory).constData()) < 0 && errno != ENOENT) {
        if (errno == EBUSY) {
            return Error{i18n("Cannot remove the control group %1: processes still run in it.", directory)};
        }
        return Error{i18n("Cannot remove the control group %1: %2", directory, systemError())};
    }
    return {};
}

Result<void> removeTree(const QString &directory)
{
    const QStringList children = QDir(directory).entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks);
    for (const QString &child : children) {
        if (auto removed = removeTree(directory + QLatin1Char('/') + child); !removed) {
            return removed;
        }
    }
    return removeDirectory(directory);
}

} // namespace Rewind::CgroupFiles
