// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "ChunkKeys.h"
#include "Result.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace Rewind
{

/// The chunks of a snapshot store. A chunk's id names its uncompressed
/// bytes and its owner (see ChunkKeys); every chunk belongs to one owner.
///
/// New chunks are appended to pack files, <store>/packs/<32 hex>.pack, each
/// written as <32 hex>.tmp first and renamed once it is durable. A pack is a
/// sequence of records: a 32-byte header (magic "RWPR", format version,
/// flags, the chunk id in binary, raw size, stored size, little endian) and
/// the stored bytes: zstd, or the raw bytes when zstd does not make them
/// smaller. The catalog knows where each chunk is (pack, offset, length).
///
/// Stores written before packs keep chunk files under
/// <store>/chunks/<2 hex>/<30 hex> (a 16-byte header and zstd); the catalog
/// marks those chunks with an empty pack and they are still read and collected.
///
/// Every file operation is relative to directory fds this class opened
/// itself and never follows a symbolic link. Not thread-safe.
class ChunkStore
{
public:
    /// Opens (and creates) the packs directory inside the store's directory,
    /// and the legacy chunks directory if there is one.
    static Result<std::unique_ptr<ChunkStore>> open(int storeDirFd, const QString &storePath);
    ~ChunkStore();
    ChunkStore(const ChunkStore &) = delete;
    ChunkStore &operator=(const ChunkStore &) = delete;

    /// Where a chunk is. An empty pack means a legacy chunk file.
    struct Location {
        QByteArray pack; ///< 32 hex digits, the pack file is <pack>.pack
        qint64 offset = 0;
        qint64 length = 0; ///< the whole record (header and stored bytes): the chunk's stored size
    };

    static constexpr std::size_t recordHeaderSize = 32;
    /// A commit starts a new pack once the current one is this big.
    static constexpr qint64 packTargetSize = 256 * 1024 * 1024;

    /// Appends a new chunk (id is idOf(owner, data, size)) to the pack being
    /// written, creating one (under its temporary name) when needed.
    Result<Location> append(const QByteArray &id, const unsigned char *data, std::size_t size);

    /// A chunk's record as a pack holds it (header, then zstd or the raw
    /// bytes). Safe to call from several threads at once.
    static Result<QByteArray> encode(const ChunkList::Id &id, const unsigned char *data, std::size_t size);
    /// Appends a record encode() made, as append() does.
    Result<Location> appendEncoded(const QByteArray &record);

    /// Bytes append() took that are not written to their pack yet.
    qint64 pendingBytes() const;

    /// Makes the packs append() wrote durable, then visible: the rest of
    /// each pack is written and fdatasync()ed, the pack renamed to its final
    /// name and the packs directory fsync()ed.
    Result<void> persist();

    /// Removes the packs append() wrote (renamed by persist() or not), for a
    /// commit that failed.
    void discardWritten();
    /// Forgets the packs append() wrote: the catalog references them now.
    void keepWritten();

    /// The uncompressed bytes of owner's chunk, checked against its id. The
    /// Error says whether the chunk is missing or damaged. Packs stay open
    /// until closePacks(). zstdFrame, if given, gets the chunk's bytes as
    /// stored, one zstd frame, or nothing where zstd did not make them smaller
    /// (an export sends them on as they are).
    Result<QByteArray> read(const QByteArray &id, const Location &location, qint64 owner, QByteArray *zstdFrame = nullptr) const;
    void closePacks() const;
    /// A chunk's record as its pack holds it, for decode(); not for legacy chunks (empty pack).
    Result<QByteArray> readRecord(const QByteArray &id, const Location &location) const;
    /// Records read together: each a view into one of spans, valid until
    /// the batch is read into again or goes.
    struct RecordBatch {
        std::vector<Result<QByteArrayView>> records;
        std::vector<QByteArray> spans; ///< kept for the next readRecords() into the batch
    };
    /// The records of several chunks, in order, into batch; neighbours in a
    /// pack are read with one pread, straight into a span.
    void readRecords(const QList<QPair<QByteArray, Location>> &chunks, RecordBatch &batch) const;
    /// The uncompressed bytes of a record, checked against id. Safe to call
    /// from several threads at once. zstdFrame as for read().
    static Result<QByteArray> decode(const QByteArray &id, const QByteArray &record, const ChunkKeys::OwnerIds &ids, QByteArray *zstdFrame = nullptr);
    /// decode() into out, which has room for the rawSize bytes the catalog
    /// gives the chunk: a restore decodes a batch into the buffer it writes.
    static Result<void> decodeInto(const QByteArray &id, QByteArrayView record, const ChunkKeys::OwnerIds &ids, char *out, qsizetype rawSize);
    /// The uncompressed size a record's header gives, for decodeInto() where
    /// the catalog does not say; nothing if the header is not a record's or
    /// the size is more than a chunk can have.
    static std::optional<qsizetype> rawSizeOf(QByteArrayView record);

    /// A file in the packs directory: a pack (temporary or not) or
    /// something else (name not ours; left alone).
    struct PackFile {
        QByteArray fileName;
        QByteArray pack; ///< 32 hex digits, empty if the name is not a pack's
        bool temporary = false;
        bool regular = false;
        qint64 size = 0;
    };
    Result<QList<PackFile>> packFiles() const;
    /// Number of whole records at the start of a pack file (0 if it cannot be read).
    qint64 countRecords(const QByteArray &fileName) const;
    Result<void> removePackFile(const QByteArray &fileName);
    Result<void> syncPacksDirectory();

    /// Copies the records of the given chunks of a pack into a new pack,
    /// durable and under its final name when this returns. The result has
    /// the chunks' new locations, in the same order.
    Result<QList<Location>> repack(const QByteArray &pack, const QList<QPair<QByteArray, Location>> &chunks);

    /// A file found in the legacy chunk directories: a chunk (id set) or a
    /// leftover of an interrupted write (id empty).
    struct File {
        QByteArray directory;
        QByteArray name;
        QByteArray id;
        qint64 size = 0;
    };
    Result<QList<File>> legacyFiles() const;
    Result<void> removeLegacyFile(const File &file);

    /// An Error for a failed system call on the store: for a full file
    /// system the message says how much is free and what to do.
    Error ioError(int errorNumber, const QString &what) const;
    Error fullError() const;

    static bool isValidId(const QByteArray &id);
    /// The id of data stored for owner (a uid, or ChunkKeys::legacyOwner).
    QByteArray idOf(qint64 owner, const unsigned char *data, std::size_t size) const;
    /// Names owner's chunks from any thread.
    ChunkKeys::OwnerIds idsOf(qint64 owner) const;

private:
    ChunkStore(UniqueFd storeDir, UniqueFd packsDir, UniqueFd chunksDir, const QString &storePath, ChunkKeys keys);
    struct Writer;
    Result<std::unique_ptr<Writer>> createPack();
    Result<void> flush(Writer &writer);
    Result<void> finish(Writer &writer);
    UniqueFd openPack(const QByteArray &fileName, int &error) const;
    std::optional<Error> checkRecordLocation(const QByteArray &id, const Location &location) const;
    /// The open pack (opened now if needed); errors name the chunk id.
    Result<int> packFd(const QByteArray &id, const QByteArray &pack) const;
    Result<QByteArray> readLegacy(const QByteArray &id, qint64 owner, QByteArray *zstdFrame) const;
    Result<UniqueFd> openLegacyDirectory(const QByteArray &name) const;

    struct Codecs;
    UniqueFd m_storeDir;
    UniqueFd m_packsDir;
    UniqueFd m_chunksDir; ///< legacy, may be invalid
    QString m_storePath;
    ChunkKeys m_keys;
    std::unique_ptr<Codecs> m_codecs;
    std::vector<std::unique_ptr<Writer>> m_writing; ///< packs of the current commit; the last one takes new chunks
    mutable std::map<QByteArray, UniqueFd> m_openPacks;
};

} // namespace Rewind
