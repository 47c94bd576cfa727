// SPDX-License-Identifier: GPL-2.0-or-later
#include "Cgroup.h"
#include "CgroupEvents.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QRegularExpression>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

QString systemError(int error = errno)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

/// Opens PATH refusing any symlink anywhere on the way.
UniqueFd openWithoutSymlinks(const QString &path, int flags)
{
    const QByteArray encoded = QFile::encodeName(path);
    open_how how{};
    how.flags = flags | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return UniqueFd(int(::syscall(SYS_openat2, AT_FDCWD, encoded.constData(), &how, sizeof how)));
}

/// The parent as an open directory on a cgroup v2 file system.
Result<UniqueFd> openParent(const QString &parent, bool createIfMissing)
{
    if (!QDir::isAbsolutePath(parent)) {
        return Error{i18n("The control group directory %1 is not an absolute path.", parent)};
    }
    if (createIfMissing && ::mkdir(QFile::encodeName(parent).constData(), 0755) < 0 && errno != EEXIST) {
        return Error{i18n("Cannot create the control group directory %1: %2", parent, systemError())};
    }
    UniqueFd fd = openWithoutSymlinks(parent, O_RDONLY | O_DIRECTORY);
    if (!fd) {
        struct stat status{};
        if (errno == ELOOP || errno == EXDEV || (::lstat(QFile::encodeName(parent).constData(), &status) == 0 && S_ISLNK(status.st_mode))) {
            return Error{i18n("Refusing the control group directory %1: there is a symbolic link on the way.", parent)};
        }
        return Error{i18n("Cannot open the control group directory %1: %2", parent, systemError())};
    }
    struct statfs fs{};
    if (::fstatfs(fd.get(), &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
        return Error{i18n("%1 is not on a cgroup version 2 file system.", parent)};
    }
    return fd;
}

Result<void> writeFile(const QString &path, const QByteArray &value)
{
    UniqueFd fd = openWithoutSymlinks(path, O_WRONLY);
    if (!fd) {
        return Error{i18n("Cannot open %1: %2", path, systemError())};
    }
    if (::write(fd.get(), value.constData(), value.size()) != value.size()) {
        return Error{i18n("Cannot write to %1: %2", path, systemError())};
    }
    return {};
}

} // namespace

QString Cgroup::defaultParent()
{
    return QStringLiteral("/sys/fs/cgroup/rewind");
}

bool Cgroup::isValidName(const QString &name)
{
    static const QRegularExpression valid(QStringLiteral("\\A[a-z0-9-]{1,64}\\z"));
    return valid.match(name).hasMatch();
}

Cgroup::Cgroup(const QString &parent, const QString &name)
    : m_parent(QDir::cleanPath(parent))
    , m_name(name)
{
}

Result<Cgroup> Cgroup::create(const QString &parent, const QString &name)
{
    if (!isValidName(name)) {
        return Error{i18n("“%1” is not a valid cell name: use 1 to 64 lowercase letters, digits and dashes.", name)};
    }
    auto parentFd = openParent(parent, true);
    if (!parentFd) {
        return parentFd.error();
    }
    if (::mkdirat(parentFd->get(), QFile::encodeName(name).constData(), 0755) < 0) {
        if (errno == EEXIST) {
            return Error{i18n("The control group of cell %1 exists already in %2.", name, parent)};
        }
        return Error{i18n("Cannot create the control group of cell %1 in %2: %3", name, parent, systemError())};
    }
    return Cgroup(parent, name);
}

Result<Cgroup> Cgroup::open(const QString &parent, const QString &name)
{
    if (!isValidName(name)) {
        return Error{i18n("“%1” is not a valid cell name: use 1 to 64 lowercase letters, digits and dashes.", name)};
    }
    auto parentFd = openParent(parent, false);
    if (!parentFd) {
        return parentFd.error();
    }
    struct stat status{};
    if (::fstatat(parentFd->get(), QFile::encodeName(name).constData(), &status, AT_SYMLINK_NOFOLLOW) < 0) {
        return Error{i18n("There is no control group for cell %1 in %2: %3", name, parent, systemError())};
    }
    if (!S_ISDIR(status.st_mode)) {
        return Error{i18n("The control group of cell %1 in %2 is not a directory.", name, parent)};
    }
    return Cgroup(parent, name);
}

QString Cgroup::path() const
{
    return m_parent + QLatin1Char('/') + m_name;
}

bool Cgroup::exists() const
{
    struct stat status{};
    return ::lstat(QFile::encodeName(path() + QStringLiteral("/cgroup.procs")).constData(), &status) == 0 && S_ISREG(status.st_mode);
}

Result<QList<pid_t>> Cgroup::processes() const
{
    const QString procs = path() + QStringLiteral("/cgroup.procs");
    UniqueFd fd = openWithoutSymlinks(procs, O_RDONLY);
    if (!fd) {
        return Error{i18n("Cannot list the processes of cell %1: %2", m_name, systemError())};
    }
    QByteArray content;
    char buffer[4096];
    for (;;) {
        const ssize_t length = ::read(fd.get(), buffer, sizeof buffer);
        if (length < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Error{i18n("Cannot list the processes of cell %1: %2", m_name, systemError())};
        }
        if (length == 0) {
            break;
        }
        content.append(buffer, length);
    }
    QList<pid_t> pids;
    const auto lines = content.split('\n');
    for (const QByteArray &line : lines) {
        bool ok = false;
        const pid_t pid = line.trimmed().toInt(&ok);
        if (ok) {
            pids.append(pid);
        }
    }
    return pids;
}

Result<void> Cgroup::killAll(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto events = CgroupEvents::open(path());
    if (!events) {
        return events.error();
    }
    if (auto written = writeFile(path() + QStringLiteral("/cgroup.kill"), "1"); !written) {
        return Error{i18n("Cannot stop the processes of cell %1: %2", m_name, written.errorMessage())};
    }
    const auto emptied = events->waitFor("populated", 0, deadline);
    if (!emptied) {
        return emptied.error();
    }
    if (!*emptied) {
        return Error{i18n("The processes of cell %1 did not end within %2 ms of being killed.", m_name, qint64(timeout.count()))};
    }
    return {};
}

Result<void> Cgroup::remove()
{
    if (::rmdir(QFile::encodeName(path()).constData()) < 0) {
        if (errno == EBUSY) {
            return Error{i18n("Cannot remove the control group of cell %1: processes still run in it.", m_name)};
        }
        return Error{i18n("Cannot remove the control group of cell %1: %2", m_name, systemError())};
    }
    return {};
}

} // namespace Rewind
