// SPDX-License-Identifier: GPL-2.0-or-later
// The stream reader and the import against damaged streams: thousands of
// mutated and truncated copies of a real export, and streams that break one
// rule each behind valid checksums. Built with AddressSanitizer and
// UndefinedBehaviorSanitizer, as is the core library it links: every damaged
// stream is refused with a message, and the store it went to stays as it was.
//
// Two runs a time: a fixed seed, and a new one (REWIND_FUZZ_SEED replays one).
// REWIND_FUZZ_ITERATIONS sets the streams a run (default 5000), and
// REWIND_FUZZ_VERBOSE names each stream before it is imported.
#include "SessionManager.h"
#include "SnapshotStore.h"
#include "SnapshotStream.h"
#include "SnapshotTransfer.h"
#include "TestFiles.h"
#include "TestSkip.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#define XXH_INLINE_ALL
#include <blake3.h>
#include <xxhash.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <functional>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace Rewind;

namespace
{

constexpr uid_t user = 1500;
constexpr quint64 fixedSeed = 0x5eed2013;
constexpr std::size_t preludeSize = 12;
constexpr quint8 headerType = quint8(SnapshotStream::RecordType::Header);
constexpr quint8 entryType = quint8(SnapshotStream::RecordType::Entry);
constexpr quint8 chunkType = quint8(SnapshotStream::RecordType::Chunk);
constexpr quint8 referenceType = quint8(SnapshotStream::RecordType::ChunkReference);
constexpr quint8 endType = quint8(SnapshotStream::RecordType::End);

/// One record of a stream as it was written: where it is and what it holds.
struct Record {
    quint8 type = 0;
    QByteArray payload;
    qsizetype offset = 0; ///< of its header in the stream
    qsizetype size = 0; ///< header, payload and checksum
};

QList<Record> recordsOf(const QByteArray &stream)
{
    QList<Record> records;
    qsizetype offset = preludeSize;
    while (offset + 8 <= stream.size()) {
        const quint32 length = qFromLittleEndian<quint32>(stream.constData() + offset + 4);
        records.append(Record{quint8(stream[offset]), stream.mid(offset + 8, length), offset, qsizetype(8 + length + 8)});
        offset += 8 + length + 8;
    }
    return records;
}

/// Writes records as a stream with valid checksums: a record that breaks a
/// rule gets past the checksums to the check of that rule. An end record
/// without payload gets the stream's true hash.
QByteArray sealed(const QList<Record> &records, quint32 version = SnapshotStream::version)
{
    QByteArray stream(SnapshotStream::magic, sizeof SnapshotStream::magic);
    stream.resize(preludeSize);
    qToLittleEndian<quint32>(version, stream.data() + 8);
    for (const Record &record : records) {
        QByteArray payload = record.payload;
        if (record.type == endType && payload.isEmpty()) {
            blake3_hasher hasher;
            blake3_hasher_init(&hasher);
            blake3_hasher_update(&hasher, stream.constData(), std::size_t(stream.size()));
            payload.resize(32);
            blake3_hasher_finalize(&hasher, reinterpret_cast<uint8_t *>(payload.data()), 32);
        }
        char header[8] = {char(record.type), 0, 0, 0};
        qToLittleEndian<quint32>(quint32(payload.size()), header + 4);
        XXH3_state_t *state = XXH3_createState();
        XXH3_64bits_reset(state);
        XXH3_64bits_update(state, header, sizeof header);
        XXH3_64bits_update(state, payload.constData(), std::size_t(payload.size()));
        char checksum[8];
        qToLittleEndian<quint64>(XXH3_64bits_digest(state), checksum);
        XXH3_freeState(state);
        stream.append(header, sizeof header).append(payload).append(checksum, sizeof checksum);
    }
    return stream;
}

Record endRecord()
{
    return Record{endType, {}, 0, 0};
}

QByteArray entryPayload(const QByteArray &path, quint32 mode, quint64 size, int pathLength = -1)
{
    QByteArray payload(14, Qt::Uninitialized);
    qToLittleEndian<quint32>(mode, payload.data());
    qToLittleEndian<quint64>(size, payload.data() + 4);
    qToLittleEndian<quint16>(quint16(pathLength < 0 ? path.size() : pathLength), payload.data() + 12);
    return payload + path;
}

/// What the reader hands out of a whole stream, to write variants of it.
struct Item {
    quint8 type = 0;
    QString path;
    quint32 mode = 0;
    quint64 size = 0;
    QByteArray data;
    quint32 index = 0;
};

/// A stream written by SnapshotStreamWriter from items: valid checksums
/// and hash, whatever the items say.
QByteArray written(const QJsonObject &header, const QList<Item> &items)
{
    UniqueFd file(::memfd_create("written", MFD_CLOEXEC));
    SnapshotStreamWriter writer(file.get());
    bool ok = writer.writeHeader(header).ok();
    for (const Item &item : items) {
        switch (item.type) {
        case entryType:
            ok = ok && writer.writeEntry(item.path, item.mode, item.size).ok();
            break;
        case chunkType:
            ok = ok && writer.writeChunk(item.data).ok();
            break;
        case referenceType:
            ok = ok && writer.writeChunkReference(item.index).ok();
            break;
        default:
            break;
        }
    }
    ok = ok && writer.writeEnd().ok();
    QByteArray bytes(qsizetype(writer.bytesWritten()), Qt::Uninitialized);
    const ssize_t length = ::pread(file.get(), bytes.data(), std::size_t(bytes.size()), 0);
    bytes.resize(qMax<qsizetype>(0, length));
    return ok ? bytes : QByteArray("the writer failed");
}

/// A stream whose header is the given bytes (checksum valid, hash valid).
QByteArray withHeaderBytes(const QList<Record> &records, const QByteArray &json)
{
    QList<Record> changed = records;
    changed.first().payload = json;
    changed.last() = endRecord();
    return sealed(changed);
}

/// A readable description of a snapshot listing, to compare.
QStringList describe(const QList<SnapshotInfo> &snapshots)
{
    QStringList lines;
    for (const SnapshotInfo &info : snapshots) {
        lines.append(QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8")
                         .arg(info.id)
                         .arg(info.sessionId, info.label, triggerName(info.trigger))
                         .arg(info.logicalBytes)
                         .arg(info.storedBytes)
                         .arg(info.newBytes)
                         .arg(QString::fromUtf8(QJsonDocument(QJsonObject::fromVariantMap(info.metadata)).toJson(QJsonDocument::Compact))));
    }
    return lines;
}

/// Names, sizes and contents' hashes of the files below a directory.
QStringList filesBelow(const QString &directory)
{
    QStringList files;
    const auto tree = treeOf(directory);
    for (auto it = tree.cbegin(); it != tree.cend(); ++it) {
        files.append(QStringLiteral("%1 %2 %3").arg(it.key()).arg(it.value().size()).arg(XXH3_64bits(it.value().constData(), std::size_t(it.value().size()))));
    }
    return files;
}

} // namespace

class SnapshotStreamFuzzTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_work{QStringLiteral("/var/tmp/rewind-stream-fuzz-XXXXXX")};
    std::unique_ptr<SnapshotStore> m_source;
    std::unique_ptr<SnapshotStore> m_target;
    QString m_staging;
    QByteArray m_stream; ///< the intact export
    QList<Record> m_records; ///< its records
    QJsonObject m_header;
    QList<Item> m_items; ///< what the reader made of it
    UniqueFd m_memory{::memfd_create("mutated", MFD_CLOEXEC)};

    QString path(const QString &name) const
    {
        return m_work.filePath(name);
    }

    /// Imports stream into store, from a memfd or through a pipe that a thread fills.
    Result<SnapshotInfo> import(SnapshotStore &store, const QByteArray &stream, bool throughPipe)
    {
        if (!throughPipe) {
            if (::ftruncate(m_memory.get(), 0) != 0 || ::pwrite(m_memory.get(), stream.constData(), std::size_t(stream.size()), 0) != stream.size()
                || ::lseek(m_memory.get(), 0, SEEK_SET) != 0) {
                return Error{QStringLiteral("the test could not fill its memfd")};
            }
            return SnapshotTransfer::importSnapshot(store, m_staging, m_memory.get(), user, {});
        }
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC) != 0) {
            return Error{QStringLiteral("the test could not make a pipe")};
        }
        UniqueFd readEnd(ends[0]);
        // The import may stop reading early: closing the read end ends the writer (EPIPE).
        std::thread writer([&stream, writeEnd = UniqueFd(ends[1])] {
            const int fd = writeEnd.get();
            const char *data = stream.constData();
            std::size_t left = std::size_t(stream.size());
            while (left > 0) {
                const ssize_t n = ::write(fd, data, std::min<std::size_t>(left, 65536));
                if (n <= 0) {
                    break;
                }
                data += n;
                left -= std::size_t(n);
            }
        });
        auto imported = SnapshotTransfer::importSnapshot(store, m_staging, readEnd.get(), user, {});
        readEnd.reset();
        writer.join();
        return imported;
    }

    /// A random place in the stream, in a random record (so that small
    /// records, and the headers of records, are hit as often as large ones).
    qsizetype somewhere(QRandomGenerator &random) const
    {
        const qsizetype which = random.bounded(m_records.size() + 1);
        if (which == m_records.size()) {
            return random.bounded(qsizetype(preludeSize));
        }
        const Record &record = m_records.at(which);
        // Half the time in its header or checksum, which are small.
        if (random.bounded(2) == 0) {
            const qsizetype at = random.bounded(16);
            return at < 8 ? record.offset + at : record.offset + record.size - 16 + at;
        }
        return record.offset + random.bounded(record.size);
    }

    QByteArray randomBytesOf(QRandomGenerator &random, qsizetype size) const
    {
        QByteArray bytes(size, Qt::Uninitialized);
        for (char &byte : bytes) {
            byte = char(random.bounded(256));
        }
        return bytes;
    }

    /// The intact stream, damaged at random: never sealed again, so the
    /// checksums, the hash or the framing must catch it.
    QByteArray damaged(QRandomGenerator &random, QString &what) const
    {
        QByteArray stream = m_stream;
        const int kind = random.bounded(12);
        switch (kind) {
        case 0: {
            const int flips = 1 + random.bounded(8);
            for (int i = 0; i < flips; ++i) {
                const qsizetype at = somewhere(random);
                stream[at] = char(stream[at] ^ (1 << random.bounded(8)));
            }
            what = QStringLiteral("%1 bit(s) flipped").arg(flips);
            break;
        }
        case 1: {
            const qsizetype at = somewhere(random);
            stream[at] = char(random.bounded(256));
            what = QStringLiteral("the byte at %1 set").arg(at);
            break;
        }
        case 2: {
            const qsizetype at = somewhere(random);
            const qsizetype length = qMin<qsizetype>(1 + random.bounded(256), stream.size() - at);
            stream.replace(at, length, randomBytesOf(random, length));
            what = QStringLiteral("%1 bytes at %2 overwritten").arg(length).arg(at);
            break;
        }
        case 3: {
            // Truncated: empty, in the prelude, in the header record, at and around record boundaries, anywhere.
            qsizetype length = 0;
            switch (random.bounded(5)) {
            case 0:
                length = random.bounded(qsizetype(preludeSize + 1));
                break;
            case 1:
                length = preludeSize + random.bounded(m_records.first().size);
                break;
            case 2:
                length = m_records.at(random.bounded(m_records.size())).offset + random.bounded(3) - 1;
                break;
            default:
                length = random.bounded(stream.size());
                break;
            }
            stream.truncate(length);
            what = QStringLiteral("truncated to %1 bytes").arg(length);
            break;
        }
        case 4: {
            const qsizetype at = random.bounded(stream.size() + 1);
            const qsizetype length = 1 + random.bounded(64);
            stream.insert(at, randomBytesOf(random, length));
            what = QStringLiteral("%1 random bytes inserted at %2").arg(length).arg(at);
            break;
        }
        case 5: {
            const qsizetype at = somewhere(random);
            const qsizetype length = qMin<qsizetype>(1 + random.bounded(random.bounded(2) ? 16 : 4096), stream.size() - at);
            stream.remove(at, length);
            what = QStringLiteral("%1 bytes at %2 deleted").arg(length).arg(at);
            break;
        }
        case 6: {
            const Record &record = m_records.at(random.bounded(m_records.size()));
            const qsizetype to = m_records.at(random.bounded(m_records.size())).offset;
            stream.insert(to, m_stream.mid(record.offset, record.size));
            what = QStringLiteral("the record at %1 repeated at %2").arg(record.offset).arg(to);
            break;
        }
        case 7: {
            qsizetype first = random.bounded(m_records.size());
            qsizetype second = random.bounded(m_records.size());
            if (first > second) {
                std::swap(first, second);
            }
            const Record &a = m_records.at(first);
            const Record &b = m_records.at(second);
            stream.replace(b.offset, b.size, m_stream.mid(a.offset, a.size));
            stream.replace(a.offset, a.size, m_stream.mid(b.offset, b.size));
            what = QStringLiteral("the records at %1 and %2 swapped").arg(a.offset).arg(b.offset);
            break;
        }
        case 8: {
            const Record &record = m_records.at(random.bounded(m_records.size()));
            stream.remove(record.offset, record.size);
            what = QStringLiteral("the record at %1 left out").arg(record.offset);
            break;
        }
        case 9: {
            const qsizetype at = somewhere(random);
            const qsizetype length = qMin<qsizetype>(1 + random.bounded(2048), stream.size() - at);
            stream.insert(random.bounded(stream.size() + 1), m_stream.mid(at, length));
            what = QStringLiteral("%1 bytes from %2 copied elsewhere").arg(length).arg(at);
            break;
        }
        case 10: {
            const qsizetype length = 1 + random.bounded(512);
            qsizetype a = random.bounded(stream.size() - length);
            qsizetype b = random.bounded(stream.size() - length);
            if (a > b) {
                std::swap(a, b);
            }
            if (b < a + length) {
                b = qMin(a + length, stream.size() - length);
            }
            const QByteArray first = m_stream.mid(a, length);
            const QByteArray second = m_stream.mid(b, length);
            stream.replace(b, length, first);
            stream.replace(a, length, second);
            what = QStringLiteral("%1 bytes at %2 and %3 swapped").arg(length).arg(a).arg(b);
            break;
        }
        default: {
            // A record's length field, to a value near it or anywhere.
            const Record &record = m_records.at(random.bounded(m_records.size()));
            const quint32 length = random.bounded(2) ? quint32(record.payload.size() + random.bounded(-16, 17)) : random.generate();
            qToLittleEndian<quint32>(length, stream.data() + record.offset + 4);
            what = QStringLiteral("the record at %1 claims %2 bytes").arg(record.offset).arg(length);
            break;
        }
        }
        return stream;
    }

    /// A stream that breaks one rule of the format behind valid checksums
    /// (written with SnapshotStreamWriter, or sealed here where the writer
    /// would not write it). Each of them must be refused as it is.
    QByteArray aimed(QRandomGenerator &random, QString &what) const
    {
        const auto pickIndex = [&](quint8 type, auto condition) -> qsizetype {
            QList<qsizetype> candidates;
            for (qsizetype i = 0; i < m_items.size(); ++i) {
                if (m_items.at(i).type == type && condition(m_items.at(i))) {
                    candidates.append(i);
                }
            }
            return candidates.isEmpty() ? -1 : candidates.at(random.bounded(candidates.size()));
        };
        const auto anyItem = [](const Item &) {
            return true;
        };
        const auto isFile = [](const Item &item) {
            return (item.mode & 0170000) == 0100000;
        };
        const auto isDirectory = [](const Item &item) {
            return (item.mode & 0170000) == 0040000;
        };
        QList<Item> items = m_items;
        const int kind = random.bounded(24);
        switch (kind) {
        case 0: {
            // A reference to a chunk not sent (yet, or ever).
            const qsizetype at = pickIndex(referenceType, anyItem);
            quint32 sentBefore = 0;
            for (qsizetype i = 0; i < at; ++i) {
                sentBefore += items.at(i).type == chunkType ? 1 : 0;
            }
            const quint32 index = random.bounded(2) ? sentBefore + quint32(random.bounded(3)) : random.generate() | 0x80000000u;
            items[at].index = index;
            what = QStringLiteral("a reference to chunk %1 when %2 were sent").arg(index).arg(sentBefore);
            return written(m_header, items);
        }
        case 1: {
            const qsizetype at = pickIndex(entryType, anyItem);
            static const QStringList forms{QStringLiteral("../%1"),
                                           QStringLiteral("%1/../../x"),
                                           QStringLiteral("images/../../%1"),
                                           QStringLiteral(".."),
                                           QStringLiteral("./%1"),
                                           QStringLiteral("%1/."),
                                           QStringLiteral("images//%1"),
                                           QStringLiteral("%1/")};
            items[at].path = QString(forms.at(random.bounded(forms.size()))).replace(QLatin1String("%1"), items.at(at).path);
            what = QStringLiteral("an entry named %1").arg(items.at(at).path);
            return written(m_header, items);
        }
        case 2: {
            const qsizetype at = pickIndex(entryType, anyItem);
            items[at].path = random.bounded(2) ? QLatin1Char('/') + items.at(at).path : QStringLiteral("/var/tmp/rewind-stream-fuzz-escape");
            what = QStringLiteral("an entry named %1").arg(items.at(at).path);
            return written(m_header, items);
        }
        case 3: {
            const qsizetype at = pickIndex(entryType, isFile);
            const quint64 more = 1 + random.bounded(100000);
            items[at].size += more;
            what = QStringLiteral("%1 claims %2 bytes more than its chunks hold").arg(items.at(at).path).arg(more);
            return written(m_header, items);
        }
        case 4: {
            const qsizetype at = pickIndex(entryType, [](const Item &item) {
                return (item.mode & 0170000) == 0100000 && item.size > 0;
            });
            const quint64 less = 1 + quint64(random.bounded(qint64(items.at(at).size)));
            items[at].size -= less;
            what = QStringLiteral("%1 claims %2 bytes less than its chunks hold").arg(items.at(at).path).arg(less);
            return written(m_header, items);
        }
        case 5: {
            const qsizetype at = pickIndex(entryType, isDirectory);
            items[at].size = 1 + quint64(random.bounded(1 << 20));
            what = QStringLiteral("the directory %1 with a size of %2").arg(items.at(at).path).arg(items.at(at).size);
            return written(m_header, items);
        }
        case 6: {
            const qsizetype at = pickIndex(entryType, anyItem);
            static const quint64 giants[] = {(quint64(1) << 50) + 1, quint64(1) << 63, ~quint64(0), quint64(1) << 49};
            items[at].size = giants[random.bounded(4)];
            what = QStringLiteral("%1 claims %2 bytes").arg(items.at(at).path).arg(items.at(at).size);
            return written(m_header, items);
        }
        case 7: {
            // A chunk before any file, or after a directory.
            const qsizetype at = random.bounded(2) ? 0 : pickIndex(entryType, isDirectory) + 1;
            items.insert(at, Item{chunkType, {}, 0, 0, randomBytes(1 + random.bounded(4096), 7), 0});
            what = QStringLiteral("a chunk where no file takes it (item %1)").arg(at);
            return written(m_header, items);
        }
        case 8: {
            const qsizetype at = pickIndex(chunkType, anyItem);
            const bool empty = random.bounded(2);
            items[at].data = empty ? QByteArray() : randomBytes(SnapshotStream::maximumChunkSize + 1 + random.bounded(100), 8);
            what = empty ? QStringLiteral("an empty chunk") : QStringLiteral("a chunk of %1 bytes").arg(items.at(at).data.size());
            return written(m_header, items);
        }
        case 9: {
            // A file or directory named twice: the entry again, with its chunks sent anew.
            const qsizetype at = pickIndex(entryType, anyItem);
            QList<Item> again{items.at(at)};
            for (qsizetype i = at + 1; i < items.size() && items.at(i).type != entryType; ++i) {
                again.append(items.at(i).type == referenceType ? Item{chunkType, {}, 0, 0, QByteArray(qsizetype(1), 'x'), 0} : items.at(i));
            }
            if (again.size() > 1) {
                // Whatever the chunks were, one byte a chunk keeps the sizes honest.
                qint64 bytes = 0;
                for (qsizetype i = 1; i < again.size(); ++i) {
                    bytes += again.at(i).data.size();
                }
                again.first().size = quint64(bytes);
            }
            const qsizetype to = at + again.size() + random.bounded(2) * (items.size() - at - again.size());
            for (qsizetype i = 0; i < again.size(); ++i) {
                items.insert(to + i, again.at(i));
            }
            what = QStringLiteral("%1 named twice").arg(again.first().path);
            return written(m_header, items);
        }
        case 10: {
            // A directory after what is in it.
            const qsizetype at = pickIndex(entryType, [this](const Item &item) {
                return (item.mode & 0170000) == 0040000 && std::any_of(m_items.cbegin(), m_items.cend(), [&item](const Item &other) {
                           return other.path.startsWith(item.path + QLatin1Char('/'));
                       });
            });
            const Item directory = items.takeAt(at);
            items.append(directory);
            what = QStringLiteral("the directory %1 after its files").arg(directory.path);
            return written(m_header, items);
        }
        case 11: {
            // A file inside a file.
            const qsizetype at = pickIndex(entryType, isFile);
            items.append(Item{entryType, items.at(at).path + QStringLiteral("/inside"), 0100644, 0, {}, 0});
            what = QStringLiteral("a file inside %1").arg(items.at(at).path);
            return written(m_header, items);
        }
        case 12: {
            static const quint32 modes[] = {0120777, 0020666, 0060660, 0010644, 0140755, 0, 0200644, 0x80000000u | 0100644};
            const qsizetype at = pickIndex(entryType, anyItem);
            items[at].mode = modes[random.bounded(8)];
            what = QStringLiteral("%1 with mode %2").arg(items.at(at).path).arg(items.at(at).mode, 0, 8);
            return written(m_header, items);
        }
        case 13: {
            // The end in the middle of a file.
            const qsizetype at = pickIndex(entryType, [](const Item &item) {
                return (item.mode & 0170000) == 0100000 && item.size > 0;
            });
            qsizetype pieces = 0;
            while (at + 1 + pieces < items.size() && items.at(at + 1 + pieces).type != entryType) {
                ++pieces;
            }
            items.resize(at + 1 + random.bounded(pieces));
            what = QStringLiteral("the end inside %1").arg(items.at(at).path);
            return written(m_header, items);
        }
        case 14: {
            const bool empty = random.bounded(2);
            items.insert(random.bounded(items.size() + 1),
                         Item{entryType,
                              empty ? QString() : QStringLiteral("a").repeated(SnapshotStream::maximumPathLength + 1 + random.bounded(100)),
                              040755,
                              0,
                              {},
                              0});
            what = empty ? QStringLiteral("an entry without a name") : QStringLiteral("an entry with too long a name");
            return written(m_header, items);
        }
        case 15: {
            // A header that is valid JSON with something odd in it.
            QJsonObject header = m_header;
            QJsonObject snapshot = header.value(QStringLiteral("snapshot")).toObject();
            QJsonObject metadata = snapshot.value(QStringLiteral("metadata")).toObject();
            QJsonObject plan = metadata.value(QStringLiteral("plan")).toObject();
            static const QStringList oddities{QStringLiteral("no architecture"),
                                              QStringLiteral("architecture as a number"),
                                              QStringLiteral("page size as a string"),
                                              QStringLiteral("page size as a fraction"),
                                              QStringLiteral("CRIU version as a string"),
                                              QStringLiteral("a negative CRIU version"),
                                              QStringLiteral("a CRIU version from the future"),
                                              QStringLiteral("cpuinfo that is not base64"),
                                              QStringLiteral("cpuinfo as an array"),
                                              QStringLiteral("snapshot as an array"),
                                              QStringLiteral("metadata as a string"),
                                              QStringLiteral("plan as null"),
                                              QStringLiteral("uid as a string"),
                                              QStringLiteral("uid as a fraction"),
                                              QStringLiteral("uid beyond 32 bits"),
                                              QStringLiteral("gid negative"),
                                              QStringLiteral("no user namespace"),
                                              QStringLiteral("user namespace as a string"),
                                              QStringLiteral("an empty object")};
            const int oddity = random.bounded(oddities.size());
            const qint64 uid = plan.value(QStringLiteral("uid")).toInteger();
            switch (oddity) {
            case 0:
                header.remove(QStringLiteral("architecture"));
                break;
            case 1:
                header.insert(QStringLiteral("architecture"), 64);
                break;
            case 2:
                header.insert(QStringLiteral("pageSize"), QString::number(::sysconf(_SC_PAGESIZE)));
                break;
            case 3:
                header.insert(QStringLiteral("pageSize"), double(::sysconf(_SC_PAGESIZE)) + 0.5);
                break;
            case 4:
                header.insert(QStringLiteral("criuVersion"), QStringLiteral("40201"));
                break;
            case 5:
                header.insert(QStringLiteral("criuVersion"), -40201);
                break;
            case 6:
                header.insert(QStringLiteral("criuVersion"), 99999999);
                break;
            case 7:
                header.insert(QStringLiteral("cpuinfo"), QStringLiteral("!!!"));
                break;
            case 8:
                header.insert(QStringLiteral("cpuinfo"), QJsonArray{1, 2, 3});
                break;
            case 9:
                header.insert(QStringLiteral("snapshot"), QJsonArray{snapshot});
                break;
            case 10:
                snapshot.insert(QStringLiteral("metadata"), QStringLiteral("{}"));
                break;
            case 11:
                metadata.insert(QStringLiteral("plan"), QJsonValue::Null);
                break;
            case 12:
                plan.insert(QStringLiteral("uid"), QString::number(uid));
                break;
            case 13:
                plan.insert(QStringLiteral("uid"), double(uid) + 0.5);
                break;
            case 14:
                plan.insert(QStringLiteral("uid"), uid + (qint64(1) << 32));
                break;
            case 15:
                plan.insert(QStringLiteral("gid"), -1);
                break;
            case 16:
                metadata.remove(QStringLiteral("userNamespace"));
                break;
            case 17:
                metadata.insert(QStringLiteral("userNamespace"), QStringLiteral("true"));
                break;
            default:
                header = QJsonObject();
                break;
            }
            if (oddity >= 10 && oddity < 18) {
                metadata.insert(QStringLiteral("plan"), oddity == 11 ? QJsonValue(QJsonValue::Null) : QJsonValue(plan));
                snapshot.insert(QStringLiteral("metadata"), oddity == 10 ? QJsonValue(QStringLiteral("{}")) : QJsonValue(metadata));
                header.insert(QStringLiteral("snapshot"), snapshot);
            }
            what = QStringLiteral("a header with %1").arg(oddities.at(oddity));
            return written(header, m_items);
        }
        case 16: {
            // A header that is not a JSON object, or too long to be one.
            static const QList<QByteArray> texts{"",
                                                 "[]",
                                                 "null",
                                                 "\"RWSTREAM\"",
                                                 "12",
                                                 "{",
                                                 "{\"architecture\":}",
                                                 "\xef\xbb\xbf{}x",
                                                 "{\"a\":\"\xff\xfe\"",
                                                 QByteArray(2000, '[') + QByteArray(2000, ']'),
                                                 QByteArray("{\"a\":\"") + QByteArray(SnapshotStream::maximumHeaderSize, 'a') + "\"}"};
            const qsizetype which = random.bounded(texts.size() + 1);
            // ... or the real one cut short anywhere: a prefix of an object is never one.
            const QByteArray json = which < texts.size() ? texts.at(which) : m_records.first().payload.left(random.bounded(m_records.first().payload.size()));
            what = QStringLiteral("a header of %1 bytes that is no JSON object").arg(json.size());
            return withHeaderBytes(m_records, json);
        }
        case 17: {
            // A chunk's own header: its raw size, encoding or reserved bytes.
            QList<Record> records = m_records;
            QList<qsizetype> chunks;
            for (qsizetype i = 0; i < records.size(); ++i) {
                if (records.at(i).type == chunkType) {
                    chunks.append(i);
                }
            }
            Record &chunk = records[chunks.at(random.bounded(chunks.size()))];
            const quint32 rawSize = qFromLittleEndian<quint32>(chunk.payload.constData());
            switch (random.bounded(4)) {
            case 0: {
                quint32 other = rawSize;
                while (other == rawSize) {
                    other = random.bounded(3) == 0 ? random.generate() : quint32(random.bounded(SnapshotStream::maximumChunkSize + 2));
                }
                qToLittleEndian<quint32>(other, chunk.payload.data());
                what = QStringLiteral("a chunk of %1 bytes that says %2").arg(rawSize).arg(other);
                break;
            }
            case 1:
                chunk.payload[4] = char(2 + random.bounded(254));
                what = QStringLiteral("a chunk with encoding %1").arg(int(quint8(chunk.payload[4])));
                break;
            case 2:
                chunk.payload[5 + random.bounded(3)] = char(1 + random.bounded(255));
                what = QStringLiteral("a chunk with its reserved bytes set");
                break;
            default:
                chunk.payload[4] = char(chunk.payload[4] ^ 1);
                what = QStringLiteral("a chunk with the other encoding (%1)").arg(int(chunk.payload[4]));
                break;
            }
            records.last() = endRecord();
            return sealed(records);
        }
        case 18: {
            // A compressed chunk cut short, or a chunk shorter than its own header.
            QList<Record> records = m_records;
            QList<qsizetype> compressed;
            for (qsizetype i = 0; i < records.size(); ++i) {
                if (records.at(i).type == chunkType && records.at(i).payload[4] == 1) {
                    compressed.append(i);
                }
            }
            Record &chunk = records[compressed.at(random.bounded(compressed.size()))];
            const qsizetype keep = random.bounded(3) == 0 ? random.bounded(8) : 8 + random.bounded(chunk.payload.size() - 8);
            chunk.payload.truncate(keep);
            what = QStringLiteral("a compressed chunk cut to %1 bytes").arg(keep);
            records.last() = endRecord();
            return sealed(records);
        }
        case 19: {
            // An entry's own fields: too short, a path length that is not the path's, a path that is no UTF-8 or holds a NUL.
            QList<Record> records = m_records;
            QList<qsizetype> entries;
            for (qsizetype i = 0; i < records.size(); ++i) {
                if (records.at(i).type == entryType) {
                    entries.append(i);
                }
            }
            Record &entry = records[entries.at(random.bounded(entries.size()))];
            const QByteArray name = entry.payload.mid(14);
            const quint32 mode = qFromLittleEndian<quint32>(entry.payload.constData());
            const quint64 size = qFromLittleEndian<quint64>(entry.payload.constData() + 4);
            switch (random.bounded(5)) {
            case 0:
                entry.payload.truncate(random.bounded(14));
                what = QStringLiteral("an entry of %1 bytes").arg(entry.payload.size());
                break;
            case 1: {
                int length = name.size();
                while (length == name.size()) {
                    length = random.bounded(65536);
                }
                entry.payload = entryPayload(name, mode, size, length);
                what = QStringLiteral("an entry whose name says it has %1 bytes").arg(length);
                break;
            }
            case 2:
                entry.payload = entryPayload(name + QByteArray("\xff\xfe", 2), mode, size);
                what = QStringLiteral("an entry whose name is no UTF-8");
                break;
            case 3:
                entry.payload = entryPayload(name + QByteArray("\0", 1) + "x", mode, size);
                what = QStringLiteral("an entry whose name holds a NUL");
                break;
            default:
                entry.payload = entryPayload(QByteArray("\xc0\xae\xc0\xae/") + name, mode, size);
                what = QStringLiteral("an entry whose name has an overlong \"..\"");
                break;
            }
            records.last() = endRecord();
            return sealed(records);
        }
        case 20: {
            // A chunk reference of the wrong length.
            QList<Record> records = m_records;
            QList<qsizetype> references;
            for (qsizetype i = 0; i < records.size(); ++i) {
                if (records.at(i).type == referenceType) {
                    references.append(i);
                }
            }
            Record &reference = records[references.at(random.bounded(references.size()))];
            const qsizetype length = random.bounded(2) ? random.bounded(4) : 5 + random.bounded(8);
            reference.payload.resize(length, '\0');
            what = QStringLiteral("a chunk reference of %1 bytes").arg(length);
            records.last() = endRecord();
            return sealed(records);
        }
        case 21: {
            // A record of an unknown type, or with its reserved bytes set, or a second header.
            QList<Record> records = m_records;
            const qsizetype at = 1 + random.bounded(records.size() - 1);
            Record extra{headerType, m_records.first().payload, 0, 0};
            switch (random.bounded(3)) {
            case 0: {
                static const quint8 unknown[] = {0, 5, 6, 126, 128, 255};
                extra.type = unknown[random.bounded(6)];
                extra.payload = randomBytesOf(random, random.bounded(64));
                what = QStringLiteral("a record of type %1").arg(extra.type);
                break;
            }
            case 1:
                what = QStringLiteral("a second header");
                break;
            default:
                extra = records.at(at);
                what = QStringLiteral("a record whose reserved bytes are set");
                break;
            }
            if (what.startsWith(QLatin1String("a record whose"))) {
                // Sealed by hand: sealed() writes the reserved bytes as zeros.
                QByteArray stream = sealed(records.mid(0, at));
                char header[8] = {char(extra.type), char(random.bounded(256)), char(random.bounded(256)), char(1 + random.bounded(255))};
                qToLittleEndian<quint32>(quint32(extra.payload.size()), header + 4);
                char checksum[8];
                qToLittleEndian<quint64>(XXH3_64bits(QByteArray(header, 8).append(extra.payload).constData(), std::size_t(8 + extra.payload.size())), checksum);
                return stream.append(header, 8).append(extra.payload).append(checksum, 8);
            }
            records.insert(at, extra);
            records.last() = endRecord();
            return sealed(records);
        }
        case 22: {
            // An end record with the wrong hash, of the wrong length, or with something after it.
            QList<Record> records = m_records;
            switch (random.bounded(3)) {
            case 0:
                records.last().payload = randomBytesOf(random, 32);
                what = QStringLiteral("an end with the wrong hash");
                return sealed(records);
            case 1:
                records.last().payload = records.last().payload.left(random.bounded(32));
                what = QStringLiteral("an end of %1 bytes").arg(records.last().payload.size());
                if (records.last().payload.isEmpty()) {
                    records.last().payload = QByteArray(1, '\0');
                }
                return sealed(records);
            default: {
                // A whole stream, then a second end: the first end is valid.
                QByteArray stream = sealed(records);
                what = QStringLiteral("a second end after the end");
                return stream + stream.right(records.last().size);
            }
            }
        }
        default: {
            // Another format version, the rest intact.
            static const quint32 versions[] = {0, 2, 0x100, 0xffffffffu};
            const quint32 version = versions[random.bounded(4)];
            what = QStringLiteral("format version %1").arg(version);
            QList<Record> records = m_records;
            records.last() = endRecord();
            return sealed(records, version);
        }
        }
    }

    /// What must not change: the listing, the packs, the staging area.
    struct StoreState {
        QStringList listing;
        QStringList packs;
        QStringList staging;
    };

    StoreState stateOf(const SnapshotStore &store) const
    {
        const auto listed = store.list();
        return StoreState{listed ? describe(*listed) : QStringList{QStringLiteral("listing failed: ") + listed.errorMessage()},
                          filesBelow(store.path() + QStringLiteral("/packs")),
                          QDir(m_staging).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot)};
    }

    void fuzz(quint64 seed, int iterations)
    {
        QRandomGenerator random(quint32(seed ^ (seed >> 32)));
        const StoreState before = stateOf(*m_target);
        QVERIFY(!before.listing.isEmpty());
        QVERIFY(!before.packs.isEmpty());
        QElapsedTimer timer;
        timer.start();
        int throughPipes = 0;
        int aimedStreams = 0;
        QMap<QString, int> messages;
        const bool verbose = qEnvironmentVariableIsSet("REWIND_FUZZ_VERBOSE");
        for (int iteration = 0; iteration < iterations; ++iteration) {
            QString what;
            const bool isAimed = random.bounded(4) == 0;
            const QByteArray stream = isAimed ? aimed(random, what) : damaged(random, what);
            aimedStreams += isAimed ? 1 : 0;
            if (stream == m_stream) {
                continue; // swapped two equal records, say: nothing is damaged
            }
            const bool throughPipe = random.bounded(16) == 0;
            throughPipes += throughPipe ? 1 : 0;
            const QString replay = QStringLiteral("seed %1, iteration %2: %3").arg(seed).arg(iteration).arg(what);
            if (verbose) {
                // Before the import: a sanitizer that stops the process names no iteration.
                qInfo("%s", qPrintable(replay));
            }
            const auto imported = import(*m_target, stream, throughPipe);
            QVERIFY2(!imported.ok(), qPrintable(QStringLiteral("%1: imported as snapshot %2").arg(replay).arg(imported ? imported->id : 0)));
            QVERIFY2(!imported.errorMessage().trimmed().isEmpty(), qPrintable(replay + QStringLiteral(": refused without a message")));
            // Counted by kind: the first line, numbers left out.
            static const QRegularExpression number(QStringLiteral("[0-9][0-9,.]*"));
            messages[imported.errorMessage().section(QLatin1Char('\n'), 0, 0).replace(number, QStringLiteral("N"))] += 1;
            const auto listed = m_target->list();
            QVERIFY2(listed && describe(*listed) == before.listing, qPrintable(replay + QStringLiteral(": the listing changed")));
            if (iteration % 64 == 0) {
                const StoreState now = stateOf(*m_target);
                QVERIFY2(now.packs == before.packs, qPrintable(replay + QStringLiteral(": the packs changed")));
                QVERIFY2(now.staging.isEmpty(), qPrintable(replay + QStringLiteral(": left %1 in the staging area").arg(now.staging.join(QLatin1Char(' ')))));
            }
        }
        const auto verified = m_target->verify();
        QVERIFY2(verified.ok(), qPrintable(verified.errorMessage()));
        QVERIFY(verified->clean());
        const StoreState after = stateOf(*m_target);
        QCOMPARE(after.listing, before.listing);
        QCOMPARE(after.packs, before.packs);
        QCOMPARE(after.staging, QStringList());
        qInfo("seed %llu: %d damaged streams (%d aimed past the checksums, %d through a pipe) refused in %.1f s",
              seed,
              iterations,
              aimedStreams,
              throughPipes,
              double(timer.elapsed()) / 1000.0);
        for (auto it = messages.cbegin(); it != messages.cend(); ++it) {
            qInfo("%6d  %s", it.value(), qPrintable(it.key()));
        }
    }

    static int iterationsPerSeed()
    {
        bool ok = false;
        const int iterations = qEnvironmentVariableIntValue("REWIND_FUZZ_ITERATIONS", &ok);
        return ok && iterations > 0 ? iterations : 5000;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
        QVERIFY(m_memory);
        // A pipe whose reader gave up must not end the test.
        ::signal(SIGPIPE, SIG_IGN);
        const auto sessionUser = SessionManager::sessionUserOf(user);
        if (!sessionUser) {
            REWIND_SKIP("the user rewind-user (1500) does not exist (tools/devenv creates it)");
        }
        // A small snapshot as the engine stores one: pages that repeat (so
        // the stream has chunk references), a file zstd shrinks, an empty one.
        const QString tree = path(QStringLiteral("tree"));
        const QByteArray page = randomBytes(64 * 1024, 1);
        QByteArray text;
        for (int line = 0; text.size() < 40000; ++line) {
            text += "line " + QByteArray::number(line) + " of a file that compresses well\n";
        }
        QVERIFY(writeFile(tree + QStringLiteral("/images/pages-1.img"), randomBytes(8 * 1024, 2) + page + page + page));
        QVERIFY(writeFile(tree + QStringLiteral("/images/pages-2.img"), page + page));
        QVERIFY(writeFile(tree + QStringLiteral("/images/core-1.img"), randomBytes(4000, 3), QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther));
        QVERIFY(writeFile(tree + QStringLiteral("/images/files.img"), text));
        QVERIFY(writeFile(tree + QStringLiteral("/images/empty.img"), QByteArray()));
        QVERIFY(QDir().mkpath(tree + QStringLiteral("/images/nested/deeper")));
        QVERIFY(writeFile(tree + QStringLiteral("/screenshot.png"), randomBytes(6000, 4)));
        auto source = SnapshotStore::open(path(QStringLiteral("source")));
        QVERIFY2(source.ok(), qPrintable(source.errorMessage()));
        m_source = std::move(*source);
        auto target = SnapshotStore::open(path(QStringLiteral("target")));
        QVERIFY2(target.ok(), qPrintable(target.errorMessage()));
        m_target = std::move(*target);
        m_staging = path(QStringLiteral("staging"));
        QVERIFY(QDir().mkpath(m_staging));

        const QVariantMap metadata{
            {QStringLiteral("owner"), qint64(user)},
            {QStringLiteral("spec"), QStringLiteral("counting")},
            {QStringLiteral("userNamespace"), true},
            {QStringLiteral("plan"), QVariantMap{{QStringLiteral("uid"), qint64(sessionUser->first)}, {QStringLiteral("gid"), qint64(sessionUser->second)}}},
        };
        UniqueFd treeFd = openDirectory(tree);
        auto original = m_source->commit(QStringLiteral("counting-0a1b2c3d4e5f60718293a4b5"),
                                         user,
                                         treeFd.get(),
                                         QStringLiteral("before the fuzz"),
                                         SnapshotTrigger::Manual,
                                         metadata);
        QVERIFY2(original.ok(), qPrintable(original.errorMessage()));
        // The target holds a snapshot of its own, the same files: damaged
        // streams meet chunks it has, and the listing has something to keep.
        auto own = m_target->commit(QStringLiteral("counting-f0e1d2c3b4a5968778695a4b"),
                                    user,
                                    treeFd.get(),
                                    QStringLiteral("kept"),
                                    SnapshotTrigger::Manual,
                                    metadata);
        QVERIFY2(own.ok(), qPrintable(own.errorMessage()));

        UniqueFd file(::memfd_create("export", MFD_CLOEXEC));
        auto outcome = SnapshotTransfer::exportSnapshot(*m_source, original->id, file.get());
        QVERIFY2(outcome.ok(), qPrintable(outcome.errorMessage()));
        m_stream.resize(outcome->bytes);
        QCOMPARE(::pread(file.get(), m_stream.data(), std::size_t(m_stream.size()), 0), ssize_t(m_stream.size()));
        m_records = recordsOf(m_stream);
        QCOMPARE(m_records.last().offset + m_records.last().size, m_stream.size());
        QCOMPARE(m_records.first().type, headerType);
        QCOMPARE(m_records.last().type, endType);

        // What the reader makes of it, to write variants of it; and the
        // records sealed here again are the same bytes.
        QCOMPARE(sealed(m_records), m_stream);
        QCOMPARE(::lseek(file.get(), 0, SEEK_SET), off_t(0));
        SnapshotStreamReader reader(file.get());
        auto header = reader.readHeader();
        QVERIFY2(header.ok(), qPrintable(header.errorMessage()));
        m_header = *header;
        for (;;) {
            auto item = reader.next();
            QVERIFY2(item.ok(), qPrintable(item.errorMessage()));
            if (item->kind == SnapshotStreamReader::Item::Kind::End) {
                break;
            }
            const quint8 type = item->kind == SnapshotStreamReader::Item::Kind::Entry ? entryType
                : item->kind == SnapshotStreamReader::Item::Kind::Chunk               ? chunkType
                                                                                      : referenceType;
            m_items.append(Item{type, item->path, item->mode, item->size, item->data, item->index});
        }
        QCOMPARE(written(m_header, m_items), m_stream);
        int kinds[256] = {};
        int compressed = 0;
        for (const Record &record : std::as_const(m_records)) {
            kinds[record.type] += 1;
            compressed += record.type == chunkType && record.payload[4] == 1 ? 1 : 0;
        }
        QVERIFY(kinds[referenceType] > 0);
        QVERIFY(compressed > 0);
        qInfo("the intact stream: %lld bytes, %d entries, %d chunks (%d compressed), %d references",
              qint64(m_stream.size()),
              kinds[entryType],
              kinds[chunkType],
              compressed,
              kinds[referenceType]);
    }

    void theIntactStreamImports()
    {
        auto throwaway = SnapshotStore::open(path(QStringLiteral("throwaway")));
        QVERIFY2(throwaway.ok(), qPrintable(throwaway.errorMessage()));
        for (const bool throughPipe : {false, true}) {
            auto imported = import(**throwaway, m_stream, throughPipe);
            QVERIFY2(imported.ok(), qPrintable(imported.errorMessage()));
        }
        QCOMPARE((*throwaway)->list()->size(), 2);
        QVERIFY((*throwaway)->verify()->clean());
        QVERIFY(QDir(m_staging).isEmpty());
    }

    void damagedStreamsAreRefused_data()
    {
        QTest::addColumn<quint64>("seed");
        bool forced = false;
        const quint64 chosen = qEnvironmentVariable("REWIND_FUZZ_SEED").toULongLong(&forced, 0);
        const quint64 fresh = forced ? chosen : QRandomGenerator::system()->generate64();
        qInfo("seeds: %llu (fixed) and %llu (%s); replay with REWIND_FUZZ_SEED=<seed>", fixedSeed, fresh, forced ? "REWIND_FUZZ_SEED" : "new this run");
        QTest::newRow("fixed seed") << fixedSeed;
        QTest::newRow("new seed") << fresh;
    }

    void damagedStreamsAreRefused()
    {
        QFETCH(quint64, seed);
        fuzz(seed, iterationsPerSeed());
    }
};

REWIND_TEST_GUILESS_MAIN(SnapshotStreamFuzzTest)
#include "SnapshotStreamFuzzTest.moc"
