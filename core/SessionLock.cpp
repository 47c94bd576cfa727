// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionLock.h"

#include "SessionRecord.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>

namespace Rewind
{

Result<SessionLock> SessionLock::acquire(const QString &sessionsDirectory, const QString &sessionId)
{
    if (!SessionRecord::isValidId(sessionId)) {
        return Error{i18n("'%1' is not a session id.", sessionId.left(64))};
    }
    if (!QDir().mkpath(sessionsDirectory)) {
        return Error{i18n("Cannot create %1.", sessionsDirectory)};
    }
    const QByteArray path = QFile::encodeName(sessionsDirectory + QLatin1Char('/') + sessionId + QStringLiteral(".lock"));
    SessionLock lock;
    lock.m_sessionId = sessionId;
    lock.m_fd.reset(::open(path.constData(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock.m_fd) {
        return Error{i18n("Cannot lock session %1: %2", sessionId, QString::fromLocal8Bit(strerror(errno)))};
    }
    if (::flock(lock.m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return Error{i18n("Session %1 is busy: a snapshot, restore, start or stop of it is under way. Try again when it has finished.", sessionId)};
        }
        return Error{i18n("Cannot lock session %1: %2", sessionId, QString::fromLocal8Bit(strerror(errno)))};
    }
    return lock;
}

} // namespace Rewind
