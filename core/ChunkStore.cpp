// SPDX-License-Identifier: GPL-2.0-or-later
#include "ChunkStore.h"

#include "BackgroundWrite.h"
#include "ContentChunker.h"
#include "FileWriting.h"
#include "OpenBeneath.h"

#include <KLocalizedString>

#include <QLocale>
#include <QRandomGenerator>
#include <QtEndian>

#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

// Pack records.
constexpr char recordMagic[4] = {'R', 'W', 'P', 'R'};
constexpr quint8 recordVersion = 1;
constexpr quint8 storedRaw = 0x01;
// Written out in pieces of this size; write-back of each piece starts at once.
constexpr qsizetype writeBufferSize = 8 * 1024 * 1024;

// Packs a reader keeps open at most (a snapshot can use many small packs).
constexpr std::size_t maximumOpenPacks = 64;

// Legacy chunk files.
constexpr char legacyMagic[4] = {'R', 'W', 'C', 'K'};
constexpr quint32 legacyVersion = 1;
constexpr std::size_t legacyHeaderSize = 16;
constexpr qint64 largestChunkFile = 1024 * 1024;

constexpr int compressionLevel = 3;

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

bool isFull(int errorNumber)
{
    return errorNumber == ENOSPC || errorNumber == EDQUOT;
}

bool isHex(const QByteArray &text)
{
    return std::all_of(text.cbegin(), text.cend(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

QByteArray packFileName(const QByteArray &pack)
{
    return pack + ".pack";
}

QByteArray temporaryFileName(const QByteArray &pack)
{
    return pack + ".tmp";
}

bool preadAll(int fd, char *data, std::size_t size, qint64 offset)
{
    while (size > 0) {
        const ssize_t n = ::pread(fd, data, size, off_t(offset));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            return false;
        }
        data += n;
        size -= std::size_t(n);
        offset += n;
    }
    return true;
}

struct RecordHeader {
    quint8 flags = 0;
    ChunkList::Id id{};
    quint32 rawSize = 0;
    quint32 storedSize = 0;
};

std::optional<RecordHeader> parseHeader(const char *header)
{
    if (std::memcmp(header, recordMagic, sizeof recordMagic) != 0 || quint8(header[4]) != recordVersion) {
        return std::nullopt;
    }
    RecordHeader parsed;
    parsed.flags = quint8(header[5]);
    std::memcpy(parsed.id.data(), header + 8, parsed.id.size());
    parsed.rawSize = qFromLittleEndian<quint32>(header + 24);
    parsed.storedSize = qFromLittleEndian<quint32>(header + 28);
    if (parsed.rawSize > ContentChunker::maximumSize || parsed.storedSize > ZSTD_compressBound(ContentChunker::maximumSize)
        || ((parsed.flags & storedRaw) && parsed.storedSize != parsed.rawSize)) {
        return std::nullopt;
    }
    return parsed;
}

} // namespace

struct ChunkStore::Codecs {
    struct DecompressDeleter {
        void operator()(ZSTD_DCtx *context) const
        {
            ZSTD_freeDCtx(context);
        }
    };
    std::unique_ptr<ZSTD_DCtx, DecompressDeleter> decompress{ZSTD_createDCtx()};
};

/// A pack being written under its temporary name.
struct ChunkStore::Writer {
    explicit Writer(UniqueFd file)
        : fd(std::move(file))
        , output(fd.get(), BackgroundWrite::WriteBack::StartNow)
    {
    }
    QByteArray pack;
    UniqueFd fd;
    BackgroundWrite output; ///< written while the next records are made; after fd, so that it stops first
    qint64 size = 0; ///< records appended, written out or not
    bool renamed = false;
};

ChunkStore::ChunkStore(UniqueFd storeDir, UniqueFd packsDir, UniqueFd chunksDir, const QString &storePath, ChunkKeys keys)
    : m_storeDir(std::move(storeDir))
    , m_packsDir(std::move(packsDir))
    , m_chunksDir(std::move(chunksDir))
    , m_storePath(storePath)
    , m_keys(std::move(keys))
    , m_codecs(std::make_unique<Codecs>())
{
}

ChunkStore::~ChunkStore()
{
    discardWritten();
}

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(int storeDirFd, const QString &storePath)
{
    UniqueFd storeDir(::fcntl(storeDirFd, F_DUPFD_CLOEXEC, 0));
    if (!storeDir) {
        return Error{i18n("Could not open the snapshot store %1: %2", storePath, systemError(errno))};
    }
    if (::mkdirat(storeDir.get(), "packs", 0700) != 0 && errno != EEXIST) {
        const int error = errno;
        if (isFull(error)) {
            return Error{i18n("The snapshot store on %1 is full. Delete old snapshots or free space, then try again.", storePath)};
        }
        return Error{i18n("Could not create the pack directory of the snapshot store %1: %2", storePath, systemError(error))};
    }
    auto openOwnDirectory = [&](const char *name, bool mayBeMissing) -> Result<UniqueFd> {
        UniqueFd directory(openBeneath(storeDir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        struct stat status{};
        if (!directory && errno == ENOENT && mayBeMissing) {
            return UniqueFd();
        }
        if (!directory || ::fstat(directory.get(), &status) != 0 || status.st_uid != ::geteuid()) {
            const int error = directory ? EPERM : errno;
            if (error == ELOOP || error == ENOTDIR || error == EPERM || error == EXDEV) {
                return Error{
                    i18n("The snapshot store %1 is not safe to use: %1/%2 is a symbolic link, not a directory or not owned by you. "
                         "Move the store aside and create a new one.",
                         storePath,
                         QString::fromLatin1(name))};
            }
            return Error{i18n("Could not open %1/%2 in the snapshot store: %3", storePath, QString::fromLatin1(name), systemError(error))};
        }
        if ((status.st_mode & 07777) != 0700) {
            ::fchmod(directory.get(), 0700);
        }
        return directory;
    };
    auto packsDir = openOwnDirectory("packs", false);
    if (!packsDir) {
        return packsDir.error();
    }
    auto chunksDir = openOwnDirectory("chunks", true);
    if (!chunksDir) {
        return chunksDir.error();
    }
    auto keys = ChunkKeys::open(storeDir.get(), storePath);
    if (!keys) {
        return keys.error();
    }
    return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(storeDir), std::move(*packsDir), std::move(*chunksDir), storePath, std::move(*keys)));
}

bool ChunkStore::isValidId(const QByteArray &id)
{
    return id.size() == 32 && isHex(id);
}

QByteArray ChunkStore::idOf(qint64 owner, const unsigned char *data, std::size_t size) const
{
    return m_keys.idOf(owner, data, size);
}

ChunkKeys::OwnerIds ChunkStore::idsOf(qint64 owner) const
{
    return m_keys.idsOf(owner);
}

Error ChunkStore::fullError() const
{
    struct statvfs fileSystem{};
    qint64 available = 0;
    if (::fstatvfs(m_storeDir.get(), &fileSystem) == 0) {
        available = qint64(fileSystem.f_bavail) * qint64(fileSystem.f_frsize);
    }
    return Error{i18n("The snapshot store on %1 is full: %2 free. Delete old snapshots or free space, then try again.",
                      m_storePath,
                      QLocale().formattedDataSize(available))};
}

Error ChunkStore::ioError(int errorNumber, const QString &what) const
{
    if (isFull(errorNumber)) {
        return fullError();
    }
    return Error{i18n("%1 in the snapshot store %2 failed: %3", what, m_storePath, systemError(errorNumber))};
}

// Writing ---------------------------------------------------------------------

Result<std::unique_ptr<ChunkStore::Writer>> ChunkStore::createPack()
{
    quint32 random[4];
    QRandomGenerator::system()->fillRange(random);
    const QByteArray pack = QByteArray(reinterpret_cast<const char *>(random), sizeof random).toHex();
    UniqueFd file(::openat(m_packsDir.get(), temporaryFileName(pack).constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) {
        return ioError(errno, i18n("Creating a pack"));
    }
    auto writer = std::make_unique<Writer>(std::move(file));
    writer->pack = pack;
    writer->output.buffer().reserve(writeBufferSize + qsizetype(recordHeaderSize + ZSTD_compressBound(ContentChunker::maximumSize)));
    return writer;
}

Result<void> ChunkStore::flush(Writer &writer)
{
    // Written while the caller makes the next records; a failed write is
    // reported by the flush after it, or by finish().
    if (const int error = writer.output.start(); error != 0) {
        return ioError(error, i18n("Writing a pack"));
    }
    return {};
}

Result<QByteArray> ChunkStore::encode(const ChunkList::Id &id, const unsigned char *data, std::size_t size)
{
    struct CompressDeleter {
        void operator()(ZSTD_CCtx *context) const
        {
            ZSTD_freeCCtx(context);
        }
    };
    // One context a thread: encoding runs on every core at once.
    thread_local std::unique_ptr<ZSTD_CCtx, CompressDeleter> context{ZSTD_createCCtx()};
    if (!context || size > ContentChunker::maximumSize) {
        return Error{i18n("Internal error: a chunk cannot be encoded.")};
    }
    const std::size_t bound = ZSTD_compressBound(size);
    QByteArray record(qsizetype(recordHeaderSize + std::max(bound, size)), Qt::Uninitialized);
    char *header = record.data();
    char *payload = header + recordHeaderSize;
    std::size_t stored = ZSTD_compressCCtx(context.get(), payload, bound, data, size, compressionLevel);
    if (ZSTD_isError(stored)) {
        return Error{i18n("Compressing a chunk failed: %1", QString::fromLatin1(ZSTD_getErrorName(stored)))};
    }
    quint8 flags = 0;
    if (stored >= size) {
        // Random memory does not compress: keep it as it is, reading it back costs a copy.
        std::memcpy(payload, data, size);
        stored = size;
        flags |= storedRaw;
    }
    std::memcpy(header, recordMagic, sizeof recordMagic);
    header[4] = char(recordVersion);
    header[5] = char(flags);
    header[6] = 0;
    header[7] = 0;
    std::memcpy(header + 8, id.data(), id.size());
    qToLittleEndian<quint32>(quint32(size), header + 24);
    qToLittleEndian<quint32>(quint32(stored), header + 28);
    record.resize(qsizetype(recordHeaderSize + stored));
    return record;
}

Result<ChunkStore::Location> ChunkStore::append(const QByteArray &id, const unsigned char *data, std::size_t size)
{
    const std::optional<ChunkList::Id> binaryId = ChunkList::idFromHex(id);
    if (!binaryId) {
        return Error{i18n("Internal error: a chunk cannot be encoded.")};
    }
    auto record = encode(*binaryId, data, size);
    if (!record) {
        return record.error();
    }
    return appendEncoded(*record);
}

Result<ChunkStore::Location> ChunkStore::appendEncoded(const QByteArray &record)
{
    if (m_writing.empty() || m_writing.back()->size >= packTargetSize) {
        if (!m_writing.empty()) {
            // Full: written out now, made durable by persist().
            Writer &full = *m_writing.back();
            if (auto flushed = flush(full); !flushed) {
                return flushed.error();
            }
            if (const int error = full.output.close(); error != 0) {
                return ioError(error, i18n("Writing a pack"));
            }
        }
        auto writer = createPack();
        if (!writer) {
            return writer.error();
        }
        m_writing.push_back(std::move(*writer));
    }
    Writer &writer = *m_writing.back();
    writer.output.buffer().append(record);
    Location location{writer.pack, writer.size, record.size()};
    writer.size += record.size();
    if (writer.output.buffer().size() >= writeBufferSize) {
        if (auto flushed = flush(writer); !flushed) {
            return flushed.error();
        }
    }
    return location;
}

Result<void> ChunkStore::finish(Writer &writer)
{
    if (auto flushed = flush(writer); !flushed) {
        return flushed;
    }
    if (const int error = writer.output.close(); error != 0) {
        return ioError(error, i18n("Writing a pack"));
    }
    if (::fdatasync(writer.fd.get()) != 0) {
        return ioError(errno, i18n("Flushing a pack to disk"));
    }
    if (::renameat(m_packsDir.get(), temporaryFileName(writer.pack).constData(), m_packsDir.get(), packFileName(writer.pack).constData()) != 0) {
        return ioError(errno, i18n("Renaming a pack into place"));
    }
    writer.renamed = true;
    return {};
}

qint64 ChunkStore::pendingBytes() const
{
    qint64 pending = 0;
    for (const auto &writer : m_writing) {
        pending += writer->output.pendingBytes();
    }
    return pending;
}

Result<void> ChunkStore::persist()
{
    if (m_writing.empty()) {
        return {};
    }
    for (const auto &writer : m_writing) {
        if (!writer->renamed) {
            if (auto finished = finish(*writer); !finished) {
                return finished;
            }
        }
    }
    return syncPacksDirectory();
}

Result<void> ChunkStore::syncPacksDirectory()
{
    if (::fsync(m_packsDir.get()) != 0) {
        return ioError(errno, i18n("Flushing the pack directory"));
    }
    return {};
}

void ChunkStore::discardWritten()
{
    for (const auto &writer : m_writing) {
        writer->output.finish();
        const QByteArray name = writer->renamed ? packFileName(writer->pack) : temporaryFileName(writer->pack);
        ::unlinkat(m_packsDir.get(), name.constData(), 0);
    }
    m_writing.clear();
}

void ChunkStore::keepWritten()
{
    m_writing.clear();
}

// Reading ---------------------------------------------------------------------

UniqueFd ChunkStore::openPack(const QByteArray &fileName, int &error) const
{
    UniqueFd file(openBeneath(m_packsDir.get(), fileName, O_RDONLY | O_NOFOLLOW));
    struct stat status{};
    if (!file) {
        error = errno;
    } else if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        error = EINVAL;
        file.reset();
    }
    return file;
}

void ChunkStore::closePacks() const
{
    m_openPacks.clear();
}

Result<QByteArray> ChunkStore::read(const QByteArray &id, const Location &location, qint64 owner, QByteArray *zstdFrame) const
{
    if (zstdFrame) {
        zstdFrame->clear();
    }
    if (isValidId(id) && location.pack.isEmpty()) {
        return readLegacy(id, owner, zstdFrame);
    }
    auto record = readRecord(id, location);
    if (!record) {
        return record.error();
    }
    return decode(id, *record, m_keys.idsOf(owner), zstdFrame);
}

std::optional<Error> ChunkStore::checkRecordLocation(const QByteArray &id, const Location &location) const
{
    if (!isValidId(id)) {
        return Error{i18n("chunk %1 has an invalid name", QString::fromLatin1(id))};
    }
    if (location.pack.size() != 32 || !isHex(location.pack) || location.offset < 0 || location.length < qint64(recordHeaderSize)
        || location.length > qint64(recordHeaderSize + ZSTD_compressBound(ContentChunker::maximumSize))) {
        return Error{i18n("chunk %1 is damaged (its location in the catalog is invalid)", QString::fromLatin1(id))};
    }
    return std::nullopt;
}

Result<int> ChunkStore::packFd(const QByteArray &id, const QByteArray &pack) const
{
    auto open = m_openPacks.find(pack);
    if (open != m_openPacks.end()) {
        return open->second.get();
    }
    const QString name = QString::fromLatin1(id);
    int error = 0;
    UniqueFd file = openPack(packFileName(pack), error);
    if (!file) {
        if (error == ENOENT) {
            return Error{i18n("chunk %1 is missing (pack %2 is missing)", name, QString::fromLatin1(pack))};
        }
        if (error == ELOOP || error == EXDEV) {
            return Error{i18n("chunk %1 is behind a symbolic link (pack %2)", name, QString::fromLatin1(pack))};
        }
        if (error == EINVAL) {
            return Error{i18n("chunk %1 is damaged (pack %2 is not a regular file)", name, QString::fromLatin1(pack))};
        }
        return Error{i18n("chunk %1 cannot be read: %2", name, systemError(error))};
    }
    if (m_openPacks.size() >= maximumOpenPacks) {
        m_openPacks.clear();
    }
    return m_openPacks.emplace(pack, std::move(file)).first->second.get();
}

Result<QByteArray> ChunkStore::readRecord(const QByteArray &id, const Location &location) const
{
    RecordBatch batch;
    readRecords({{id, location}}, batch);
    const Result<QByteArrayView> &record = batch.records.front();
    if (!record) {
        return record.error();
    }
    return record->toByteArray();
}

void ChunkStore::readRecords(const QList<QPair<QByteArray, Location>> &chunks, RecordBatch &batch) const
{
    // Records written one after the other are read with one pread: a
    // snapshot's memory is a chunk a page, and most of its records are neighbours.
    constexpr qint64 largestRead = 8 * 1024 * 1024;
    std::vector<Result<QByteArrayView>> &records = batch.records;
    records.clear();
    records.reserve(std::size_t(chunks.size()));
    std::size_t spansUsed = 0;
    qsizetype first = 0;
    while (first < chunks.size()) {
        const auto &[firstId, start] = chunks.at(first);
        if (auto invalid = checkRecordLocation(firstId, start)) {
            records.push_back(*invalid);
            ++first;
            continue;
        }
        qsizetype end = first + 1;
        qint64 spanLength = start.length;
        while (end < chunks.size()) {
            const auto &[id, next] = chunks.at(end);
            if (next.pack != start.pack || next.offset != start.offset + spanLength || spanLength + next.length > largestRead
                || checkRecordLocation(id, next)) {
                break;
            }
            spanLength += next.length;
            ++end;
        }
        auto fd = packFd(firstId, start.pack);
        if (spansUsed == batch.spans.size()) {
            batch.spans.emplace_back();
        }
        QByteArray &span = batch.spans[spansUsed++];
        span.resize(spanLength);
        const bool read = fd && preadAll(*fd, span.data(), std::size_t(spanLength), start.offset);
        const int readError = errno;
        qint64 offset = 0;
        for (qsizetype i = first; i < end; ++i) {
            const auto &[id, location] = chunks.at(i);
            if (!fd) {
                records.push_back(fd.error());
            } else if (!read) {
                records.push_back(readError == 0 ? Error{i18n("chunk %1 is damaged (its pack is truncated)", QString::fromLatin1(id))}
                                                 : Error{i18n("chunk %1 cannot be read: %2", QString::fromLatin1(id), systemError(readError))});
            } else {
                records.push_back(QByteArrayView(span.constData() + offset, location.length));
            }
            offset += location.length;
        }
        first = end;
    }
}

Result<QByteArray> ChunkStore::decode(const QByteArray &id, const QByteArray &record, const ChunkKeys::OwnerIds &ids, QByteArray *zstdFrame)
{
    const auto header = record.size() >= qsizetype(recordHeaderSize) ? parseHeader(record.constData()) : std::nullopt;
    if (!header) {
        return Error{i18n("chunk %1 is damaged (bad header)", QString::fromLatin1(id))};
    }
    QByteArray raw(qsizetype(header->rawSize), Qt::Uninitialized);
    if (auto decoded = decodeInto(id, record, ids, raw.data(), raw.size()); !decoded) {
        return decoded.error();
    }
    if (zstdFrame && !(header->flags & storedRaw)) {
        *zstdFrame = record.mid(recordHeaderSize);
    }
    return raw;
}

std::optional<qsizetype> ChunkStore::rawSizeOf(QByteArrayView record)
{
    const auto header = record.size() >= qsizetype(recordHeaderSize) ? parseHeader(record.data()) : std::nullopt;
    if (!header || header->rawSize > ContentChunker::maximumSize) {
        return std::nullopt;
    }
    return qsizetype(header->rawSize);
}

Result<void> ChunkStore::decodeInto(const QByteArray &id, QByteArrayView record, const ChunkKeys::OwnerIds &ids, char *out, qsizetype rawSize)
{
    struct DecompressDeleter {
        void operator()(ZSTD_DCtx *context) const
        {
            ZSTD_freeDCtx(context);
        }
    };
    // One context a thread: restores decode on every core at once.
    thread_local std::unique_ptr<ZSTD_DCtx, DecompressDeleter> context{ZSTD_createDCtx()};
    auto damaged = [&id](const KLocalizedString &why) {
        return Error{why.subs(QString::fromLatin1(id)).toString()};
    };
    // Ids compared in binary: a restore checks every chunk it reads.
    const std::optional<ChunkList::Id> expected = ChunkList::idFromHex(id);
    const auto header = record.size() >= qsizetype(recordHeaderSize) ? parseHeader(record.data()) : std::nullopt;
    if (!expected || !header || header->id != *expected || qint64(recordHeaderSize + header->storedSize) != record.size()) {
        return damaged(ki18n("chunk %1 is damaged (bad header)"));
    }
    if (qint64(header->rawSize) != rawSize) {
        return damaged(ki18n("chunk %1 is damaged (its size does not match the catalog)"));
    }
    const char *payload = record.data() + recordHeaderSize;
    if (header->flags & storedRaw) {
        std::memcpy(out, payload, header->rawSize);
    } else {
        const std::size_t produced = context ? ZSTD_decompressDCtx(context.get(), out, header->rawSize, payload, header->storedSize) : std::size_t(-1);
        if (!context || ZSTD_isError(produced) || produced != header->rawSize) {
            return damaged(ki18n("chunk %1 is damaged (cannot be decompressed)"));
        }
    }
    if (ids.binaryIdOf(reinterpret_cast<const unsigned char *>(out), header->rawSize) != *expected) {
        return damaged(ki18n("chunk %1 is damaged (its content does not match its checksum)"));
    }
    return {};
}

// Garbage collection ----------------------------------------------------------

Result<QList<ChunkStore::PackFile>> ChunkStore::packFiles() const
{
    QList<PackFile> found;
    UniqueFd listFd(::openat(m_packsDir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *listing = listFd ? ::fdopendir(listFd.release()) : nullptr;
    if (!listing) {
        return ioError(errno, i18n("Listing the packs"));
    }
    while (const dirent *entry = ::readdir(listing)) {
        const QByteArray name(entry->d_name);
        if (name == "." || name == "..") {
            continue;
        }
        PackFile file;
        file.fileName = name;
        if (name.size() == 37 && isHex(name.left(32)) && name.endsWith(".pack")) {
            file.pack = name.left(32);
        } else if (name.size() == 36 && isHex(name.left(32)) && name.endsWith(".tmp")) {
            file.pack = name.left(32);
            file.temporary = true;
        }
        struct stat status{};
        if (::fstatat(m_packsDir.get(), name.constData(), &status, AT_SYMLINK_NOFOLLOW) == 0) {
            file.regular = S_ISREG(status.st_mode);
            file.size = file.regular ? qint64(status.st_size) : 0;
        }
        found.append(file);
    }
    ::closedir(listing);
    return found;
}

qint64 ChunkStore::countRecords(const QByteArray &fileName) const
{
    int error = 0;
    UniqueFd file = openPack(fileName, error);
    if (!file) {
        return 0;
    }
    struct stat status{};
    ::fstat(file.get(), &status);
    qint64 count = 0;
    qint64 offset = 0;
    char header[recordHeaderSize];
    while (offset + qint64(recordHeaderSize) <= qint64(status.st_size) && preadAll(file.get(), header, sizeof header, offset)) {
        const auto parsed = parseHeader(header);
        if (!parsed) {
            break;
        }
        offset += qint64(recordHeaderSize + parsed->storedSize);
        if (offset > qint64(status.st_size)) {
            break;
        }
        ++count;
    }
    return count;
}

Result<void> ChunkStore::removePackFile(const QByteArray &fileName)
{
    m_openPacks.erase(fileName.left(32));
    struct stat status{};
    if (::fstatat(m_packsDir.get(), fileName.constData(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(status.st_mode)) {
        return Error{i18n("The snapshot store %1 has an unexpected directory packs/%2; remove it by hand.", m_storePath, QString::fromLatin1(fileName))};
    }
    if (::unlinkat(m_packsDir.get(), fileName.constData(), 0) != 0 && errno != ENOENT) {
        return ioError(errno, i18n("Removing a pack"));
    }
    return {};
}

Result<QList<ChunkStore::Location>> ChunkStore::repack(const QByteArray &pack, const QList<QPair<QByteArray, Location>> &chunks)
{
    int openError = 0;
    UniqueFd source = openPack(packFileName(pack), openError);
    if (!source) {
        return Error{i18n("Pack %1 of the snapshot store %2 cannot be read: %3", QString::fromLatin1(pack), m_storePath, systemError(openError))};
    }
    auto created = createPack();
    if (!created) {
        return created.error();
    }
    std::unique_ptr<Writer> writer = std::move(*created);
    auto abandon = [this, &writer](const Error &error) {
        ::unlinkat(m_packsDir.get(), (writer->renamed ? packFileName(writer->pack) : temporaryFileName(writer->pack)).constData(), 0);
        return error;
    };
    QList<Location> moved;
    moved.reserve(chunks.size());
    for (const auto &[id, location] : chunks) {
        if (location.pack != pack || location.length < qint64(recordHeaderSize)
            || location.length > qint64(recordHeaderSize + ZSTD_compressBound(ContentChunker::maximumSize))) {
            return abandon(Error{i18n("Internal error: chunk %1 is not in pack %2.", QString::fromLatin1(id), QString::fromLatin1(pack))});
        }
        // Copied as it is: a damaged record stays damaged and verify() still names it.
        QByteArray &buffer = writer->output.buffer();
        const qsizetype start = buffer.size();
        buffer.resize(start + location.length);
        if (!preadAll(source.get(), buffer.data() + start, std::size_t(location.length), location.offset)) {
            const int error = errno;
            return abandon(Error{i18n("Pack %1 of the snapshot store %2 cannot be read: %3",
                                      QString::fromLatin1(pack),
                                      m_storePath,
                                      error ? systemError(error) : i18n("it is truncated"))});
        }
        moved.append(Location{writer->pack, writer->size, location.length});
        writer->size += location.length;
        if (buffer.size() >= writeBufferSize) {
            if (auto flushed = flush(*writer); !flushed) {
                return abandon(flushed.error());
            }
        }
    }
    if (auto finished = finish(*writer); !finished) {
        return abandon(finished.error());
    }
    if (auto synced = syncPacksDirectory(); !synced) {
        return abandon(synced.error());
    }
    return moved;
}

// Legacy chunk files ----------------------------------------------------------

Result<UniqueFd> ChunkStore::openLegacyDirectory(const QByteArray &name) const
{
    UniqueFd directory(openBeneath(m_chunksDir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!directory) {
        const int error = errno;
        if (error == ELOOP || error == ENOTDIR || error == EXDEV) {
            return Error{
                i18n("The snapshot store %1 is not safe to use: chunks/%2 is a symbolic link or not a directory. "
                     "Move the store aside and create a new one.",
                     m_storePath,
                     QString::fromLatin1(name))};
        }
        return ioError(error, i18n("Opening a chunk directory"));
    }
    struct stat status{};
    if (::fstat(directory.get(), &status) != 0 || status.st_uid != ::geteuid()) {
        return Error{i18n("The snapshot store %1 is not safe to use: chunks/%2 is not owned by you. Move the store aside and create a new one.",
                          m_storePath,
                          QString::fromLatin1(name))};
    }
    return directory;
}

Result<QByteArray> ChunkStore::readLegacy(const QByteArray &id, qint64 owner, QByteArray *zstdFrame) const
{
    const QString name = QString::fromLatin1(id);
    if (!m_chunksDir) {
        return Error{i18n("chunk %1 is missing", name)};
    }
    UniqueFd file(openBeneath(m_chunksDir.get(), id.left(2) + '/' + id.mid(2), O_RDONLY | O_NOFOLLOW));
    if (!file) {
        if (errno == ENOENT) {
            return Error{i18n("chunk %1 is missing", name)};
        }
        if (errno == ELOOP || errno == EXDEV) {
            return Error{i18n("chunk %1 is behind a symbolic link", name)};
        }
        return Error{i18n("chunk %1 cannot be read: %2", name, systemError(errno))};
    }
    struct stat status{};
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode) || status.st_size < qint64(legacyHeaderSize) || status.st_size > largestChunkFile) {
        return Error{i18n("chunk %1 is damaged (wrong size)", name)};
    }
    QByteArray stored(qsizetype(status.st_size), Qt::Uninitialized);
    if (!preadAll(file.get(), stored.data(), std::size_t(stored.size()), 0)) {
        if (errno == 0) {
            return Error{i18n("chunk %1 is damaged (truncated)", name)};
        }
        return Error{i18n("chunk %1 cannot be read: %2", name, systemError(errno))};
    }
    if (std::memcmp(stored.constData(), legacyMagic, sizeof legacyMagic) != 0 || qFromLittleEndian<quint32>(stored.constData() + 4) != legacyVersion) {
        return Error{i18n("chunk %1 is damaged (bad header)", name)};
    }
    const quint64 rawSize = qFromLittleEndian<quint64>(stored.constData() + 8);
    if (rawSize > ContentChunker::maximumSize) {
        return Error{i18n("chunk %1 is damaged (bad header)", name)};
    }
    QByteArray raw(qsizetype(rawSize), Qt::Uninitialized);
    const std::size_t produced = ZSTD_decompressDCtx(m_codecs->decompress.get(),
                                                     raw.data(),
                                                     std::size_t(raw.size()),
                                                     stored.constData() + legacyHeaderSize,
                                                     std::size_t(stored.size()) - legacyHeaderSize);
    if (ZSTD_isError(produced) || produced != rawSize) {
        return Error{i18n("chunk %1 is damaged (cannot be decompressed)", name)};
    }
    if (idOf(owner, reinterpret_cast<const unsigned char *>(raw.constData()), std::size_t(raw.size())) != id) {
        return Error{i18n("chunk %1 is damaged (its content does not match its checksum)", name)};
    }
    if (zstdFrame) {
        *zstdFrame = stored.mid(legacyHeaderSize);
    }
    return raw;
}

Result<QList<ChunkStore::File>> ChunkStore::legacyFiles() const
{
    QList<File> found;
    if (!m_chunksDir) {
        return found;
    }
    UniqueFd listFd(::openat(m_chunksDir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *top = listFd ? ::fdopendir(listFd.release()) : nullptr;
    if (!top) {
        return ioError(errno, i18n("Listing the chunks"));
    }
    QList<QByteArray> directories;
    while (const dirent *entry = ::readdir(top)) {
        const QByteArray name(entry->d_name);
        if (name.size() == 2 && isHex(name)) {
            directories.append(name);
        }
    }
    ::closedir(top);

    for (const QByteArray &directoryName : std::as_const(directories)) {
        auto directory = openLegacyDirectory(directoryName);
        if (!directory) {
            return directory.error();
        }
        UniqueFd listingFd(::fcntl(directory->get(), F_DUPFD_CLOEXEC, 0));
        DIR *listing = listingFd ? ::fdopendir(listingFd.get()) : nullptr;
        if (listing) {
            listingFd.release(); // closedir() closes it
        } else {
            return ioError(errno, i18n("Listing the chunks"));
        }
        while (const dirent *entry = ::readdir(listing)) {
            const QByteArray name(entry->d_name);
            if (name == "." || name == "..") {
                continue;
            }
            struct stat status{};
            if (::fstatat(directory->get(), name.constData(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            File file;
            file.directory = directoryName;
            file.name = name;
            file.size = S_ISREG(status.st_mode) ? qint64(status.st_size) : 0;
            if (S_ISREG(status.st_mode) && isValidId(directoryName + name)) {
                file.id = directoryName + name;
            }
            found.append(file);
        }
        ::closedir(listing);
    }
    return found;
}

Result<void> ChunkStore::removeLegacyFile(const File &file)
{
    auto directory = openLegacyDirectory(file.directory);
    if (!directory) {
        return directory.error();
    }
    struct stat status{};
    if (::fstatat(directory->get(), file.name.constData(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(status.st_mode)) {
        return Error{i18n("The snapshot store %1 has an unexpected directory chunks/%2/%3; remove it by hand.",
                          m_storePath,
                          QString::fromLatin1(file.directory),
                          QString::fromLatin1(file.name))};
    }
    if (::unlinkat(directory->get(), file.name.constData(), 0) != 0 && errno != ENOENT) {
        return ioError(errno, i18n("Removing a chunk"));
    }
    return {};
}

} // namespace Rewind
