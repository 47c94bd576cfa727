// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cerrno>
#include <cstddef>
#include <unistd.h>

namespace Rewind
{

/// Writes all of data to fd, carrying on after short writes and EINTR.
/// False with errno set on failure (ENOSPC for a full disk, say).
inline bool writeAll(int fd, const void *data, std::size_t size)
{
    auto bytes = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, bytes, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        bytes += n;
        size -= std::size_t(n);
    }
    return true;
}

} // namespace Rewind
