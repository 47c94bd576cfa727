// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QSet>
#include <QString>

#include <cstddef>
#include <memory>

namespace Rewind
{

/// The content-addressed chunk files of a snapshot store, under
/// <store>/chunks/<2 hex>/<30 hex>. A chunk's id is the XXH3-128 of its
/// uncompressed bytes; the file holds a small header (magic, version,
/// uncompressed size) and the bytes compressed with zstd.
///
/// Every file operation is relative to directory fds this class opened
/// itself and never follows a symbolic link. Not thread-safe.
class ChunkStore
{
public:
    /// Opens (and creates) the chunks directory inside the store's directory.
    static Result<std::unique_ptr<ChunkStore>> open(int storeDirFd, const QString &storePath);
    ~ChunkStore();
    ChunkStore(const ChunkStore &) = delete;
    ChunkStore &operator=(const ChunkStore &) = delete;

    struct Stored {
        QByteArray id; ///< 32 lowercase hex digits
        qint64 storedBytes = 0; ///< size of the chunk file
        bool written = false; ///< false if the chunk was there already
    };

    /// Stores one chunk unless a chunk with the same content exists. A new
    /// chunk goes to a temporary file next to its final name; persist()
    /// makes it durable and gives it that name.
    Result<Stored> put(const unsigned char *data, std::size_t size);

    /// Makes the chunks put() wrote since the last call durable, then
    /// visible: one syncfs() of the store's file system (instead of an
    /// fsync per chunk), the renames, then an fsync of each changed
    /// directory. A chunk file under its final name is always complete.
    Result<void> persist();

    /// Removes a chunk that put() wrote (renamed by persist() or not) for a
    /// commit that failed.
    void discard(const QByteArray &id);

    /// The uncompressed bytes of a chunk, checked against its id. The Error
    /// says whether the chunk is missing or damaged.
    Result<QByteArray> read(const QByteArray &id) const;

    /// A file found in the chunk directories: a chunk (id set) or a
    /// leftover of an interrupted write (id empty).
    struct File {
        QByteArray directory;
        QByteArray name;
        QByteArray id;
        qint64 size = 0;
    };
    Result<QList<File>> files() const;
    Result<void> removeFile(const File &file);

    /// An Error for a failed system call on the store: for a full file
    /// system the message says how much is free and what to do.
    Error ioError(int errorNumber, const QString &what) const;
    Error fullError() const;

    static bool isValidId(const QByteArray &id);
    static QByteArray idOf(const unsigned char *data, std::size_t size);

    static constexpr std::size_t headerSize = 16;

private:
    ChunkStore(UniqueFd storeDir, UniqueFd chunksDir, const QString &storePath);
    Result<UniqueFd> openDirectory(const QByteArray &name) const;
    Result<UniqueFd> openOrCreateDirectory(const QByteArray &name);
    static QByteArray temporaryName(const QByteArray &id);

    struct Codecs;
    UniqueFd m_storeDir;
    UniqueFd m_chunksDir;
    QString m_storePath;
    std::unique_ptr<Codecs> m_codecs;
    QHash<QByteArray, qint64> m_pending; ///< written by put(), not yet renamed: id -> file size
    QSet<QByteArray> m_touchedDirectories;
    bool m_chunksDirectoryTouched = false;
};

} // namespace Rewind
