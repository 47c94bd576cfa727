// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "ChunkList.h"

#include <QtGlobal>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace Rewind
{

/// Binary chunk ids (ChunkList) in a set that may say "perhaps" of an id it
/// does not hold, never "no" of one it holds: a bit for each value of an
/// id's first 20 bits, 128 KiB in all. Ids are keyed hashes, spread evenly,
/// so with a few thousand ids in it most others are told apart by one bit.
/// For reading millions of list entries in search of a few ids.
class ChunkIdFilter
{
public:
    void clear()
    {
        std::fill(m_words.begin(), m_words.end(), 0);
    }
    void add(const char *binaryId)
    {
        const std::size_t bit = bitOf(binaryId);
        m_words[bit / 64] |= quint64(1) << (bit % 64);
    }
    bool mayContain(const char *binaryId) const
    {
        const std::size_t bit = bitOf(binaryId);
        return m_words[bit / 64] >> (bit % 64) & 1;
    }

private:
    static constexpr int bits = 20;
    static std::size_t bitOf(const char *binaryId)
    {
        static_assert(ChunkList::idBytes >= 3);
        const auto byte = [binaryId](int i) {
            return std::size_t(quint8(binaryId[i]));
        };
        return (byte(0) << 16 | byte(1) << 8 | byte(2)) >> (24 - bits);
    }

    std::vector<quint64> m_words = std::vector<quint64>(std::size_t(1) << bits >> 6);
};

} // namespace Rewind
