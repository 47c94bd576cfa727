// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

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
};
