// SPDX-License-Identifier: GPL-2.0-or-later
#include "PrivateReply.h"

#include "HelperProtocol.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
QString systemError()
{
    return QString::fromLocal8Bit(strerror(errno));
}

Error unreadable(const QString &why)
{
    return Error{i18n("The answer of the Rewind helper cannot be read: %1", why)};
}
} // namespace

Result<QByteArray> PrivateReply::take(const QString &name)
{
    if (!HelperProtocol::isReplyFileName(name)) {
        return unreadable(i18n("the reply names no answer."));
    }
    const QByteArray fileName = QFile::encodeName(name);
    UniqueFd directory(::open(QFile::encodeName(HelperProtocol::handOffDirectory(::getuid())).constData(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!directory) {
        return unreadable(systemError());
    }
    UniqueFd file(::openat(directory.get(), fileName.constData(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    const int openError = errno;
    // Taken or not, the answer is for this one call.
    ::unlinkat(directory.get(), fileName.constData(), 0);
    if (!file) {
        errno = openError;
        return unreadable(openError == ENOENT ? i18n("it is gone (another call of the same action may have taken it).") : systemError());
    }
    struct stat status;
    if (::fstat(file.get(), &status) != 0) {
        return unreadable(systemError());
    }
    if (!S_ISREG(status.st_mode) || status.st_uid != ::getuid() || status.st_size > HelperProtocol::maximumReplySize) {
        return unreadable(i18n("the file is not one the helper wrote."));
    }
    QByteArray content(qsizetype(status.st_size) + 1, Qt::Uninitialized);
    qsizetype length = 0;
    while (length < content.size()) {
        const ssize_t got = ::read(file.get(), content.data() + length, std::size_t(content.size() - length));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return unreadable(systemError());
        }
        if (got == 0) {
            break;
        }
        length += got;
    }
    if (length > status.st_size) {
        return unreadable(i18n("the file is not one the helper wrote."));
    }
    content.truncate(length);
    return content;
}

Result<QByteArray> PrivateReply::answer(const QVariantMap &data)
{
    const QVariant name = data.value(HelperProtocol::replyKey);
    if (name.metaType().id() != QMetaType::QString) {
        return unreadable(i18n("the reply names no answer."));
    }
    return take(name.toString());
}

Error PrivateReply::failure(const QString &description)
{
    const QRegularExpressionMatch named = HelperProtocol::replyFilePattern().match(description);
    if (!named.hasMatch()) {
        return Error{description};
    }
    auto taken = take(named.captured());
    if (!taken) {
        return taken.error();
    }
    const QJsonDocument document = QJsonDocument::fromJson(*taken);
    const QJsonValue message = document.object().value(HelperProtocol::failureMessageKey);
    if (!message.isString()) {
        return Error{QString::fromUtf8(*taken)}; // a helper before structured failures
    }
    return Error{message.toString(), document.object().value(HelperProtocol::failureDetailsKey).toString()};
}
