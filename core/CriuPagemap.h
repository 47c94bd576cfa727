// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QList>

namespace Rewind
{

/// One of CRIU's pagemap images (pagemap-PID.img, pagemap-shmem-ID.img):
/// which pages of an address space the dump holds, and where. Entries in
/// address order; a present entry's pages follow those of the present
/// entries before it in pages-<pagesId>.img, a parent entry's pages are in
/// the parent dump's images at the same addresses.
struct CriuPagemap {
    static constexpr quint32 parentFlag = 1U << 0; ///< PE_PARENT
    static constexpr quint32 lazyFlag = 1U << 1; ///< PE_LAZY
    static constexpr quint32 presentFlag = 1U << 2; ///< PE_PRESENT
    static constexpr quint64 pageSize = 4096;

    struct Entry {
        quint64 address = 0;
        quint64 pages = 0;
        quint32 flags = presentFlag;

        /// Its pages are in this dump's pages image (CRIU marks the
        /// anonymous ones lazy too: a lazy restore may fetch them later).
        bool isWhole() const
        {
            return (flags & presentFlag) && !(flags & parentFlag);
        }
        bool operator==(const Entry &) const = default;
    };

    quint32 pagesId = 0;
    QList<Entry> entries;

    /// Reads an image, refusing anything it cannot frame (it trusts no length).
    static Result<CriuPagemap> parse(const QByteArray &image);
    /// The image CRIU reads back.
    QByteArray serialize() const;

    /// The name of the pages image its present entries are in.
    QByteArray pagesFileName() const;
    /// Whether any entry's pages are in the parent dump.
    bool referencesParent() const;
};

} // namespace Rewind
