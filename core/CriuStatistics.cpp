// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuStatistics.h"

#include "ProtobufReader.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QByteArray>

#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace Rewind
{
namespace
{

std::optional<CriuDumpStatistics> parseDumpEntry(QByteArrayView message)
{
    CriuDumpStatistics statistics;
    ProtobufReader reader(message);
    while (!reader.atEnd()) {
        const auto key = reader.varint();
        if (!key) {
            return std::nullopt;
        }
        const int field = int(*key >> 3);
        const int wireType = int(*key & 7);
        if (wireType != 0) {
            if (!reader.skip(wireType)) {
                return std::nullopt;
            }
            continue;
        }
        const auto value = reader.varint();
        if (!value) {
            return std::nullopt;
        }
        switch (field) {
        case 1:
            statistics.freezingMicroseconds = quint32(*value);
            break;
        case 2:
            statistics.frozenMicroseconds = quint32(*value);
            break;
        case 3:
            statistics.memoryDumpMicroseconds = quint32(*value);
            break;
        case 4:
            statistics.memoryWriteMicroseconds = quint32(*value);
            break;
        case 5:
            statistics.pagesScanned = *value;
            break;
        case 7:
            statistics.pagesWritten = *value;
            break;
        default:
            break;
        }
    }
    return statistics;
}

} // namespace

Result<CriuDumpStatistics> CriuDumpStatistics::read(int imagesDirFd)
{
    UniqueFd file(::openat(imagesDirFd, "stats-dump", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) {
        return Error{i18n("CRIU left no statistics of the dump.")};
    }
    char buffer[4096];
    const ssize_t length = ::read(file.get(), buffer, sizeof buffer);
    // An image is a magic number (two for most images), then size-prefixed protobuf entries.
    for (qsizetype offset : {8, 4}) {
        if (length < offset + 4) {
            continue;
        }
        quint32 size = 0;
        memcpy(&size, buffer + offset, sizeof size);
        if (size == 0 || offset + 4 + qsizetype(size) > length) {
            continue;
        }
        ProtobufReader entry(QByteArrayView(buffer + offset + 4, size));
        const auto key = entry.varint();
        if (!key || *key != ((1 << 3) | 2)) { // field 1 (dump), length-delimited
            continue;
        }
        const auto dump = entry.bytes();
        if (!dump) {
            continue;
        }
        if (const auto statistics = parseDumpEntry(*dump)) {
            return *statistics;
        }
    }
    return Error{i18n("CRIU's dump statistics could not be read.")};
}

QVariantMap CriuDumpStatistics::toVariantMap() const
{
    return {
        {QStringLiteral("freezingUs"), freezingMicroseconds},
        {QStringLiteral("frozenUs"), frozenMicroseconds},
        {QStringLiteral("memoryDumpUs"), memoryDumpMicroseconds},
        {QStringLiteral("memoryWriteUs"), memoryWriteMicroseconds},
        {QStringLiteral("pagesScanned"), pagesScanned},
        {QStringLiteral("pagesWritten"), pagesWritten},
    };
}

} // namespace Rewind
