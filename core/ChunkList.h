// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QList>

#include <array>
#include <cstring>
#include <optional>

namespace Rewind
{

/// A file's chunks as the catalog keeps them: one blob of the chunks' ids
/// in order, each as its 16 bytes (elsewhere a chunk id is its 32 lower-case
/// hex digits). A page of memory is a chunk, so a file of 512 MiB of memory
/// has 131,072 of them: one blob a file, not a catalog row a chunk.
namespace ChunkList
{

constexpr qsizetype idBytes = 16;
/// A binary id.
using Id = std::array<char, idBytes>;

/// Hashes an id by its first 8 bytes: ids are keyed hashes, spread evenly.
struct IdHash {
    std::size_t operator()(const Id &id) const
    {
        std::size_t prefix;
        std::memcpy(&prefix, id.data(), sizeof prefix);
        return prefix;
    }
};

/// The hex ids in list, in order.
QList<QByteArray> hexIds(const QByteArray &list);

/// True if list is a whole number of ids.
bool isWellFormed(const QByteArray &list);
qsizetype count(const QByteArray &list);
/// The index-th binary id of list, without a copy: valid while list is.
QByteArray viewAt(const QByteArray &list, qsizetype index);

/// A binary id from its 32 hex digits; nothing if it is not one.
std::optional<Id> idFromHex(const QByteArray &hexId);
/// The same, as idBytes bytes in a QByteArray.
std::optional<QByteArray> binaryId(const QByteArray &hexId);
/// The 32 hex digits of id.
QByteArray hex(const Id &id);

} // namespace ChunkList
} // namespace Rewind
