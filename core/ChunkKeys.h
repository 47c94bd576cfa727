// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "ChunkList.h"
#include "Result.h"

#include <QByteArray>
#include <QHash>
#include <QString>

#include <array>
#include <cstddef>
#include <cstdint>

namespace Rewind
{

/// How a store names its chunks. A chunk's id is the BLAKE3 hash of its
/// bytes keyed with a key of its owner, truncated to 128 bits (32 lowercase
/// hex digits). Each owner's key is derived from the store's secret
/// (<store>/chunk-secret, 32 random bytes only the store's owner can read)
/// and the owner's uid, so equal content of two users gets two ids: chunks
/// are shared within one owner's snapshots only, and nobody who cannot read
/// the secret can compute an id, let alone make two contents collide.
///
/// Chunks of stores written before keyed ids were named by the unkeyed
/// XXH3-128 of their bytes; legacyOwner stands for them until the store
/// migrates them.
class ChunkKeys
{
public:
    static constexpr qint64 legacyOwner = -1;
    static constexpr const char *secretFileName = "chunk-secret";

    /// Reads the store's secret, creating it when the store has none.
    static Result<ChunkKeys> open(int storeDirFd, const QString &storePath);

    /// The id of data stored for owner (a uid, or legacyOwner).
    QByteArray idOf(qint64 owner, const unsigned char *data, std::size_t size) const;

    /// Names one owner's chunks; holds its own copy of the owner's key, so
    /// several threads may use one at once.
    class OwnerIds
    {
    public:
        QByteArray idOf(const unsigned char *data, std::size_t size) const;
        /// The same id as its 16 bytes (as ChunkList keeps ids).
        ChunkList::Id binaryIdOf(const unsigned char *data, std::size_t size) const;

    private:
        friend class ChunkKeys;
        qint64 m_owner = legacyOwner;
        std::array<std::uint8_t, 32> m_key{};
    };
    OwnerIds idsOf(qint64 owner) const;
    /// The unkeyed id chunks had before they had owners.
    static QByteArray legacyIdOf(const unsigned char *data, std::size_t size);

private:
    using Key = std::array<std::uint8_t, 32>;
    explicit ChunkKeys(const Key &secret);
    const Key &keyOf(qint64 owner) const;

    Key m_secret;
    mutable QHash<qint64, Key> m_ownerKeys;
};

} // namespace Rewind
