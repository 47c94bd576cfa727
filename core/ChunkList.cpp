// SPDX-License-Identifier: GPL-2.0-or-later
#include "ChunkList.h"

namespace Rewind::ChunkList
{
namespace
{

int hexValue(char digit)
{
    if (digit >= '0' && digit <= '9') {
        return digit - '0';
    }
    if (digit >= 'a' && digit <= 'f') {
        return digit - 'a' + 10;
    }
    return -1;
}

bool decodeHex(const QByteArray &hexId, char *out)
{
    if (hexId.size() != 2 * idBytes) {
        return false;
    }
    for (qsizetype i = 0; i < idBytes; ++i) {
        const int high = hexValue(hexId.at(2 * i));
        const int low = hexValue(hexId.at(2 * i + 1));
        if (high < 0 || low < 0) {
            return false;
        }
        out[i] = char(high << 4 | low);
    }
    return true;
}

} // namespace

QList<QByteArray> hexIds(const QByteArray &list)
{
    QList<QByteArray> ids;
    ids.reserve(count(list));
    for (qsizetype i = 0; i < count(list); ++i) {
        ids.append(viewAt(list, i).toHex());
    }
    return ids;
}

bool isWellFormed(const QByteArray &list)
{
    return list.size() % idBytes == 0;
}

qsizetype count(const QByteArray &list)
{
    return list.size() / idBytes;
}

QByteArray viewAt(const QByteArray &list, qsizetype index)
{
    return QByteArray::fromRawData(list.constData() + index * idBytes, idBytes);
}

std::optional<Id> idFromHex(const QByteArray &hexId)
{
    Id id;
    if (!decodeHex(hexId, id.data())) {
        return std::nullopt;
    }
    return id;
}

QByteArray hex(const Id &id)
{
    return QByteArray::fromRawData(id.data(), idBytes).toHex();
}

std::optional<QByteArray> binaryId(const QByteArray &hexId)
{
    QByteArray id(idBytes, Qt::Uninitialized);
    if (!decodeHex(hexId, id.data())) {
        return std::nullopt;
    }
    return id;
}

} // namespace Rewind::ChunkList
