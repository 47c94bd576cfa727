// SPDX-License-Identifier: GPL-2.0-or-later
#include "StagingDirectory.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
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
    if (!staging.m_fd) {
        return Error{i18n("Cannot open the staging directory %1.", staging.m_path)};
    }
    return staging;
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
