// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuImageFiles.h"

#include "CriuImageFrame.h"
#include "ProtobufReader.h"

#include <KLocalizedString>

#include <QFile>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace Rewind
{
namespace
{

constexpr quint32 filesMagic = 0x56303138; // FILES_MAGIC
constexpr quint32 mmMagic = 0x57492820; // MM_MAGIC
constexpr quint32 fsMagic = 0x51403912; // FS_MAGIC
constexpr qsizetype maximumImageSize = 256 * 1024 * 1024;

// images/fdinfo.proto, regfile.proto, sk-unix.proto
constexpr quint32 fileEntryType = 1;
constexpr quint32 fileEntryRegular = 3;
constexpr quint32 fileEntryUnixSocket = 16;
constexpr quint32 fileEntryInetSocket = 4;
constexpr quint64 typeRegular = 1;
constexpr quint64 typeUnixSocket = 5;
constexpr quint64 typeInetSocket = 4;
// images/sk-inet.proto, criu/include/sockets.h (the kernel's TCP states)
constexpr quint32 inetSocketFamily = 3;
constexpr quint32 inetSocketProtocol = 5;
constexpr quint32 inetSocketState = 6;
constexpr quint32 inetSocketSourceAddress = 11;
constexpr quint64 protocolTcp = 6;
constexpr quint64 protocolUdp = 17;
constexpr quint64 stateClosed = 7;
constexpr quint64 stateListening = 10;
constexpr quint32 regularFlags = 2;
constexpr quint32 regularName = 6;
constexpr quint32 unixSocketName = 11;
constexpr quint32 unixSocketNameDirectory = 14;
constexpr quint32 regularId = 1;
// images/mm.proto, vma.proto, criu/include/image.h
constexpr quint32 mmVmas = 14;
constexpr quint32 vmaShmid = 4;
constexpr quint32 vmaProtection = 5;
constexpr quint32 vmaStatus = 7;
constexpr quint32 vmaDescriptorFlags = 10;
// images/fs.proto
constexpr quint32 fsWorkingDirectory = 1;
constexpr quint32 fsRootDirectory = 2;
constexpr quint64 vmaFileShared = 1 << 7;
constexpr quint64 vmaMemfd = 1 << 14;
constexpr quint64 protectionWrite = 0x2;

/// One field of a protobuf message: its number, and its value as a number
/// (varint, fixed) or bytes (length-delimited).
struct Field {
    quint32 number = 0;
    quint64 number64 = 0;
    QByteArray bytes;
};

Error malformed()
{
    return Error{i18n("The snapshot's list of open files (files.img) is damaged.")};
}

/// The fields of a message that matter here, by number; false if malformed.
bool fieldsOf(QByteArrayView message, QList<Field> &fields)
{
    ProtobufReader reader(message);
    while (!reader.atEnd()) {
        const auto key = reader.varint();
        if (!key) {
            return false;
        }
        Field field;
        field.number = quint32(*key >> 3);
        const int wireType = int(*key & 7);
        if (wireType == 0) {
            const auto value = reader.varint();
            if (!value) {
                return false;
            }
            field.number64 = *value;
        } else if (wireType == 2) {
            const auto bytes = reader.bytes();
            if (!bytes) {
                return false;
            }
            field.bytes = bytes->toByteArray();
        } else if (!reader.skip(wireType)) {
            return false;
        }
        fields.append(field);
    }
    return true;
}

const Field *find(const QList<Field> &fields, quint32 number)
{
    for (const Field &field : fields) {
        if (field.number == number) {
            return &field;
        }
    }
    return nullptr;
}

/// One entry of files.img: its type and its fields.
struct FileEntry {
    quint64 type = 0;
    QList<Field> fields;
};

/// The entries of a files.img; nullopt if the image is damaged (an entry
/// that cannot be read, or one without a type).
std::optional<QList<FileEntry>> fileEntriesOf(const QByteArray &image)
{
    const auto entries = CriuImageFrame::entriesOf(image, filesMagic);
    if (!entries) {
        return std::nullopt;
    }
    QList<FileEntry> result;
    for (const QByteArray &message : *entries) {
        FileEntry entry;
        if (!fieldsOf(message, entry.fields)) {
            return std::nullopt;
        }
        const Field *type = find(entry.fields, fileEntryType);
        if (!type) {
            return std::nullopt;
        }
        entry.type = type->number64;
        result.append(std::move(entry));
    }
    return result;
}

} // namespace

Result<QList<OpenedPath>> CriuImageFiles::parse(const QByteArray &image)
{
    const auto entries = fileEntriesOf(image);
    if (!entries) {
        return malformed();
    }
    QList<OpenedPath> paths;
    for (const FileEntry &file : *entries) {
        const QList<Field> &entry = file.fields;
        if (file.type == typeRegular) {
            QList<Field> regular;
            const Field *body = find(entry, fileEntryRegular);
            if (!body || !fieldsOf(body->bytes, regular) || !find(regular, regularName)) {
                return malformed();
            }
            const Field *flags = find(regular, regularFlags);
            const Field *id = find(regular, regularId);
            paths.append({OpenedPath::Kind::File, find(regular, regularName)->bytes, flags ? quint32(flags->number64) : 0, id ? quint32(id->number64) : 0});
        } else if (file.type == typeUnixSocket) {
            QList<Field> socket;
            const Field *body = find(entry, fileEntryUnixSocket);
            if (!body || !fieldsOf(body->bytes, socket)) {
                return malformed();
            }
            const Field *name = find(socket, unixSocketName);
            if (!name || name->bytes.isEmpty() || name->bytes.startsWith('\0')) {
                continue; // unbound or abstract: no path
            }
            QByteArray path = name->bytes;
            if (const Field *directory = find(socket, unixSocketNameDirectory); directory && !path.startsWith('/')) {
                path = directory->bytes + '/' + path;
            }
            paths.append({OpenedPath::Kind::BoundSocket, path, 0, 0});
        }
    }
    return paths;
}

Result<QList<quint32>> CriuImageFiles::sharedWritableMappings(const QByteArray &image)
{
    const auto entries = CriuImageFrame::entriesOf(image, mmMagic);
    if (!entries) {
        return Error{i18n("The snapshot's memory layout (mm.img) is damaged.")};
    }
    QList<quint32> ids;
    for (const QByteArray &message : *entries) {
        QList<Field> mm;
        if (!fieldsOf(message, mm)) {
            return Error{i18n("The snapshot's memory layout (mm.img) is damaged.")};
        }
        for (const Field &field : std::as_const(mm)) {
            QList<Field> vma;
            if (field.number != mmVmas || !fieldsOf(field.bytes, vma)) {
                continue;
            }
            const Field *status = find(vma, vmaStatus);
            const Field *protection = find(vma, vmaProtection);
            const Field *shmid = find(vma, vmaShmid);
            const Field *descriptorFlags = find(vma, vmaDescriptorFlags);
            const bool writableDescriptor = descriptorFlags && (descriptorFlags->number64 & O_ACCMODE) != O_RDONLY;
            if (status && protection && shmid && (status->number64 & vmaFileShared) && !(status->number64 & vmaMemfd)
                && ((protection->number64 & protectionWrite) || writableDescriptor)) {
                ids.append(quint32(shmid->number64));
            }
        }
    }
    return ids;
}

Result<QList<quint32>> CriuImageFiles::enteredDirectories(const QByteArray &image)
{
    const auto entries = CriuImageFrame::entriesOf(image, fsMagic);
    QList<quint32> ids;
    for (const QByteArray &message : entries ? *entries : QList<QByteArray>()) {
        QList<Field> fs;
        if (!fieldsOf(message, fs)) {
            return Error{i18n("The snapshot's working directories (fs.img) are damaged.")};
        }
        for (const quint32 number : {fsWorkingDirectory, fsRootDirectory}) {
            if (const Field *id = find(fs, number)) {
                ids.append(quint32(id->number64));
            }
        }
    }
    if (!entries) {
        return Error{i18n("The snapshot's working directories (fs.img) are damaged.")};
    }
    return ids;
}

Result<QList<QByteArray>> CriuImageFiles::parseConnectionAddresses(const QByteArray &image)
{
    const auto entries = fileEntriesOf(image);
    if (!entries) {
        return malformed();
    }
    QList<QByteArray> addresses;
    for (const FileEntry &file : *entries) {
        if (file.type != typeInetSocket) {
            continue;
        }
        QList<Field> socket;
        const Field *body = find(file.fields, fileEntryInetSocket);
        if (!body || !fieldsOf(body->bytes, socket)) {
            return malformed();
        }
        const Field *protocol = find(socket, inetSocketProtocol);
        const Field *state = find(socket, inetSocketState);
        const Field *family = find(socket, inetSocketFamily);
        if (!protocol || !state || !family) {
            continue;
        }
        // TCP connections, and UDP sockets bound to an address (a resolver's
        // query in flight): CRIU binds each to its address again.
        const bool tcpConnection = protocol->number64 == protocolTcp && state->number64 != stateClosed && state->number64 != stateListening;
        if (!tcpConnection && protocol->number64 != protocolUdp) {
            continue;
        }
        // A repeated uint32, one field a word (or packed, in one field).
        QByteArray address;
        for (const Field &field : std::as_const(socket)) {
            if (field.number != inetSocketSourceAddress) {
                continue;
            }
            if (!field.bytes.isEmpty()) {
                ProtobufReader packed(field.bytes);
                while (!packed.atEnd()) {
                    const auto word = packed.varint();
                    if (!word) {
                        return malformed();
                    }
                    const quint32 value = quint32(*word);
                    address.append(reinterpret_cast<const char *>(&value), sizeof value);
                }
            } else {
                const quint32 value = quint32(field.number64); // the address's bytes in memory, as CRIU read them
                address.append(reinterpret_cast<const char *>(&value), sizeof value);
            }
        }
        // An IPv6 socket's IPv4 address (::ffff:a.b.c.d) is an IPv4 address of the namespace.
        if (address.size() == 16 && address.startsWith(QByteArray(10, '\0') + "\xff\xff")) {
            address = address.right(4);
        }
        const bool loopback = (address.size() == 4 && quint8(address[0]) == 127) || (address.size() == 16 && address == QByteArray(15, '\0') + '\1');
        const bool wildcard = address.count('\0') == address.size();
        if ((address.size() == 4 || address.size() == 16) && !loopback && !wildcard && !addresses.contains(address)) {
            addresses.append(address);
        }
    }
    return addresses;
}

Result<QList<QByteArray>> CriuImageFiles::connectionAddresses(int imagesDirFd)
{
    const auto files = CriuImageFrame::read(imagesDirFd, "files.img", maximumImageSize);
    if (!files) {
        return Error{i18n("The snapshot's list of open files (files.img) is missing or unreadable.")};
    }
    return parseConnectionAddresses(*files);
}

Result<QList<OpenedPath>> CriuImageFiles::read(int imagesDirFd)
{
    const auto files = CriuImageFrame::read(imagesDirFd, "files.img", maximumImageSize);
    if (!files) {
        return Error{i18n("The snapshot's list of open files (files.img) is missing or unreadable.")};
    }
    auto paths = parse(*files);
    if (!paths) {
        return paths;
    }
    // Mapped shared and writable, a file is written to: it needs what O_RDWR needs.
    QList<quint32> written;
    QList<quint32> entered;
    std::optional<Error> damaged;
    const bool listed = CriuImageFrame::forEachEntry(imagesDirFd, [&](const dirent &entry) {
        const QByteArray name(entry.d_name);
        const bool memory = name.startsWith("mm-") && name.endsWith(".img");
        const bool directories = name.startsWith("fs-") && name.endsWith(".img");
        if (!memory && !directories) {
            return;
        }
        const auto image = CriuImageFrame::read(imagesDirFd, entry.d_name, maximumImageSize);
        auto ids = !image ? Result<QList<quint32>>(Error{i18n("Cannot read the snapshot's images: %1", QFile::decodeName(name))})
            : memory      ? sharedWritableMappings(*image)
                          : enteredDirectories(*image);
        if (!ids) {
            damaged = ids.error();
        } else {
            (memory ? written : entered) += *ids;
        }
    });
    if (!listed) {
        return Error{i18n("Cannot read the snapshot's images: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    if (damaged) {
        return *damaged;
    }
    for (OpenedPath &opened : *paths) {
        if (opened.kind != OpenedPath::Kind::File) {
            continue;
        }
        if (written.contains(opened.id)) {
            opened.flags = (opened.flags & ~quint32(O_ACCMODE)) | O_RDWR;
        } else if (entered.contains(opened.id)) {
            opened.kind = OpenedPath::Kind::EnteredDirectory;
        }
    }
    return paths;
}

} // namespace Rewind
