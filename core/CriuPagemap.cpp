// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuPagemap.h"

#include "CriuImageFrame.h"
#include "ProtobufReader.h"

#include <KLocalizedString>

namespace Rewind
{
namespace
{

constexpr quint32 pagemapMagic = 0x56084025; // PAGEMAP_MAGIC, also that of shmem pagemaps
// No process has more than this many mappings' worth of entries (the
// kernel's vm.max_map_count is 65530 by default; entries split at holes).
constexpr qsizetype maxEntries = 16 * 1024 * 1024;
// An address space of 2^64 bytes has 2^52 pages.
constexpr quint64 maxPages = (quint64(1) << 52) - 1;

Error malformed(const QString &why)
{
    return Error{i18n("A memory map of the snapshot (pagemap image) is damaged: %1", why)};
}

void appendVarint(QByteArray &out, quint64 value)
{
    while (value >= 0x80) {
        out.append(char(quint8(value) | 0x80));
        value >>= 7;
    }
    out.append(char(value));
}

std::optional<CriuPagemap::Entry> parseEntry(QByteArrayView message)
{
    ProtobufReader reader(message);
    CriuPagemap::Entry entry;
    std::optional<quint64> address, compatPages, pages, flags;
    bool inParent = false;
    while (!reader.atEnd()) {
        const auto key = reader.varint();
        if (!key) {
            return std::nullopt;
        }
        const quint64 field = *key >> 3;
        const int wireType = int(*key & 7);
        if (wireType == 0 && field >= 1 && field <= 5) {
            const auto value = reader.varint();
            if (!value) {
                return std::nullopt;
            }
            switch (field) {
            case 1:
                address = value;
                break;
            case 2:
                compatPages = value;
                break;
            case 3:
                inParent = *value != 0;
                break;
            case 4:
                flags = value;
                break;
            case 5:
                pages = value;
                break;
            }
        } else if (!reader.skip(wireType)) {
            return std::nullopt;
        }
    }
    if (!address || !(pages || compatPages)) {
        return std::nullopt;
    }
    entry.address = *address;
    entry.pages = pages ? *pages : *compatPages;
    // As CRIU reads images of its older versions: in_parent, else present.
    entry.flags = inParent ? CriuPagemap::parentFlag : flags ? quint32(*flags) : CriuPagemap::presentFlag;
    if (inParent && flags) {
        entry.flags |= quint32(*flags);
    }
    return entry;
}

} // namespace

Result<CriuPagemap> CriuPagemap::parse(const QByteArray &image)
{
    const auto messages = CriuImageFrame::entriesOf(image, pagemapMagic);
    if (!messages) {
        return malformed(i18n("it is not framed as one, or an entry runs past its end."));
    }
    if (messages->isEmpty()) {
        return malformed(i18n("it has no head."));
    }
    CriuPagemap pagemap;
    ProtobufReader head(messages->first());
    std::optional<quint64> pagesId;
    while (!head.atEnd()) {
        const auto key = head.varint();
        if (!key) {
            return malformed(i18n("its head cannot be read."));
        }
        if (*key == (1 << 3)) {
            pagesId = head.varint();
        } else if (!head.skip(int(*key & 7))) {
            return malformed(i18n("its head cannot be read."));
        }
    }
    if (!pagesId || *pagesId > 0xffffffffU) {
        return malformed(i18n("its head names no pages image."));
    }
    pagemap.pagesId = quint32(*pagesId);
    if (messages->size() - 1 > maxEntries) {
        return malformed(i18n("it has more entries than any process has mappings."));
    }
    quint64 previousEnd = 0;
    for (qsizetype i = 1; i < messages->size(); ++i) {
        const auto entry = parseEntry(messages->at(i));
        if (!entry) {
            return malformed(i18n("entry %1 cannot be read.", i));
        }
        if (entry->address % pageSize != 0 || entry->pages == 0 || entry->pages > maxPages || entry->address > ~quint64(0) - entry->pages * pageSize
            || entry->address < previousEnd) {
            return malformed(i18n("entry %1 is out of order or out of range.", i));
        }
        previousEnd = entry->address + entry->pages * pageSize;
        pagemap.entries.append(*entry);
    }
    return pagemap;
}

QByteArray CriuPagemap::serialize() const
{
    QList<QByteArray> messages;
    QByteArray message;
    appendVarint(message, 1 << 3);
    appendVarint(message, pagesId);
    messages.append(message);
    for (const Entry &entry : entries) {
        message.clear();
        appendVarint(message, 1 << 3);
        appendVarint(message, entry.address);
        // compat_nr_pages is required: CRIU writes its low 32 bits and reads nr_pages.
        appendVarint(message, 2 << 3);
        appendVarint(message, entry.pages & 0xffffffffU);
        appendVarint(message, 4 << 3);
        appendVarint(message, entry.flags);
        appendVarint(message, 5 << 3);
        appendVarint(message, entry.pages);
        messages.append(message);
    }
    return CriuImageFrame::imageOf(pagemapMagic, messages);
}

QByteArray CriuPagemap::pagesFileName() const
{
    return "pages-" + QByteArray::number(pagesId) + ".img";
}

bool CriuPagemap::referencesParent() const
{
    return std::any_of(entries.cbegin(), entries.cend(), [](const Entry &entry) {
        return entry.flags & parentFlag;
    });
}

} // namespace Rewind
