// SPDX-License-Identifier: GPL-2.0-or-later
#include "StagingDirectory.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace Rewind
{

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
    : m_path(std::exchange(other.m_path, QString()))
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

} // namespace Rewind
