// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QList>

namespace Rewind
{

/// What a snapshot's processes had open by path, read from CRIU's files.img
/// and the fs-*.img and mm-*.img beside it: the files CRIU reopens by name
/// on restore (regular files, directories, working directories, executables,
/// mapped files, those mapped shared from a writable descriptor as written
/// to) and the paths unix sockets were bound at. A minimal reader of CRIU's image framing (magics,
/// then u32 length and a protobuf message per entry) that takes only these
/// fields, refuses what it cannot frame, and trusts no length.
struct OpenedPath {
    enum class Kind {
        File, ///< reopened with flags
        EnteredDirectory, ///< a working or root directory
        BoundSocket, ///< bound again at path
    };
    Kind kind = Kind::File;
    QByteArray path; ///< absolute, in the cell's mount namespace
    quint32 flags = 0; ///< open flags of a File; O_RDWR for a shared writable mapping
    quint32 id = 0; ///< CRIU's id of a File
};

class CriuImageFiles
{
public:
    /// Reads files.img and the mm-*.img in the images directory.
    static Result<QList<OpenedPath>> read(int imagesDirFd);
    /// Parses the content of a files.img.
    static Result<QList<OpenedPath>> parse(const QByteArray &image);
    /// The ids of the files an mm-*.img maps shared and writable, or shared
    /// from a descriptor open for writing (mprotect makes it writable).
    static Result<QList<quint32>> sharedWritableMappings(const QByteArray &image);
    /// The ids of the working and root directories of an fs-*.img.
    static Result<QList<quint32>> enteredDirectories(const QByteArray &image);
    /// The local addresses of the TCP connections (neither listening nor
    /// closed) and of the bound UDP sockets in files.img of the images
    /// directory, 4 bytes (IPv4) or 16 (IPv6) each in network order,
    /// loopback and wildcard ones left out; each once.
    static Result<QList<QByteArray>> connectionAddresses(int imagesDirFd);
    /// The same, of the content of a files.img.
    static Result<QList<QByteArray>> parseConnectionAddresses(const QByteArray &image);
};

} // namespace Rewind
