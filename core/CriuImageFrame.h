// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QList>

#include <dirent.h>
#include <functional>
#include <optional>

namespace Rewind
{

/// How CRIU frames most of its images: IMG_COMMON_MAGIC and the image's own
/// magic, then a u32 length and a protobuf message for each entry, in the
/// host's byte order.
namespace CriuImageFrame
{

/// The messages of an image with the given magic; nothing if it has another
/// magic or an entry runs past its end (no length is trusted).
std::optional<QList<QByteArray>> entriesOf(const QByteArray &image, quint32 magic);
/// The image of messages, as CRIU writes it.
QByteArray imageOf(quint32 magic, const QList<QByteArray> &messages);
/// The regular file name in directoryFd, read whole without following a
/// link; nothing if it cannot be read or is larger than maximumBytes.
std::optional<QByteArray> read(int directoryFd, const char *name, qsizetype maximumBytes);
/// Calls visit for each entry of the images directory directoryFd but "."
/// and ".."; false, with errno set, if it cannot be listed.
bool forEachEntry(int directoryFd, const std::function<void(const dirent &)> &visit);

} // namespace CriuImageFrame
} // namespace Rewind
