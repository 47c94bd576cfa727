// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QString>

#include <sys/types.h>

/// Hands data to one user without putting it in a KAuth reply, which the
/// system bus broadcasts to every client: the helper writes it to a file
/// only that user can read, in a directory of theirs under the runtime
/// directory (HelperProtocol::handOffDirectory), and replies with its path.
class PrivateHandOff
{
public:
    /// Writes data as name (a plain file name) for uid; returns its path.
    static Rewind::Result<QString> write(uid_t uid, gid_t gid, const QString &name, const QByteArray &data);
    /// Writes a reply's answer for uid under a fresh, unpredictable name
    /// (HelperProtocol::isReplyFileName) and returns that name. Reply files a
    /// client never took (it died) go first: those older than a minute, and
    /// the oldest beyond the newest few.
    static Rewind::Result<QString> writeReply(uid_t uid, gid_t gid, const QByteArray &data);
    /// The user's directory itself (made if missing, 0700, theirs), opened
    /// without following links, for what is not a plain file (a socket).
    static Rewind::Result<Rewind::UniqueFd> directory(uid_t uid, gid_t gid);
    /// The user's primary group, which what is handed over belongs to.
    static gid_t groupOf(uid_t uid);
    /// Where name in uid's directory is, as the user sees it.
    static QString path(uid_t uid, const QString &name);
};
