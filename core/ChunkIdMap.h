// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "ChunkList.h"

#include <QByteArray>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

namespace Rewind
{

/// Chunks by binary id (ChunkList), a Value each: filled, sorted once, then
/// looked up by binary search. The catalog's questions about every chunk of
/// a store (which are unused, what a session takes) hold them all at once;
/// this takes 16 bytes an id besides the value, a hash of QByteArrays about
/// a hundred.
template<typename Value>
class ChunkIdMap
{
public:
    struct Entry {
        std::array<char, ChunkList::idBytes> id;
        Value value;
    };

    /// Before sort() only.
    void insert(const QByteArray &binaryId, const Value &value)
    {
        Entry entry{{}, value};
        std::memcpy(entry.id.data(), binaryId.constData(), ChunkList::idBytes);
        m_entries.push_back(entry);
    }

    /// Sorts by id, keeping the first of equal ids; find() works after it.
    void sort()
    {
        std::stable_sort(m_entries.begin(), m_entries.end(), [](const Entry &a, const Entry &b) {
            return less(a.id, b.id);
        });
        m_entries.erase(std::unique(m_entries.begin(),
                                    m_entries.end(),
                                    [](const Entry &a, const Entry &b) {
                                        return a.id == b.id;
                                    }),
                        m_entries.end());
    }

    /// The value of the id at binaryId (ChunkList::idBytes bytes), or nullptr.
    const Value *find(const char *binaryId) const
    {
        std::array<char, ChunkList::idBytes> id;
        std::memcpy(id.data(), binaryId, ChunkList::idBytes);
        const auto found = std::lower_bound(m_entries.begin(), m_entries.end(), id, [](const Entry &entry, const std::array<char, ChunkList::idBytes> &key) {
            return less(entry.id, key);
        });
        return found != m_entries.end() && found->id == id ? &found->value : nullptr;
    }
    Value *find(const char *binaryId)
    {
        return const_cast<Value *>(std::as_const(*this).find(binaryId));
    }

    bool isEmpty() const
    {
        return m_entries.empty();
    }
    const std::vector<Entry> &entries() const
    {
        return m_entries;
    }

    /// The hex id of an entry, as the rest of the catalog names chunks.
    static QByteArray hexId(const Entry &entry)
    {
        return QByteArray::fromRawData(entry.id.data(), ChunkList::idBytes).toHex();
    }

private:
    /// In the order of the ids' bytes, as unsigned numbers (like their hex).
    static bool less(const std::array<char, ChunkList::idBytes> &a, const std::array<char, ChunkList::idBytes> &b)
    {
        return std::memcmp(a.data(), b.data(), ChunkList::idBytes) < 0;
    }

    std::vector<Entry> m_entries;
};

} // namespace Rewind
