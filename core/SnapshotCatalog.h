// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "ChunkIdMap.h"
#include "Result.h"
#include "ScreenTextMatch.h"
#include "SnapshotInfo.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QVariant>

#include <functional>
#include <memory>
#include <optional>

#include <sys/types.h>

namespace Rewind
{

/// The SQLite catalog of a snapshot store (<store>/catalog.sqlite): which
/// snapshots exist, which files each holds and which chunks each file is
/// made of. WAL journal, synchronous=FULL, foreign keys on; the schema is
/// versioned and migrated forward on open.
///
/// Each instance has its own QtSql connection; use it from the thread that
/// opened it.
class SnapshotCatalog
{
public:
    static Result<std::unique_ptr<SnapshotCatalog>> open(const QString &databasePath);
    ~SnapshotCatalog();
    SnapshotCatalog(const SnapshotCatalog &) = delete;
    SnapshotCatalog &operator=(const SnapshotCatalog &) = delete;

    /// The schema this code writes; older catalogs are migrated to it.
    static int currentSchemaVersion();

    /// A chunk and where it is: in a pack (pack, packOffset, storedBytes
    /// long) or, with an empty pack, in a chunk file of the layout before packs.
    struct ChunkEntry {
        QByteArray id;
        qint64 owner = -1; ///< the uid whose key names it, or ChunkKeys::legacyOwner
        qint64 storedBytes = 0;
        qint64 rawBytes = 0;
        QByteArray pack;
        qint64 packOffset = 0;
    };

    /// A file or directory of a snapshot, in the order it was stored.
    struct FileEntry {
        QString path; ///< relative, '/'-separated
        quint32 mode = 0; ///< file type and permission bits as st_mode
        qint64 size = 0;
        QByteArray chunkList; ///< the chunks' ids, in order (ChunkList)
        QList<quint32> storedSizes; ///< insertSnapshot(): each chunk's stored bytes, in order; empty if unknown
        QByteArray runs; ///< insertSnapshot(): where its chunks are (ChunkRuns), with storedSizes; empty if unknown
        QList<ChunkEntry> stored; ///< files() and file() only: the chunks with where they are, in order
    };

    /// Inserts a snapshot with its files in one transaction, and chunks, all
    /// new to the catalog (the store looked them up under its commit lock),
    /// as first added by it. beforeCommit runs inside the transaction, just
    /// before COMMIT. Returns the new id.
    Result<qint64> insertSnapshot(const SnapshotInfo &snapshot,
                                  const QList<FileEntry> &files,
                                  const QList<ChunkEntry> &chunks,
                                  const std::function<void()> &beforeCommit = {});

    Result<QList<SnapshotInfo>> list(const QString &sessionId) const;
    /// The id of the session's newest snapshot, first in list(); none if it has none.
    Result<std::optional<qint64>> newestSnapshotId(const QString &sessionId) const;
    Result<std::optional<SnapshotInfo>> snapshot(qint64 id) const;
    /// These return false if there is no such snapshot.
    Result<bool> setLabel(qint64 id, const QString &label);
    Result<bool> setPinned(qint64 id, bool pinned);
    Result<bool> remove(qint64 id);

    /// The snapshot's files with their chunks. Where a file's runs are
    /// known, its chunks' places come from them (rawBytes then is -1: the
    /// record says it); the chunk index answers for the others.
    Result<QList<FileEntry>> files(qint64 snapshotId) const;
    Result<std::optional<FileEntry>> file(qint64 snapshotId, const QString &path) const;

    /// A chunk already in the catalog, or nothing.
    Result<std::optional<ChunkEntry>> chunk(const QByteArray &id) const;
    /// The chunks of ids that the catalog knows, by id: one query for many.
    Result<QHash<QByteArray, ChunkEntry>> knownChunks(const QList<QByteArray> &ids) const;
    /// A chunk of a session's newest snapshot, from its file's lists alone.
    struct ListedChunk {
        quint32 storedBytes = 0;
        QByteArray pack;
        qint64 packOffset = 0;
    };
    /// The chunks of the newest snapshot of sessionId that owner owns, from
    /// the files whose lists have sizes and runs (schema 8, and no pack of
    /// theirs rewritten since); empty if there is none.
    Result<ChunkIdMap<ListedChunk>> newestSnapshotChunks(const QString &sessionId, uid_t owner) const;

    /// Deletes the rows of chunks that no file references any more: those
    /// without a first snapshot. Every chunk a file names has the oldest
    /// snapshot that names it as its first (insertSnapshot(), remove() and
    /// the migrations keep it so), so no list needs to be read.
    Result<qint64> removeUnreferencedChunks();
    /// Every chunk, by pack and offset.
    Result<QList<ChunkEntry>> chunks() const;
    /// The chunks in one pack, by offset.
    Result<QList<ChunkEntry>> chunksInPack(const QByteArray &pack) const;
    /// The chunks in chunk files of the layout before packs.
    Result<QList<ChunkEntry>> legacyFileChunks() const;
    /// Bytes the catalog references in each pack that it references.
    Result<QHash<QByteArray, qint64>> liveBytesByPack() const;
    /// Records the new locations (pack, packOffset) of chunks that were in
    /// fromPack, and forgets the files' runs that name fromPack, in one
    /// transaction; beforeCommit runs just before COMMIT.
    Result<void> moveChunks(const QByteArray &fromPack, const QList<ChunkEntry> &chunks, const std::function<void()> &beforeCommit = {});
    Result<QList<qint64>> snapshotsReferencing(const QList<QByteArray> &chunkIds) const;

    /// What one owner's snapshots take: their number and the stored bytes
    /// of the owner's chunks.
    struct OwnerUsage {
        qint64 snapshots = 0;
        qint64 storedBytes = 0;
    };
    Result<OwnerUsage> usage(uid_t owner) const;
    /// What each session's snapshots of owner take, by session id. Chunks
    /// two sessions share count for both (a branch shares its snapshot's).
    Result<QList<SessionStorage>> usageBySession(uid_t owner) const;

    /// Owners whose snapshots use chunks without an owner (unkeyed ids of
    /// schema 2), and those chunks.
    Result<QList<uid_t>> ownersOfLegacyChunks() const;
    Result<QList<ChunkEntry>> legacyChunksOf(uid_t owner) const;
    /// In one transaction: adds the owner's chunks, each the new name of a
    /// legacy one (the pair's first), and points the owner's files to them.
    Result<void> giveChunksTo(uid_t owner, const QList<QPair<QByteArray, ChunkEntry>> &renamed);

    /// Records the text read on a snapshot's screen (empty: none), replacing
    /// what was recorded; nothing if the snapshot is gone.
    Result<void> setScreenText(qint64 id, const QString &text);
    /// The owner's snapshots whose screen has not been read yet, newest first.
    Result<QList<qint64>> snapshotsWithoutScreenText(uid_t owner) const;

    /// The owner's snapshots whose screen text matches ftsQuery (FTS5 syntax;
    /// see ScreenTextSearch::matchExpression), best first, at most limit.
    Result<QList<ScreenTextMatch>> searchScreenText(const QString &ftsQuery, uid_t owner, int limit) const;

    /// True if the last failed call failed because the disk is full.
    bool lastErrorWasFull() const;

private:
    explicit SnapshotCatalog(const QString &connectionName, const QString &databasePath);
    Result<void> migrate();
    /// An open transaction, rolled back when it goes unless committed.
    class Transaction
    {
    public:
        explicit Transaction(const QSqlDatabase &database);
        Transaction(Transaction &&other) noexcept;
        Transaction &operator=(Transaction &&) = delete;
        ~Transaction();
        /// COMMIT through query, whose lastError() tells why it failed.
        bool commit(QSqlQuery &query);

    private:
        QSqlDatabase m_database;
        bool m_open = true;
    };
    Result<Transaction> begin();
    /// A change to what a pack holds (pack_usage).
    struct PackUsage {
        qint64 chunks = 0;
        qint64 storedBytes = 0;
        void add(qint64 bytes, qint64 count = 1)
        {
            storedBytes += bytes;
            chunks += count;
        }
    };
    /// Adds each change to pack_usage and drops the packs left without
    /// chunks, inside the caller's transaction.
    Result<void> addToPackUsage(const QHash<QByteArray, PackUsage> &change);
    /// Sets the first snapshot of the chunks with these hex ids (-1: none),
    /// inside the caller's transaction.
    Result<void> setFirstSnapshot(const QList<QByteArray> &hexIds, qint64 snapshot);
    /// Sets the `snapshot` of each entry of chunks that has none (-1) to the
    /// oldest snapshot whose lists name it, reading the lists of files
    /// matching where (as forEachChunkList()); entries no list names keep -1.
    template<typename FirstUse>
    Result<void> findOldestUsers(ChunkIdMap<FirstUse> &chunks, const QString &where, const QVariantList &values) const;
    /// Sets every chunk's first snapshot to the oldest snapshot whose lists
    /// name it, or none, from every list of the catalog (a migration's
    /// step), inside the caller's transaction. new_bytes is not recounted.
    Result<void> assignFirstUses();
    /// Makes snapshotId the first snapshot of the chunks its files name
    /// that had none: a snapshot deleted since the store found them present
    /// left them to garbage collection.
    Result<void> claimUnusedChunks(qint64 snapshotId, const QList<FileEntry> &files);
    /// Adds up owner_usage, snapshots.new_bytes and pack_usage again from the chunks,
    /// inside the caller's transaction; what failed, if anything did.
    std::optional<QSqlError> recount();
    Error failure(const QString &what, const QSqlError &error) const;
    Result<QList<ChunkEntry>> selectChunks(const QString &where, const QVariant &value) const;

    /// A file's list of chunks (ChunkList) and whose file it is.
    struct ChunkListRow {
        qint64 file = 0;
        qint64 snapshot = 0;
        qint64 owner = 0;
        QString session;
        QByteArray list;
    };
    /// Visits every non-empty chunk list of files whose snapshot matches
    /// where (" AND …" on files f and snapshots s), by snapshot id, then in
    /// file order.
    Result<void> forEachChunkList(const QString &where, const QVariantList &values, const std::function<void(const ChunkListRow &)> &visit) const;
    /// A file's columns as files() reads them.
    struct FileRow {
        QByteArray list;
        QByteArray sizes;
        QByteArray runs;
    };
    /// Fills the chunks and stored chunks of each entry from its row: the
    /// places from its runs where they fit its list, else from the chunk index.
    Result<void> resolveChunks(qint64 snapshotId, qint64 owner, QList<FileEntry> &entries, const QList<FileRow> &rows) const;
    Error damagedChunkList(qint64 snapshotId) const;
    /// The binary ids of chunks without an owner (schema 2).
    Result<QSet<QByteArray>> legacyChunkIds() const;

    QString m_connectionName;
    QString m_databasePath;
    QSqlDatabase m_database;
    mutable std::unique_ptr<QSqlQuery> m_chunkLookup; ///< prepared once: chunk() runs for every chunk of a commit
    mutable bool m_lastErrorWasFull = false;
};

} // namespace Rewind
