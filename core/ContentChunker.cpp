// SPDX-License-Identifier: GPL-2.0-or-later
#include "ContentChunker.h"

#include <algorithm>
#include <array>

namespace Rewind
{
namespace
{

constexpr std::array<std::uint64_t, 256> makeGearTable()
{
    // splitmix64 from a fixed seed: random-looking and the same everywhere.
    std::array<std::uint64_t, 256> table{};
    std::uint64_t state = 0x5265'7769'6e64'4344ULL; // "RewindCD"
    for (std::uint64_t &entry : table) {
        state += 0x9e37'79b9'7f4a'7c15ULL;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
        entry = z ^ (z >> 31);
    }
    return table;
}

constexpr std::array<std::uint64_t, 256> gear = makeGearTable();

// The gear hash shifts left, so its top bits depend on the last 64 bytes.
// Normalized chunking: a harder mask (16 bits) before the average size and an
// easier one (12 bits) after it keeps chunk sizes close to 16 KiB. Small
// chunks matter for CRIU's page images: a few pages a process touched between
// two snapshots should cost a few small chunks, not a few large ones.
constexpr std::uint64_t topBits(int bits)
{
    return ~std::uint64_t(0) << (64 - bits);
}
constexpr std::uint64_t hardMask = topBits(16);
constexpr std::uint64_t easyMask = topBits(12);

} // namespace

std::size_t ContentChunker::cut(const unsigned char *data, std::size_t size)
{
    if (size <= minimumSize) {
        return size;
    }
    const std::size_t end = std::min(size, maximumSize);
    const std::size_t normal = std::min(end, averageSize);
    std::uint64_t hash = 0;
    std::size_t i = minimumSize;
    for (; i < normal; ++i) {
        hash = (hash << 1) + gear[data[i]];
        if ((hash & hardMask) == 0) {
            return i + 1;
        }
    }
    for (; i < end; ++i) {
        hash = (hash << 1) + gear[data[i]];
        if ((hash & easyMask) == 0) {
            return i + 1;
        }
    }
    // No content boundary: cut at the maximum, or take what is left at the end.
    return end;
}

} // namespace Rewind
