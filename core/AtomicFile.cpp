// SPDX-License-Identifier: GPL-2.0-or-later
#include "AtomicFile.h"

#include "FileWriting.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

namespace Rewind
{
namespace
{
QString systemError()
{
    return QString::fromLocal8Bit(strerror(errno));
}
}

Result<void> makePrivateDirectory(const QString &directory)
{
    if (!QDir().mkpath(directory)) {
        return Error{i18n("Cannot create %1.", directory)};
    }
    UniqueFd fd(::open(QFile::encodeName(directory).constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::fchmod(fd.get(), 0700) != 0) {
        return Error{i18n("Cannot make %1 private: %2", directory, systemError())};
    }
    return {};
}

Result<void> writeFileAtomically(const QString &directory, const QString &name, const QByteArray &data, ExistingFile existing)
{
    UniqueFd dir(::open(QFile::encodeName(directory).constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        return Error{i18n("Cannot open %1: %2", directory, systemError())};
    }
    const QByteArray finalName = QFile::encodeName(name);
    const QByteArray temporary = ".tmp-" + finalName + '-' + QByteArray::number(::getpid());
    ::unlinkat(dir.get(), temporary.constData(), 0);
    UniqueFd file(::openat(dir.get(), temporary.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) {
        return Error{i18n("Cannot write %1/%2: %3", directory, name, systemError())};
    }
    if (!writeAll(file.get(), data.constData(), std::size_t(data.size())) || ::fsync(file.get()) != 0) {
        const QString why = systemError();
        ::unlinkat(dir.get(), temporary.constData(), 0);
        return Error{i18n("Cannot write %1/%2: %3", directory, name, why)};
    }
    file.reset();
    const unsigned int renameFlags = existing == ExistingFile::Refuse ? RENAME_NOREPLACE : 0;
    if (::renameat2(dir.get(), temporary.constData(), dir.get(), finalName.constData(), renameFlags) != 0 || ::fsync(dir.get()) != 0) {
        const QString why = systemError();
        ::unlinkat(dir.get(), temporary.constData(), 0);
        return Error{i18n("Cannot write %1/%2: %3", directory, name, why)};
    }
    return {};
}

} // namespace Rewind
