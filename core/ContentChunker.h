// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>

namespace Rewind
{

/// Content-defined chunking (FastCDC with a gear rolling hash): cut points
/// depend on the bytes around them, not on their offset, so inserting a page
/// into a file changes only the chunks next to it.
///
/// The gear table and masks are part of the store's format: changing them
/// keeps old snapshots readable but stops new ones from sharing their chunks.
class ContentChunker
{
public:
    static constexpr std::size_t minimumSize = 4 * 1024;
    static constexpr std::size_t averageSize = 16 * 1024;
    static constexpr std::size_t maximumSize = 64 * 1024;

    /// Length of the chunk that starts at data[0]. Pass at least maximumSize
    /// bytes unless the input ends within them.
    static std::size_t cut(const unsigned char *data, std::size_t size);
};

} // namespace Rewind
