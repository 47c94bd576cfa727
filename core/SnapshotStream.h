// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <memory>

namespace Rewind
{

/// A snapshot as one self-describing stream, written and read strictly in
/// order (a file, a pipe, ssh), so that a reader refuses what it does not
/// understand before it touches anything.
///
///   stream  := "RWSTREAM" version:u32 header entry* end
///   record  := type:u8 0:u8 0:u16 length:u32 payload checksum:u64
///
/// All numbers little endian; checksum is the XXH3-64 of the record's type,
/// zeros, length and payload. Records:
/// - header (1): JSON: the machine it came from (architecture, page size,
///   kernel, CRIU's cpuinfo image), the CRIU and Rewind versions and the
///   snapshot (session, label, trigger, time, metadata with the session's plan);
/// - entry (2): a file or directory of the snapshot, in the store's order:
///   mode:u32 size:u64 pathLength:u16 path (relative, '/'-separated);
/// - chunk (3): the next piece of the current file, a chunk not sent before
///   (it gets the next index): rawSize:u32 encoding:u8 (0 raw, 1 zstd) 0:u8[3] data;
/// - chunk reference (4): the next piece, a chunk sent before: index:u32;
/// - end (127): the BLAKE3-256 of every byte of the stream before this record.
class SnapshotStream
{
public:
    static constexpr char magic[8] = {'R', 'W', 'S', 'T', 'R', 'E', 'A', 'M'};
    static constexpr quint32 version = 1;

    enum class RecordType : quint8 {
        Header = 1,
        Entry = 2,
        Chunk = 3,
        ChunkReference = 4,
        End = 127,
    };

    static constexpr qint64 maximumHeaderSize = 1024 * 1024;
    static constexpr int maximumPathLength = 4096;
    static constexpr quint32 maximumChunkSize = 64 * 1024;
    static constexpr qint64 maximumEntries = 1000000;
    static constexpr qsizetype maximumChunks = qsizetype(1) << 26;
    /// How long either end waits for the other: a reader or writer that
    /// stops (a pipe nobody drains or fills) ends the transfer, not the process.
    static constexpr int stallLimitMs = 60 * 1000;
};

/// Writes a stream to a file descriptor.
class SnapshotStreamWriter
{
public:
    explicit SnapshotStreamWriter(int fd);
    ~SnapshotStreamWriter();
    SnapshotStreamWriter(const SnapshotStreamWriter &) = delete;
    SnapshotStreamWriter &operator=(const SnapshotStreamWriter &) = delete;

    Result<void> writeHeader(const QJsonObject &header);
    Result<void> writeEntry(const QString &path, quint32 mode, quint64 size);
    /// A chunk's bytes, compressed when that makes them smaller (unless
    /// compress is false: the caller knows it does not).
    Result<void> writeChunk(const QByteArray &raw, bool compress = true);
    /// A chunk of raw's bytes as a store keeps it: zstdFrame, one zstd frame
    /// of raw, or raw itself where zstdFrame is empty.
    Result<void> writeStoredChunk(const QByteArray &raw, const QByteArray &zstdFrame);
    Result<void> writeChunkReference(quint32 index);
    /// The terminator; the stream is written out when this returns.
    Result<void> writeEnd();
    qint64 bytesWritten() const;

private:
    /// A record whose payload is payload followed by tail (not copied together).
    Result<void> writeRecord(SnapshotStream::RecordType type, const QByteArray &payload, const QByteArray &tail = {});
    Result<void> writeBytes(const char *data, std::size_t size);
    Result<void> flush();
    Result<void> writeOut(const QByteArray &buffer, const std::atomic<bool> &stop);
    class OutputThread;
    struct State;
    std::unique_ptr<State> d;
};

/// Reads a stream from a file descriptor, checking every record as it goes.
/// Errors say what is wrong with the stream, in words.
class SnapshotStreamReader
{
public:
    explicit SnapshotStreamReader(int fd);
    ~SnapshotStreamReader();
    SnapshotStreamReader(const SnapshotStreamReader &) = delete;
    SnapshotStreamReader &operator=(const SnapshotStreamReader &) = delete;

    /// The magic, the version and the header; first, and once.
    Result<QJsonObject> readHeader();

    struct Item {
        enum class Kind {
            Entry,
            Chunk,
            ChunkReference,
            End
        } kind = Kind::End;
        QString path; ///< Entry
        quint32 mode = 0; ///< Entry
        quint64 size = 0; ///< Entry
        QByteArray data; ///< Chunk: the raw bytes
        quint32 index = 0; ///< Chunk: its index; ChunkReference: the index it names
    };
    /// The next item after the header. After End the stream has been
    /// checked whole (its hash, and nothing after it).
    Result<Item> next();

private:
    Result<void> readBytes(char *data, std::size_t size, bool endAllowed = false);
    Result<QPair<SnapshotStream::RecordType, QByteArray>> readRecord();
    struct State;
    std::unique_ptr<State> d;
};

} // namespace Rewind
