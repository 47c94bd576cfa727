// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotStream.h"

#include "FileWriting.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QJsonDocument>
#include <QList>
#include <QtEndian>

#define XXH_INLINE_ALL
#include <blake3.h>
#include <xxhash.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <mutex>
#include <optional>
#include <poll.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace Rewind
{
namespace
{

constexpr std::size_t recordHeaderSize = 8;
constexpr std::size_t checksumSize = 8;
constexpr std::size_t hashSize = 32;
constexpr std::size_t chunkPrefixSize = 8;
constexpr int compressionLevel = 3;
constexpr std::size_t readBufferSize = 1024 * 1024;
constexpr std::size_t writeBufferSize = 1024 * 1024;

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

void putRecordHeader(char *header, SnapshotStream::RecordType type, quint32 length)
{
    header[0] = char(type);
    header[1] = header[2] = header[3] = 0;
    qToLittleEndian<quint32>(length, header + 4);
}

quint64 checksumOf(const char *header, const QByteArray &payload, const QByteArray &tail = {})
{
    XXH3_state_t *state = XXH3_createState();
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, header, recordHeaderSize);
    XXH3_64bits_update(state, payload.constData(), std::size_t(payload.size()));
    XXH3_64bits_update(state, tail.constData(), std::size_t(tail.size()));
    const quint64 checksum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return checksum;
}

bool isFileType(quint32 mode)
{
    return ((mode & 0170000) == 0100000 || (mode & 0170000) == 0040000) && (mode & ~quint32(0170000 | 07777)) == 0;
}

} // namespace

// Writing ---------------------------------------------------------------------

/// Writes full buffers from a thread of its own, so that the next megabyte
/// is read, hashed and framed while the pipe takes the last one.
class SnapshotStreamWriter::OutputThread
{
public:
    explicit OutputThread(std::function<Result<void>(const QByteArray &, const std::atomic<bool> &)> write)
        : m_write(std::move(write))
        , m_thread([this] {
            run();
        })
    {
    }
    ~OutputThread()
    {
        m_stopRequested = true;
        {
            const std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_changed.notify_all();
        m_thread.join();
    }

    /// Queues buffer, waiting while two wait already; the thread's first error, if any.
    Result<void> push(QByteArray buffer)
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [this] {
            return m_queue.size() < 2 || m_error;
        });
        if (m_error) {
            return *m_error;
        }
        m_queue.push_back(std::move(buffer));
        m_changed.notify_all();
        return {};
    }

    /// Waits until everything queued is written.
    Result<void> finish()
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [this] {
            return (m_queue.empty() && !m_busy) || m_error;
        });
        return m_error ? Result<void>(*m_error) : Result<void>();
    }

private:
    void run()
    {
        // A reader that goes away is an EPIPE for this thread, not a signal
        // that ends the process; a blocked one is dropped with the thread.
        sigset_t pipeSignal;
        sigemptyset(&pipeSignal);
        sigaddset(&pipeSignal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nullptr);
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_changed.wait(lock, [this] {
                return !m_queue.empty() || m_stopping;
            });
            if (m_queue.empty() || m_error) {
                if (m_stopping) {
                    return;
                }
                m_queue.clear();
                continue;
            }
            const QByteArray buffer = std::move(m_queue.front());
            m_queue.pop_front();
            m_busy = true;
            lock.unlock();
            auto written = m_write(buffer, m_stopRequested);
            lock.lock();
            m_busy = false;
            if (!written) {
                m_error = written.error();
            }
            m_changed.notify_all();
        }
    }

    std::function<Result<void>(const QByteArray &, const std::atomic<bool> &)> m_write;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<QByteArray> m_queue;
    std::optional<Error> m_error;
    bool m_busy = false;
    bool m_stopping = false;
    std::atomic<bool> m_stopRequested{false};
    std::thread m_thread;
};

struct SnapshotStreamWriter::State {
    int fd;
    bool pipe = false;
    /// The same pipe opened again without blocking, so that a write takes
    /// what fits instead of PIPE_BUF bytes a poll; the caller's fd keeps its flags.
    UniqueFd nonBlocking;
    QByteArray buffer;
    blake3_hasher hasher;
    qint64 written = 0;
    bool started = false;
    ZSTD_CCtx *compress = ZSTD_createCCtx();
    std::unique_ptr<OutputThread> output; ///< pipes only
    ~State()
    {
        ZSTD_freeCCtx(compress);
    }
};

SnapshotStreamWriter::SnapshotStreamWriter(int fd)
    : d(std::make_unique<State>())
{
    d->fd = fd;
    struct stat status{};
    d->pipe = ::fstat(fd, &status) == 0 && (S_ISFIFO(status.st_mode) || S_ISSOCK(status.st_mode));
    if (d->pipe && S_ISFIFO(status.st_mode)) {
        d->nonBlocking.reset(::open(QByteArray("/proc/self/fd/" + QByteArray::number(fd)).constData(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        // A larger pipe, where allowed: fewer turns between the two ends.
        ::fcntl(fd, F_SETPIPE_SZ, int(writeBufferSize));
    }
    if (d->pipe) {
        d->output = std::make_unique<OutputThread>([this](const QByteArray &buffer, const std::atomic<bool> &stop) {
            return writeOut(buffer, stop);
        });
    }
    blake3_hasher_init(&d->hasher);
}

SnapshotStreamWriter::~SnapshotStreamWriter()
{
    // Its thread writes through this object: it stops first.
    d->output.reset();
}

qint64 SnapshotStreamWriter::bytesWritten() const
{
    return d->written;
}

Result<void> SnapshotStreamWriter::writeBytes(const char *data, std::size_t size)
{
    blake3_hasher_update(&d->hasher, data, size);
    d->written += qint64(size);
    d->buffer.append(data, qsizetype(size));
    return d->buffer.size() >= qsizetype(writeBufferSize) ? flush() : Result<void>();
}

Result<void> SnapshotStreamWriter::flush()
{
    if (d->output) {
        QByteArray full;
        full.swap(d->buffer);
        d->buffer.reserve(qsizetype(writeBufferSize) + 1024);
        return d->output->push(std::move(full));
    }
    static const std::atomic<bool> never{false};
    auto written = writeOut(d->buffer, never);
    d->buffer.resize(0);
    return written;
}

Result<void> SnapshotStreamWriter::writeOut(const QByteArray &buffer, const std::atomic<bool> &stop)
{
    const char *data = buffer.constData();
    std::size_t size = std::size_t(buffer.size());
    while (size > 0) {
        // A pipe or socket takes PIPE_BUF bytes without blocking once it polls
        // writable (a pipe opened without blocking takes what fits): a reader
        // that stops costs the stall limit, not a hang.
        const std::size_t piece = d->nonBlocking ? std::min<std::size_t>(size, writeBufferSize) : d->pipe ? std::min<std::size_t>(size, PIPE_BUF) : size;
        if (d->pipe) {
            // In slices, so that a writer given up on stops soon.
            constexpr int sliceMs = 250;
            pollfd writable{d->fd, POLLOUT, 0};
            int ready = 0;
            for (int waited = 0; ready <= 0 && waited < SnapshotStream::stallLimitMs && !stop; waited += ready < 0 ? 0 : sliceMs) {
                ready = ::poll(&writable, 1, sliceMs);
                if (ready < 0 && errno != EINTR) {
                    break;
                }
            }
            if (stop) {
                return Error{i18n("The export stopped.")};
            }
            if (ready == 0) {
                return Error{i18n("The export stopped: nothing read the stream for %1 seconds.", SnapshotStream::stallLimitMs / 1000)};
            }
        }
        ssize_t written = ssize_t(piece);
        if (d->nonBlocking) {
            written = ::write(d->nonBlocking.get(), data, piece);
            if (written < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
        } else if (!writeAll(d->fd, data, piece)) {
            written = -1;
        }
        if (written < 0) {
            if (errno == EPIPE) {
                return Error{i18n("The export stopped: whatever reads the stream closed it.")};
            }
            return Error{i18n("Writing the exported snapshot failed: %1", systemError(errno))};
        }
        data += written;
        size -= std::size_t(written);
    }
    return {};
}

Result<void> SnapshotStreamWriter::writeRecord(SnapshotStream::RecordType type, const QByteArray &payload, const QByteArray &tail)
{
    char header[recordHeaderSize];
    putRecordHeader(header, type, quint32(payload.size() + tail.size()));
    char checksum[checksumSize];
    qToLittleEndian<quint64>(checksumOf(header, payload, tail), checksum);
    if (auto written = writeBytes(header, sizeof header); !written) {
        return written;
    }
    if (auto written = writeBytes(payload.constData(), std::size_t(payload.size())); !written) {
        return written;
    }
    if (auto written = writeBytes(tail.constData(), std::size_t(tail.size())); !written) {
        return written;
    }
    return writeBytes(checksum, sizeof checksum);
}

Result<void> SnapshotStreamWriter::writeHeader(const QJsonObject &header)
{
    char prelude[sizeof SnapshotStream::magic + 4];
    std::memcpy(prelude, SnapshotStream::magic, sizeof SnapshotStream::magic);
    qToLittleEndian<quint32>(SnapshotStream::version, prelude + sizeof SnapshotStream::magic);
    if (auto written = writeBytes(prelude, sizeof prelude); !written) {
        return written;
    }
    const QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    if (json.size() > SnapshotStream::maximumHeaderSize) {
        return Error{i18n("The snapshot's description is too large to export.")};
    }
    d->started = true;
    return writeRecord(SnapshotStream::RecordType::Header, json);
}

Result<void> SnapshotStreamWriter::writeEntry(const QString &path, quint32 mode, quint64 size)
{
    const QByteArray name = path.toUtf8();
    QByteArray payload(14, Qt::Uninitialized);
    qToLittleEndian<quint32>(mode, payload.data());
    qToLittleEndian<quint64>(size, payload.data() + 4);
    qToLittleEndian<quint16>(quint16(name.size()), payload.data() + 12);
    return writeRecord(SnapshotStream::RecordType::Entry, payload + name);
}

Result<void> SnapshotStreamWriter::writeChunk(const QByteArray &raw, bool compress)
{
    const std::size_t bound = ZSTD_compressBound(std::size_t(raw.size()));
    QByteArray payload(qsizetype(chunkPrefixSize + (compress ? bound : 0)), Qt::Uninitialized);
    qToLittleEndian<quint32>(quint32(raw.size()), payload.data());
    std::memset(payload.data() + 4, 0, 4);
    const std::size_t compressed = compress
        ? ZSTD_compressCCtx(d->compress, payload.data() + chunkPrefixSize, bound, raw.constData(), std::size_t(raw.size()), compressionLevel)
        : std::size_t(raw.size());
    if (!ZSTD_isError(compressed) && compressed < std::size_t(raw.size())) {
        payload[4] = 1;
        payload.resize(qsizetype(chunkPrefixSize + compressed));
        return writeRecord(SnapshotStream::RecordType::Chunk, payload);
    }
    payload.resize(qsizetype(chunkPrefixSize));
    return writeRecord(SnapshotStream::RecordType::Chunk, payload, raw);
}

Result<void> SnapshotStreamWriter::writeStoredChunk(const QByteArray &raw, const QByteArray &zstdFrame)
{
    if (zstdFrame.isEmpty()) {
        return writeChunk(raw, false);
    }
    QByteArray prefix(qsizetype(chunkPrefixSize), '\0');
    qToLittleEndian<quint32>(quint32(raw.size()), prefix.data());
    prefix[4] = 1;
    return writeRecord(SnapshotStream::RecordType::Chunk, prefix, zstdFrame);
}

Result<void> SnapshotStreamWriter::writeChunkReference(quint32 index)
{
    QByteArray payload(4, Qt::Uninitialized);
    qToLittleEndian<quint32>(index, payload.data());
    return writeRecord(SnapshotStream::RecordType::ChunkReference, payload);
}

Result<void> SnapshotStreamWriter::writeEnd()
{
    QByteArray hash(hashSize, Qt::Uninitialized);
    blake3_hasher_finalize(&d->hasher, reinterpret_cast<uint8_t *>(hash.data()), hashSize);
    if (auto written = writeRecord(SnapshotStream::RecordType::End, hash); !written) {
        return written;
    }
    if (auto flushed = flush(); !flushed) {
        return flushed;
    }
    return d->output ? d->output->finish() : Result<void>();
}

// Reading ---------------------------------------------------------------------

struct SnapshotStreamReader::State {
    int fd;
    blake3_hasher hasher;
    QByteArray buffer;
    qsizetype position = 0;
    bool headerRead = false;
    bool ended = false;
    qint64 entries = 0;
    QList<quint32> chunkSizes; ///< raw size of each chunk, by index
    quint64 fileRemaining = 0; ///< bytes the current file still expects
    bool inFile = false;
    ZSTD_DCtx *decompress = ZSTD_createDCtx();
    ~State()
    {
        ZSTD_freeDCtx(decompress);
    }
};

SnapshotStreamReader::SnapshotStreamReader(int fd)
    : d(std::make_unique<State>())
{
    d->fd = fd;
    blake3_hasher_init(&d->hasher);
}

SnapshotStreamReader::~SnapshotStreamReader() = default;

Result<void> SnapshotStreamReader::readBytes(char *data, std::size_t size, bool endAllowed)
{
    while (size > 0) {
        if (d->position == d->buffer.size()) {
            pollfd readable{d->fd, POLLIN, 0};
            int ready;
            do {
                ready = ::poll(&readable, 1, SnapshotStream::stallLimitMs);
            } while (ready < 0 && errno == EINTR);
            if (ready == 0) {
                return Error{i18n("The import stopped: nothing came in for %1 seconds.", SnapshotStream::stallLimitMs / 1000)};
            }
            d->buffer.resize(readBufferSize);
            ssize_t n;
            do {
                n = ::read(d->fd, d->buffer.data(), readBufferSize);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                d->buffer.clear();
                d->position = 0;
                return Error{i18n("Reading the snapshot stream failed: %1", systemError(errno))};
            }
            d->buffer.resize(n);
            d->position = 0;
            if (n == 0) {
                return endAllowed ? Result<void>() : Result<void>(Error{i18n("The snapshot stream is truncated: it ends before its last record.")});
            }
        }
        endAllowed = false;
        const std::size_t taken = std::min(size, std::size_t(d->buffer.size() - d->position));
        std::memcpy(data, d->buffer.constData() + d->position, taken);
        d->position += qsizetype(taken);
        data += taken;
        size -= taken;
    }
    return {};
}

Result<QPair<SnapshotStream::RecordType, QByteArray>> SnapshotStreamReader::readRecord()
{
    char header[recordHeaderSize];
    if (auto read = readBytes(header, sizeof header); !read) {
        return read.error();
    }
    const auto type = SnapshotStream::RecordType(quint8(header[0]));
    const quint32 length = qFromLittleEndian<quint32>(header + 4);
    if (header[1] != 0 || header[2] != 0 || header[3] != 0) {
        return Error{i18n("The snapshot stream is damaged: a record has an invalid header.")};
    }
    qint64 limit = 0;
    switch (type) {
    case SnapshotStream::RecordType::Header:
        limit = SnapshotStream::maximumHeaderSize;
        break;
    case SnapshotStream::RecordType::Entry:
        limit = 14 + SnapshotStream::maximumPathLength;
        break;
    case SnapshotStream::RecordType::Chunk:
        limit = qint64(chunkPrefixSize + ZSTD_compressBound(SnapshotStream::maximumChunkSize));
        break;
    case SnapshotStream::RecordType::ChunkReference:
        limit = 4;
        break;
    case SnapshotStream::RecordType::End:
        limit = hashSize;
        break;
    default:
        return Error{i18n("The snapshot stream holds a record of an unknown type (%1): it was written by a newer Rewind, or it is damaged.", int(header[0]))};
    }
    if (qint64(length) > limit) {
        return Error{i18n("The snapshot stream is damaged: a record is %1 bytes long, more than its kind may be.", length)};
    }
    // The end record's hash covers everything before it.
    uint8_t streamHash[hashSize];
    if (type == SnapshotStream::RecordType::End) {
        blake3_hasher_finalize(&d->hasher, streamHash, hashSize);
    }
    QByteArray payload(qsizetype(length), Qt::Uninitialized);
    char checksum[checksumSize];
    if (auto read = readBytes(payload.data(), length); !read) {
        return read.error();
    }
    if (auto read = readBytes(checksum, sizeof checksum); !read) {
        return read.error();
    }
    if (qFromLittleEndian<quint64>(checksum) != checksumOf(header, payload)) {
        return Error{i18n("The snapshot stream is damaged: a record does not match its checksum.")};
    }
    if (type == SnapshotStream::RecordType::End) {
        if (payload.size() != qsizetype(hashSize) || std::memcmp(streamHash, payload.constData(), hashSize) != 0) {
            return Error{i18n("The snapshot stream is damaged: it does not match its hash.")};
        }
    } else {
        blake3_hasher_update(&d->hasher, header, sizeof header);
        blake3_hasher_update(&d->hasher, payload.constData(), std::size_t(payload.size()));
        blake3_hasher_update(&d->hasher, checksum, sizeof checksum);
    }
    return QPair<SnapshotStream::RecordType, QByteArray>(type, payload);
}

Result<QJsonObject> SnapshotStreamReader::readHeader()
{
    if (d->headerRead) {
        return Error{i18n("Internal error: the snapshot stream's header was read already.")};
    }
    d->headerRead = true;
    char prelude[sizeof SnapshotStream::magic + 4];
    if (auto read = readBytes(prelude, sizeof prelude); !read) {
        return read.error();
    }
    if (std::memcmp(prelude, SnapshotStream::magic, sizeof SnapshotStream::magic) != 0) {
        return Error{i18n("This is not an exported Rewind snapshot.")};
    }
    const quint32 version = qFromLittleEndian<quint32>(prelude + sizeof SnapshotStream::magic);
    if (version != SnapshotStream::version) {
        return Error{
            i18n("The snapshot was exported in format %1; this Rewind reads format %2 only. Import it with a newer Rewind.", version, SnapshotStream::version)};
    }
    blake3_hasher_update(&d->hasher, prelude, sizeof prelude);
    auto record = readRecord();
    if (!record) {
        return record.error();
    }
    if (record->first != SnapshotStream::RecordType::Header) {
        return Error{i18n("The snapshot stream is damaged: it does not start with its header.")};
    }
    QJsonParseError parseError{};
    const QJsonDocument document = QJsonDocument::fromJson(record->second, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        return Error{i18n("The snapshot stream is damaged: its header is not a JSON object.")};
    }
    return document.object();
}

Result<SnapshotStreamReader::Item> SnapshotStreamReader::next()
{
    if (!d->headerRead || d->ended) {
        return Error{i18n("Internal error: the snapshot stream is read out of order.")};
    }
    auto record = readRecord();
    if (!record) {
        return record.error();
    }
    const QByteArray &payload = record->second;
    Item item;
    auto pieceOfFile = [this](quint32 size) -> Result<void> {
        if (!d->inFile || quint64(size) > d->fileRemaining) {
            return Error{i18n("The snapshot stream is damaged: it holds more data than its files are long.")};
        }
        d->fileRemaining -= size;
        return {};
    };
    switch (record->first) {
    case SnapshotStream::RecordType::Entry: {
        if (d->fileRemaining != 0) {
            return Error{i18n("The snapshot stream is damaged: a file is shorter than its entry says.")};
        }
        if (++d->entries > SnapshotStream::maximumEntries) {
            return Error{i18n("The snapshot stream holds more than %1 files.", SnapshotStream::maximumEntries)};
        }
        if (payload.size() < 14) {
            return Error{i18n("The snapshot stream is damaged: a file's entry is too short.")};
        }
        item.kind = Item::Kind::Entry;
        item.mode = qFromLittleEndian<quint32>(payload.constData());
        item.size = qFromLittleEndian<quint64>(payload.constData() + 4);
        const quint16 pathLength = qFromLittleEndian<quint16>(payload.constData() + 12);
        const QByteArray path = payload.mid(14);
        item.path = QString::fromUtf8(path);
        if (pathLength != path.size() || path.isEmpty() || item.path.toUtf8() != path || !isFileType(item.mode)
            || ((item.mode & 0170000) == 0040000 && item.size != 0) || item.size > (quint64(1) << 50)) {
            return Error{i18n("The snapshot stream is damaged: a file's entry is invalid.")};
        }
        d->inFile = (item.mode & 0170000) == 0100000;
        d->fileRemaining = item.size;
        return item;
    }
    case SnapshotStream::RecordType::Chunk: {
        if (payload.size() < qsizetype(chunkPrefixSize)) {
            return Error{i18n("The snapshot stream is damaged: a chunk is too short.")};
        }
        const quint32 rawSize = qFromLittleEndian<quint32>(payload.constData());
        const quint8 encoding = quint8(payload[4]);
        if (rawSize == 0 || rawSize > SnapshotStream::maximumChunkSize || encoding > 1 || payload[5] != 0 || payload[6] != 0 || payload[7] != 0) {
            return Error{i18n("The snapshot stream is damaged: a chunk has an invalid header.")};
        }
        if (auto fits = pieceOfFile(rawSize); !fits) {
            return fits.error();
        }
        const char *data = payload.constData() + chunkPrefixSize;
        const std::size_t stored = std::size_t(payload.size()) - chunkPrefixSize;
        if (encoding == 0) {
            if (stored != rawSize) {
                return Error{i18n("The snapshot stream is damaged: a chunk has the wrong size.")};
            }
            item.data = QByteArray(data, qsizetype(stored));
        } else {
            item.data.resize(qsizetype(rawSize));
            const std::size_t produced = ZSTD_decompressDCtx(d->decompress, item.data.data(), rawSize, data, stored);
            if (ZSTD_isError(produced) || produced != rawSize) {
                return Error{i18n("The snapshot stream is damaged: a chunk cannot be decompressed.")};
            }
        }
        if (d->chunkSizes.size() >= SnapshotStream::maximumChunks) {
            return Error{i18n("The snapshot stream holds more than %1 chunks.", SnapshotStream::maximumChunks)};
        }
        item.kind = Item::Kind::Chunk;
        item.index = quint32(d->chunkSizes.size());
        d->chunkSizes.append(rawSize);
        return item;
    }
    case SnapshotStream::RecordType::ChunkReference: {
        if (payload.size() != 4) {
            return Error{i18n("The snapshot stream is damaged: a chunk reference is invalid.")};
        }
        item.kind = Item::Kind::ChunkReference;
        item.index = qFromLittleEndian<quint32>(payload.constData());
        if (item.index >= quint32(d->chunkSizes.size())) {
            return Error{i18n("The snapshot stream is damaged: it refers to a chunk it has not sent.")};
        }
        if (auto fits = pieceOfFile(d->chunkSizes.at(item.index)); !fits) {
            return fits.error();
        }
        return item;
    }
    case SnapshotStream::RecordType::End: {
        if (d->fileRemaining != 0) {
            return Error{i18n("The snapshot stream is damaged: a file is shorter than its entry says.")};
        }
        char after = 0;
        if (auto trailing = readBytes(&after, 1, true); !trailing || d->buffer.size() != 0) {
            return trailing ? Error{i18n("The snapshot stream is damaged: something follows its last record.")} : trailing.error();
        }
        d->ended = true;
        item.kind = Item::Kind::End;
        return item;
    }
    case SnapshotStream::RecordType::Header:
        break;
    }
    return Error{i18n("The snapshot stream is damaged: it has a second header.")};
}

} // namespace Rewind
