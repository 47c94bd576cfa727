// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuImageFrame.h"

#include "UniqueFd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Rewind::CriuImageFrame
{
namespace
{

constexpr quint32 commonMagic = 0x54564319; // IMG_COMMON_MAGIC

quint32 readU32(const QByteArray &data, qsizetype at)
{
    quint32 value;
    std::memcpy(&value, data.constData() + at, sizeof value);
    return value;
}

void appendU32(QByteArray &out, quint32 value)
{
    out.append(reinterpret_cast<const char *>(&value), sizeof value);
}

} // namespace

std::optional<QList<QByteArray>> entriesOf(const QByteArray &image, quint32 magic)
{
    if (image.size() < 8 || readU32(image, 0) != commonMagic || readU32(image, 4) != magic) {
        return std::nullopt;
    }
    QList<QByteArray> entries;
    for (qsizetype at = 8; at < image.size();) {
        if (image.size() - at < 4) {
            return std::nullopt;
        }
        const quint32 size = readU32(image, at);
        at += 4;
        if (size > quint64(image.size() - at)) {
            return std::nullopt;
        }
        entries.append(image.mid(at, size));
        at += size;
    }
    return entries;
}

QByteArray imageOf(quint32 magic, const QList<QByteArray> &messages)
{
    QByteArray image;
    appendU32(image, commonMagic);
    appendU32(image, magic);
    for (const QByteArray &message : messages) {
        appendU32(image, quint32(message.size()));
        image.append(message);
    }
    return image;
}

std::optional<QByteArray> read(int directoryFd, const char *name, qsizetype maximumBytes)
{
    UniqueFd file(::openat(directoryFd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat status{};
    if (!file || ::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode) || status.st_size > maximumBytes) {
        return std::nullopt;
    }
    QByteArray image(qsizetype(status.st_size), Qt::Uninitialized);
    qsizetype done = 0;
    while (done < image.size()) {
        const ssize_t n = ::read(file.get(), image.data() + done, std::size_t(image.size() - done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt; // an error, or shorter than it was
        }
        done += n;
    }
    return image;
}

bool forEachEntry(int directoryFd, const std::function<void(const dirent &)> &visit)
{
    UniqueFd listFd(::openat(directoryFd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    DIR *listing = listFd ? ::fdopendir(listFd.get()) : nullptr;
    if (!listing) {
        return false;
    }
    listFd.release(); // closedir closes it
    while (const dirent *entry = ::readdir(listing)) {
        if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
            visit(*entry);
        }
    }
    ::closedir(listing);
    return true;
}

} // namespace Rewind::CriuImageFrame
