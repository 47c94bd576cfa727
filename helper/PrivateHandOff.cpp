// SPDX-License-Identifier: GPL-2.0-or-later
#include "PrivateHandOff.h"

#include "FileWriting.h"
#include "HelperProtocol.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
QString systemError()
{
    return QString::fromLocal8Bit(strerror(errno));
}

/// Opens (making it if needed) a directory below parent without following
/// links, and gives it the owner and mode it must have.
Result<UniqueFd> ownedDirectory(int parent, const QByteArray &name, uid_t uid, gid_t gid, mode_t mode)
{
    if (::mkdirat(parent, name.constData(), mode) != 0 && errno != EEXIST) {
        return Error{i18n("Cannot create the directory %1 for the helper's answers: %2", QString::fromUtf8(name), systemError())};
    }
    UniqueFd fd(::openat(parent, name.constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat status;
    if (!fd || ::fstat(fd.get(), &status) != 0) {
        return Error{i18n("Cannot open the directory %1 for the helper's answers: %2", QString::fromUtf8(name), systemError())};
    }
    // Only root or the user it is for may have made it.
    if (status.st_uid != 0 && status.st_uid != uid) {
        return Error{i18n("The directory %1 for the helper's answers belongs to someone else.", QString::fromUtf8(name))};
    }
    if (::fchown(fd.get(), uid, gid) != 0 || ::fchmod(fd.get(), mode) != 0) {
        return Error{i18n("Cannot prepare the directory %1 for the helper's answers: %2", QString::fromUtf8(name), systemError())};
    }
    return fd;
}
}

Result<UniqueFd> PrivateHandOff::directory(uid_t uid, gid_t gid)
{
    auto root = ownedDirectory(AT_FDCWD, QFile::encodeName(HelperProtocol::runtimeDirectory()), 0, 0, 0755);
    if (!root) {
        return root.error();
    }
    return ownedDirectory(root->get(), QByteArray::number(uid), uid, gid, 0700);
}

gid_t PrivateHandOff::groupOf(uid_t uid)
{
    const passwd *account = ::getpwuid(uid);
    return account ? account->pw_gid : gid_t(uid);
}

QString PrivateHandOff::path(uid_t uid, const QString &name)
{
    return HelperProtocol::handOffDirectory(uid) + QLatin1Char('/') + name;
}

Result<QString> PrivateHandOff::write(uid_t uid, gid_t gid, const QString &name, const QByteArray &data)
{
    const QByteArray fileName = QFile::encodeName(name);
    if (fileName.isEmpty() || fileName.contains('/') || fileName.startsWith('.')) {
        return Error{i18n("Internal error: '%1' is not a plain file name.", name)};
    }
    auto directory = PrivateHandOff::directory(uid, gid);
    if (!directory) {
        return directory.error();
    }
    ::unlinkat(directory->get(), fileName.constData(), 0);
    UniqueFd file(::openat(directory->get(), fileName.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file || ::fchown(file.get(), uid, gid) != 0 || !writeAll(file.get(), data.constData(), std::size_t(data.size()))) {
        const QString why = systemError();
        ::unlinkat(directory->get(), fileName.constData(), 0);
        return Error{i18n("Cannot hand the answer over: %1", why)};
    }
    return path(uid, name);
}
