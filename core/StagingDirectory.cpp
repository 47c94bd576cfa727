// SPDX-License-Identifier: GPL-2.0-or-later
#include "StagingDirectory.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// Empties the directory dirFd, following no link; errno set on failure.
bool removeContents(int dirFd, int depth)
{
    UniqueFd listFd(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *listing = listFd && depth < 256 ? ::fdopendir(listFd.get()) : nullptr;
    if (!listing) {
        return false;
    }
    listFd.release();
    bool removed = true;
    while (const dirent *entry = ::readdir(listing)) {
        const char *name = entry->d_name;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) {
            continue;
        }
        if (::unlinkat(dirfd(listing), name, 0) == 0) {
            continue;
        }
        UniqueFd child(errno == EISDIR ? ::openat(dirfd(listing), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1);
        if (!child || !removeContents(child.get(), depth + 1) || ::unlinkat(dirfd(listing), name, AT_REMOVEDIR) != 0) {
            removed = false;
            break;
        }
    }
    const int error = errno;
    ::closedir(listing);
    errno = error;
    return removed;
}

} // namespace

Result<StagingDirectory> StagingDirectory::create(const QString &parent)
{
    if (!QDir().mkpath(parent)) {
        return Error{i18n("Cannot create the staging area %1.", parent)};
    }
    ::chmod(QFile::encodeName(parent).constData(), 0700);
    QByteArray templ = QFile::encodeName(parent) + "/stage-XXXXXX";
    if (!::mkdtemp(templ.data())) {
        return Error{i18n("Cannot create a staging directory in %1: %2", parent, QString::fromLocal8Bit(strerror(errno)))};
    }
    StagingDirectory staging;
    staging.m_path = QFile::decodeName(templ);
    staging.m_fd.reset(::open(templ.constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!staging.m_fd || ::flock(staging.m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
        return Error{i18n("Cannot open the staging directory %1.", staging.m_path)};
    }
    return staging;
}

Result<StagingDirectory> StagingDirectory::createInMemory(qint64 limitBytes, StagingPages pages)
{
    auto failed = [](const char *step) {
        return Error{i18n("Cannot create a staging directory in memory (%1: %2).", QString::fromLatin1(step), QString::fromLocal8Bit(strerror(errno)))};
    };
    // A mount made with the new mount API is attached nowhere: no path shows
    // it, and the kernel frees it with its last fd, also if Rewind is killed.
    UniqueFd context(::fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!context) {
        return failed("fsopen");
    }
    const QByteArray size = QByteArray::number(std::max<qint64>(limitBytes, 1024 * 1024));
    // A kernel without transparent huge pages refuses huge=within_size (a
    // refused parameter leaves the context as it was): its staging is in
    // small pages.
    const bool huge = pages == StagingPages::Large && ::fsconfig(context.get(), FSCONFIG_SET_STRING, "huge", "within_size", 0) == 0;
    if (::fsconfig(context.get(), FSCONFIG_SET_STRING, "size", size.constData(), 0) != 0
        || ::fsconfig(context.get(), FSCONFIG_SET_STRING, "mode", "0700", 0) != 0
        || (!huge && ::fsconfig(context.get(), FSCONFIG_SET_STRING, "huge", "never", 0) != 0)
        || ::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
        return failed("fsconfig");
    }
    UniqueFd mount(::fsmount(context.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
    if (!mount) {
        return failed("fsmount");
    }
    StagingDirectory staging;
    staging.m_place = StagingPlace::Memory;
    staging.m_fd.reset(::openat(mount.get(), ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!staging.m_fd) {
        return failed("open");
    }
    return staging;
}

qint64 StagingDirectory::bytesInMemory() const
{
    struct statfs status{};
    if (m_place != StagingPlace::Memory || ::fstatfs(m_fd.get(), &status) != 0) {
        return 0;
    }
    return qint64(status.f_blocks - status.f_bfree) * qint64(status.f_bsize);
}

bool StagingDirectory::isFullInMemory() const
{
    // CRIU writes pages a pipe's worth at a time: what it could not write is
    // less than that, and far less than this.
    constexpr qint64 margin = 16 * 1024 * 1024;
    struct statfs status{};
    if (m_place != StagingPlace::Memory || ::fstatfs(m_fd.get(), &status) != 0) {
        return false;
    }
    return qint64(status.f_bavail) * qint64(status.f_bsize) < margin;
}

int StagingDirectory::removeLeftovers(const QString &parent)
{
    int removed = 0;
    const auto names = QDir(parent).entryList({QStringLiteral("stage-*")}, QDir::Dirs | QDir::NoSymLinks | QDir::Hidden);
    for (const QString &name : names) {
        const QString path = parent + QLatin1Char('/') + name;
        UniqueFd fd(::open(QFile::encodeName(path).constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            QDir(path).removeRecursively();
            ++removed;
        }
    }
    return removed;
}

StagingDirectory::StagingDirectory(StagingDirectory &&other) noexcept
    : m_place(other.m_place)
    , m_path(std::exchange(other.m_path, QString()))
    , m_fd(std::move(other.m_fd))
{
}

StagingDirectory::~StagingDirectory()
{
    if (!m_path.isEmpty()) {
        QDir(m_path).removeRecursively();
    }
}

Result<UniqueFd> StagingDirectory::makeSubdirectory(const char *name) const
{
    if (::mkdirat(m_fd.get(), name, 0700) < 0 && errno != EEXIST) {
        return Error{i18n("Cannot create %1 in the staging directory: %2", QString::fromUtf8(name), QString::fromLocal8Bit(strerror(errno)))};
    }
    UniqueFd fd(::openat(m_fd.get(), name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        return Error{i18n("Cannot open %1 in the staging directory.", QString::fromUtf8(name))};
    }
    return fd;
}

Result<void> StagingDirectory::removeSubdirectory(const char *name) const
{
    UniqueFd fd(::openat(m_fd.get(), name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && errno == ENOENT) {
        return {};
    }
    if (!fd || !removeContents(fd.get(), 0) || ::unlinkat(m_fd.get(), name, AT_REMOVEDIR) != 0) {
        return Error{i18n("Cannot remove %1 from the staging directory: %2", QString::fromUtf8(name), QString::fromLocal8Bit(strerror(errno)))};
    }
    return {};
}

} // namespace Rewind
