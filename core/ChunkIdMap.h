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
/// looked up by a search that starts where an id's first bytes place it
/// (bracket()). The catalog's questions about every chunk of
/// a store (which are unused, what a session takes) hold them all at once;
/// this takes 16 bytes an id besides the value, a hash of QByteArrays about
/// a hundred.
template<typename Value>
class ChunkIdMap
{
public:
    struct Entry {
        ChunkList::Id id;
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

    /// The entry of the id at binaryId (ChunkList::idBytes bytes), or nullptr.
    const Entry *entryOf(const char *binaryId) const
    {
        ChunkList::Id id;
        std::memcpy(id.data(), binaryId, ChunkList::idBytes);
        const auto [low, high] = bracket(id);
        const auto found = std::lower_bound(m_entries.begin() + low, m_entries.begin() + high, id, [](const Entry &entry, const ChunkList::Id &key) {
            return less(entry.id, key);
        });
        return found != m_entries.end() && found->id == id ? &*found : nullptr;
    }
    /// The value of the id at binaryId, or nullptr.
    const Value *find(const char *binaryId) const
    {
        const Entry *entry = entryOf(binaryId);
        return entry ? &entry->value : nullptr;
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
        return ChunkList::hex(entry.id);
    }

private:
    /// Where id would be, [low, high) of the entries. Ids are keyed hashes,
    /// spread evenly: their first 8 bytes tell about where an id is, and a
    /// search that starts there reads a few neighbouring entries instead of
    /// jumping across all of them (a commit looks up every page of a
    /// session's previous snapshot). Any ids are found, only more slowly.
    std::pair<std::size_t, std::size_t> bracket(const ChunkList::Id &id) const
    {
        const std::size_t count = m_entries.size();
        if (count < 64) {
            return {0, count};
        }
        quint64 prefix = 0;
        for (std::size_t i = 0; i < sizeof prefix; ++i) {
            prefix = prefix << 8 | quint8(id[i]);
        }
        const auto guess = std::size_t((unsigned __int128)prefix * count >> 64);
        // Doubling steps away from the guess until an entry on the other side of id.
        std::size_t step = 1;
        if (less(m_entries[guess].id, id)) {
            while (guess + step < count && less(m_entries[guess + step].id, id)) {
                step *= 2;
            }
            return {guess + step / 2 + 1, std::min(guess + step + 1, count)};
        }
        while (step <= guess && !less(m_entries[guess - step].id, id)) {
            step *= 2;
        }
        return {step <= guess ? guess - step + 1 : 0, guess - step / 2 + 1};
    }

    /// In the order of the ids' bytes, as unsigned numbers (like their hex).
    static bool less(const ChunkList::Id &a, const ChunkList::Id &b)
    {
        return std::memcmp(a.data(), b.data(), ChunkList::idBytes) < 0;
    }

    std::vector<Entry> m_entries;
};

} // namespace Rewind
