// SPDX-License-Identifier: GPL-2.0-or-later
#include "PrivateHandOff.h"

#include "FileWriting.h"
#include "HelperProtocol.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>
#include <QRandomGenerator>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

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

namespace
{
/// Writes data as fileName (a plain name) into directory, without following links.
Result<void> writeInto(int directory, const QByteArray &fileName, uid_t uid, gid_t gid, const QByteArray &data)
{
    ::unlinkat(directory, fileName.constData(), 0);
    UniqueFd file(::openat(directory, fileName.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file || ::fchown(file.get(), uid, gid) != 0 || !writeAll(file.get(), data.constData(), std::size_t(data.size()))) {
        const QString why = systemError();
        ::unlinkat(directory, fileName.constData(), 0);
        return Error{i18n("Cannot hand the answer over: %1", why)};
    }
    return {};
}

/// How long a reply file waits for its client, and how many may wait at once.
constexpr time_t replyLifetimeSeconds = 60;
constexpr std::size_t maximumWaitingReplies = 16;

/// Removes the reply files in directory that no client will take any more:
/// those older than replyLifetimeSeconds, then the oldest beyond
/// maximumWaitingReplies - 1, to make room for one more.
void removeAbandonedReplies(int directory)
{
    UniqueFd listed(::openat(directory, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    DIR *entries = listed ? ::fdopendir(listed.get()) : nullptr;
    if (!entries) {
        return;
    }
    (void)listed.release(); // closedir closes it
    std::vector<std::pair<timespec, QByteArray>> waiting;
    const time_t now = ::time(nullptr);
    while (const dirent *entry = ::readdir(entries)) {
        const QByteArray name(entry->d_name);
        struct stat status;
        if (!HelperProtocol::isReplyFileName(QString::fromLatin1(name)) || ::fstatat(directory, name.constData(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (now - status.st_mtim.tv_sec > replyLifetimeSeconds || !S_ISREG(status.st_mode)) {
            ::unlinkat(directory, name.constData(), 0);
        } else {
            waiting.emplace_back(status.st_mtim, name);
        }
    }
    ::closedir(entries);
    if (waiting.size() < maximumWaitingReplies) {
        return;
    }
    std::sort(waiting.begin(), waiting.end(), [](const auto &a, const auto &b) {
        return std::tie(a.first.tv_sec, a.first.tv_nsec) < std::tie(b.first.tv_sec, b.first.tv_nsec);
    });
    for (std::size_t i = 0; i + maximumWaitingReplies - 1 < waiting.size(); ++i) {
        ::unlinkat(directory, waiting[i].second.constData(), 0);
    }
}
} // namespace

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
    if (auto written = writeInto(directory->get(), fileName, uid, gid, data); !written) {
        return written.error();
    }
    return path(uid, name);
}

Result<QString> PrivateHandOff::writeReply(uid_t uid, gid_t gid, const QByteArray &data)
{
    auto directory = PrivateHandOff::directory(uid, gid);
    if (!directory) {
        return directory.error();
    }
    removeAbandonedReplies(directory->get());
    quint32 random[4];
    QRandomGenerator::system()->fillRange(random);
    QString name = HelperProtocol::replyFilePrefix;
    for (const quint32 word : random) {
        name += QStringLiteral("%1").arg(word, 8, 16, QLatin1Char('0'));
    }
    if (auto written = writeInto(directory->get(), QFile::encodeName(name), uid, gid, data); !written) {
        return written.error();
    }
    return name;
}
