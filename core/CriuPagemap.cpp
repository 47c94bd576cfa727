// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuPagemap.h"

#include "ProtobufReader.h"

#include <KLocalizedString>

#include <QtEndian>

namespace Rewind
{
namespace
{

constexpr quint32 commonMagic = 0x54564319; // IMG_COMMON_MAGIC
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

void appendU32(QByteArray &out, quint32 value)
{
    const quint32 little = qToLittleEndian(value);
    out.append(reinterpret_cast<const char *>(&little), sizeof little);
}

void appendEntry(QByteArray &out, const QByteArray &message)
{
    appendU32(out, quint32(message.size()));
    out.append(message);
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
    if (image.size() < 8 || qFromLittleEndian<quint32>(image.constData()) != commonMagic || qFromLittleEndian<quint32>(image.constData() + 4) != pagemapMagic) {
        return malformed(i18n("it does not start as one."));
    }
    CriuPagemap pagemap;
    qsizetype position = 8;
    bool haveHead = false;
    quint64 previousEnd = 0;
    while (position < image.size()) {
        if (image.size() - position < 4) {
            return malformed(i18n("it ends inside an entry."));
        }
        const quint32 length = qFromLittleEndian<quint32>(image.constData() + position);
        position += 4;
        if (length > quint32(image.size() - position)) {
            return malformed(i18n("an entry runs past its end."));
        }
        const QByteArrayView message(image.constData() + position, length);
        position += length;
        if (!haveHead) {
            ProtobufReader reader(message);
            std::optional<quint64> pagesId;
            while (!reader.atEnd()) {
                const auto key = reader.varint();
                if (!key) {
                    return malformed(i18n("its head cannot be read."));
                }
                if (*key == (1 << 3)) {
                    pagesId = reader.varint();
                } else if (!reader.skip(int(*key & 7))) {
                    return malformed(i18n("its head cannot be read."));
                }
            }
            if (!pagesId || *pagesId > 0xffffffffU) {
                return malformed(i18n("its head names no pages image."));
            }
            pagemap.pagesId = quint32(*pagesId);
            haveHead = true;
            continue;
        }
        const auto entry = parseEntry(message);
        if (!entry) {
            return malformed(i18n("entry %1 cannot be read.", pagemap.entries.size() + 1));
        }
        if (entry->address % pageSize != 0 || entry->pages == 0 || entry->pages > maxPages || entry->address > ~quint64(0) - entry->pages * pageSize
            || entry->address < previousEnd) {
            return malformed(i18n("entry %1 is out of order or out of range.", pagemap.entries.size() + 1));
        }
        if (pagemap.entries.size() >= maxEntries) {
            return malformed(i18n("it has more entries than any process has mappings."));
        }
        previousEnd = entry->address + entry->pages * pageSize;
        pagemap.entries.append(*entry);
    }
    if (!haveHead) {
        return malformed(i18n("it has no head."));
    }
    return pagemap;
}

QByteArray CriuPagemap::serialize() const
{
    QByteArray out;
    appendU32(out, commonMagic);
    appendU32(out, pagemapMagic);
    QByteArray message;
    appendVarint(message, 1 << 3);
    appendVarint(message, pagesId);
    appendEntry(out, message);
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
        appendEntry(out, message);
    }
    return out;
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
