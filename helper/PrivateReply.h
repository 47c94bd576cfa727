// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QString>
#include <QVariantMap>

/// The caller's side of the helper's private replies (HelperProtocol::replyKey):
/// a reply on the system bus only names a file in the caller's hand-off
/// directory, and the answer itself is read from there and removed, as the
/// user who called. Shared by rewindctl, the GUI and the tests' client.
namespace PrivateReply
{
/// The answer of a reply that succeeded (JSON), from the reply's data.
Rewind::Result<QByteArray> answer(const QVariantMap &data);

/// A failed reply's message and details, from the description the client
/// got: what the file it names holds, or the description as it is if it
/// names no reply file (KAuth's own errors, such as a refusal by polkit).
Rewind::Error failure(const QString &description);

/// Reads the reply file name from handOffDirectory(getuid()) without
/// following links, at most HelperProtocol::maximumReplySize bytes, and
/// removes it.
Rewind::Result<QByteArray> take(const QString &name);
} // namespace PrivateReply
