// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuImageFiles.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace Rewind
{
namespace
{

constexpr quint32 commonMagic = 0x54564319; // IMG_COMMON_MAGIC
constexpr quint32 filesMagic = 0x56303138; // FILES_MAGIC
constexpr qsizetype maximumImageSize = 256 * 1024 * 1024;

// images/fdinfo.proto, regfile.proto, sk-unix.proto
constexpr quint32 fileEntryType = 1;
constexpr quint32 fileEntryRegular = 3;
constexpr quint32 fileEntryUnixSocket = 16;
constexpr quint64 typeRegular = 1;
constexpr quint64 typeUnixSocket = 5;
constexpr quint32 regularFlags = 2;
constexpr quint32 regularName = 6;
constexpr quint32 unixSocketName = 11;
constexpr quint32 unixSocketNameDirectory = 14;

/// One field of a protobuf message: its number, and its value as a number
/// (varint, fixed) or bytes (length-delimited).
struct Field {
    quint32 number = 0;
    quint64 number64 = 0;
    QByteArray bytes;
};

/// Reads the fields of one protobuf message, strictly within its bytes.
class MessageReader
{
public:
    explicit MessageReader(const QByteArray &message)
        : m_data(message)
    {
    }

    /// The next field; nullopt at the end. ok() says whether it ended well.
    std::optional<Field> next()
    {
        if (m_position >= m_data.size() || !m_ok) {
            return std::nullopt;
        }
        const auto key = varint();
        if (!key) {
            return fail();
        }
        Field field;
        field.number = quint32(*key >> 3);
        switch (*key & 7) {
        case 0: {
            const auto value = varint();
            if (!value) {
                return fail();
            }
            field.number64 = *value;
            return field;
        }
        case 1:
            return skip(8) ? std::optional(field) : fail();
        case 5:
            return skip(4) ? std::optional(field) : fail();
        case 2: {
            const auto length = varint();
            if (!length || *length > quint64(m_data.size() - m_position)) {
                return fail();
            }
            field.bytes = m_data.mid(m_position, qsizetype(*length));
            m_position += qsizetype(*length);
            return field;
        }
        default:
            return fail();
        }
    }
    bool ok() const
    {
        return m_ok;
    }

private:
    std::optional<quint64> varint()
    {
        quint64 value = 0;
        for (int shift = 0; shift < 64 && m_position < m_data.size(); shift += 7) {
            const auto byte = quint8(m_data[m_position++]);
            value |= quint64(byte & 0x7f) << shift;
            if (!(byte & 0x80)) {
                return value;
            }
        }
        return std::nullopt;
    }
    bool skip(qsizetype bytes)
    {
        if (m_data.size() - m_position < bytes) {
            return false;
        }
        m_position += bytes;
        return true;
    }
    std::optional<Field> fail()
    {
        m_ok = false;
        return std::nullopt;
    }

    const QByteArray &m_data;
    qsizetype m_position = 0;
    bool m_ok = true;
};

Error malformed()
{
    return Error{i18n("The snapshot's list of open files (files.img) is damaged.")};
}

/// The fields of a message that matter here, by number; false if malformed.
bool fieldsOf(const QByteArray &message, QList<Field> &fields)
{
    MessageReader reader(message);
    while (auto field = reader.next()) {
        fields.append(*field);
    }
    return reader.ok();
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

quint32 readU32(const QByteArray &data, qsizetype at)
{
    quint32 value;
    std::memcpy(&value, data.constData() + at, sizeof value);
    return value; // CRIU writes its images in the host's byte order
}

} // namespace

Result<QList<OpenedPath>> CriuImageFiles::parse(const QByteArray &image)
{
    if (image.size() < 8 || readU32(image, 0) != commonMagic || readU32(image, 4) != filesMagic) {
        return malformed();
    }
    QList<OpenedPath> paths;
    for (qsizetype at = 8; at < image.size();) {
        if (image.size() - at < 4) {
            return malformed();
        }
        const quint32 size = readU32(image, at);
        at += 4;
        if (size > quint64(image.size() - at)) {
            return malformed();
        }
        QList<Field> entry;
        if (!fieldsOf(image.mid(at, size), entry)) {
            return malformed();
        }
        at += size;
        const Field *type = find(entry, fileEntryType);
        if (!type) {
            return malformed();
        }
        if (type->number64 == typeRegular) {
            QList<Field> regular;
            const Field *body = find(entry, fileEntryRegular);
            if (!body || !fieldsOf(body->bytes, regular) || !find(regular, regularName)) {
                return malformed();
            }
            const Field *flags = find(regular, regularFlags);
            paths.append({OpenedPath::Kind::File, find(regular, regularName)->bytes, flags ? quint32(flags->number64) : 0});
        } else if (type->number64 == typeUnixSocket) {
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
            paths.append({OpenedPath::Kind::BoundSocket, path, 0});
        }
    }
    return paths;
}

Result<QList<OpenedPath>> CriuImageFiles::read(int imagesDirFd)
{
    UniqueFd file(::openat(imagesDirFd, "files.img", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) {
        return Error{i18n("The snapshot has no list of open files (files.img).")};
    }
    QByteArray image;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(file.get(), buffer, sizeof buffer)) > 0) {
        image.append(buffer, n);
        if (image.size() > maximumImageSize) {
            return malformed();
        }
    }
    if (n < 0) {
        return malformed();
    }
    return parse(image);
}

} // namespace Rewind
