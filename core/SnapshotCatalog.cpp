// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotCatalog.h"

#include "ChunkIdFilter.h"
#include "ChunkIdMap.h"
#include "ChunkKeys.h"
#include "ChunkList.h"
#include "ChunkRuns.h"
#include "ChunkStore.h"
#include "SqliteStatement.h"

#include <KLocalizedString>

#include <QAtomicInteger>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QSqlQuery>
#include <QStringList>
#include <QTimeZone>
#include <QVariant>
#include <QtEndian>

#include <utility>

namespace Rewind
{
namespace
{

struct Migration {
    int version;
    QStringList statements;
    /// Then SnapshotCatalog::assignFirstUses(): a step SQL cannot take on lists of binary ids.
    bool thenAssignFirstUses = false;
};

// What owner_usage and snapshots.new_bytes hold, added up again from the
// chunks: by migration 9 (so these are released as they are), and after
// legacy chunks are given owners, a change made once that rewrites every
// list anyway.
const QStringList recountStatements = {
    QStringLiteral("DELETE FROM owner_usage"),
    QStringLiteral("INSERT INTO owner_usage (owner, stored_bytes) SELECT owner, SUM(stored_bytes) FROM chunks WHERE owner IS NOT NULL GROUP BY owner"),
    QStringLiteral("UPDATE snapshots SET new_bytes = (SELECT COALESCE(SUM(c.stored_bytes), 0) FROM chunks c WHERE c.first_snapshot = snapshots.id)"),
};

// What pack_usage holds, added up again from the chunks: by migration 10,
// and by recount() with recountStatements.
const QStringList recountPackStatements = {
    QStringLiteral("DELETE FROM pack_usage"),
    QStringLiteral("INSERT INTO pack_usage (pack, chunks, stored_bytes) SELECT pack, COUNT(*), SUM(stored_bytes) FROM chunks"
                   " WHERE pack IS NOT NULL AND pack != '' GROUP BY pack"),
};

// Append a migration for every schema change; never edit a released one.
const QList<Migration> &migrations()
{
    static const QList<Migration> list = {
        {1,
         {
             QStringLiteral("CREATE TABLE snapshots ("
                            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                            " session_id TEXT NOT NULL,"
                            " created_at INTEGER NOT NULL," // ms since the epoch, UTC
                            " label TEXT NOT NULL DEFAULT '',"
                            " trigger_name TEXT NOT NULL,"
                            " pinned INTEGER NOT NULL DEFAULT 0,"
                            " metadata_json TEXT NOT NULL DEFAULT '{}',"
                            " logical_bytes INTEGER NOT NULL,"
                            " stored_bytes INTEGER NOT NULL)"),
             QStringLiteral("CREATE INDEX snapshots_by_session ON snapshots(session_id, created_at)"),
             QStringLiteral("CREATE TABLE files ("
                            " id INTEGER PRIMARY KEY,"
                            " snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
                            " ordinal INTEGER NOT NULL,"
                            " path TEXT NOT NULL,"
                            " mode INTEGER NOT NULL,"
                            " size INTEGER NOT NULL,"
                            " UNIQUE (snapshot_id, path))"),
             QStringLiteral("CREATE TABLE chunks ("
                            " id TEXT PRIMARY KEY,"
                            " stored_bytes INTEGER NOT NULL,"
                            " raw_bytes INTEGER NOT NULL,"
                            " first_snapshot INTEGER REFERENCES snapshots(id) ON DELETE SET NULL)"),
             QStringLiteral("CREATE INDEX chunks_by_first_snapshot ON chunks(first_snapshot)"),
             QStringLiteral("CREATE TABLE file_chunks ("
                            " file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
                            " seq INTEGER NOT NULL,"
                            " chunk_id TEXT NOT NULL REFERENCES chunks(id),"
                            " PRIMARY KEY (file_id, seq)) WITHOUT ROWID"),
             QStringLiteral("CREATE INDEX file_chunks_by_chunk ON file_chunks(chunk_id)"),
         }},
        // Pack files: a chunk is a record in <store>/packs/<pack>.pack at
        // pack_offset, stored_bytes long. Chunks of schema 1 keep a NULL pack:
        // they stay in their chunk files (chunks/<2 hex>/<30 hex>), which are
        // still read, verified and collected.
        {2,
         {
             QStringLiteral("ALTER TABLE chunks ADD COLUMN pack TEXT"),
             QStringLiteral("ALTER TABLE chunks ADD COLUMN pack_offset INTEGER"),
             QStringLiteral("CREATE INDEX chunks_by_pack ON chunks(pack, pack_offset)"),
         }},
        // Owners: every snapshot belongs to a uid (it was in metadata_json),
        // every chunk to the owner whose key names it (ChunkKeys). Chunks of
        // schema 2 keep a NULL owner: their ids are unkeyed XXH3, and
        // SnapshotStore gives them owners (new ids) when it opens the store.
        {3,
         {
             QStringLiteral("ALTER TABLE snapshots ADD COLUMN owner INTEGER NOT NULL DEFAULT 0"),
             QStringLiteral("UPDATE snapshots SET owner = COALESCE(CAST(json_extract(metadata_json, '$.owner') AS INTEGER), 0)"),
             QStringLiteral("CREATE INDEX snapshots_by_owner ON snapshots(owner)"),
             QStringLiteral("ALTER TABLE chunks ADD COLUMN owner INTEGER"),
             QStringLiteral("CREATE INDEX chunks_by_owner ON chunks(owner)"),
         }},
        // What each snapshot brought into the store when it was stored.
        // Snapshots of earlier schemas keep NULL: chunks' first_snapshot
        // moves on when a snapshot is deleted, so it cannot tell any more.
        {4,
         {
             QStringLiteral("ALTER TABLE snapshots ADD COLUMN added_bytes INTEGER"),
         }},
        // The text on each snapshot's screen, for search: one row per
        // snapshot whose picture was read (rowid = snapshot id, empty text if
        // it showed none). Snapshots without a row are read later. A virtual
        // table has no foreign keys, so a trigger removes a deleted snapshot's row.
        {5,
         {
             QStringLiteral("CREATE VIRTUAL TABLE screen_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')"),
             QStringLiteral("CREATE TRIGGER screen_text_of_deleted_snapshot AFTER DELETE ON snapshots"
                            " BEGIN DELETE FROM screen_text WHERE rowid = old.id; END"),
         }},
        // A file's chunks in one blob of their binary ids (ChunkList), not a
        // row a chunk: storing 512 MB of memory wrote 135,000 file_chunks
        // rows and as many entries of their index, most of a commit's time.
        // Which chunks are still used is read from the lists now.
        // group_concat(... ORDER BY) needs SQLite 3.44, unhex() 3.41.
        {6,
         {
             QStringLiteral("ALTER TABLE files ADD COLUMN chunk_list BLOB NOT NULL DEFAULT x''"),
             QStringLiteral("UPDATE files SET chunk_list ="
                            " (SELECT unhex(group_concat(fc.chunk_id, '' ORDER BY fc.seq)) FROM file_chunks fc WHERE fc.file_id = files.id)"
                            " WHERE id IN (SELECT file_id FROM file_chunks)"),
             QStringLiteral("DROP TABLE file_chunks"),
         }},
        // Each chunk's stored bytes beside its id, 4 bytes little-endian in
        // the order of chunk_list: a commit finds the pages of the session's
        // previous snapshot, and their sizes, without the chunk index (a
        // third of its time at 512 MB). Earlier files keep an empty blob.
        {7,
         {
             QStringLiteral("ALTER TABLE files ADD COLUMN chunk_sizes BLOB NOT NULL DEFAULT x''"),
         }},
        // Where each file's chunks were written (ChunkRuns), with
        // chunk_sizes: a restore reads its chunks' places from here instead
        // of looking each one up (a third of a 512 MB restore's time).
        // Earlier files, and files whose pack was rewritten since, keep an
        // empty blob, and the chunk index answers for them.
        {8,
         {
             QStringLiteral("ALTER TABLE files ADD COLUMN chunk_runs BLOB NOT NULL DEFAULT x''"),
         }},
        // What each owner's chunks take, and what each snapshot brought
        // first, kept as they change: adding them up took 0.2 s each in a
        // store of 2 million chunks (a 2 GB session's four snapshots), for
        // the quota before and during every snapshot and for every listing.
        {9,
         {
             QStringLiteral("CREATE TABLE owner_usage (owner INTEGER PRIMARY KEY, stored_bytes INTEGER NOT NULL)"),
             QStringLiteral("ALTER TABLE snapshots ADD COLUMN new_bytes INTEGER NOT NULL DEFAULT 0"),
             recountStatements[0],
             recountStatements[1],
             recountStatements[2],
         }},
        // Garbage collection removes the chunks without a first snapshot
        // instead of reading every list of the store (3 s of CPU for each
        // snapshot autosave pruned from a store of twenty 512 MB ones).
        // That needs every chunk a list names to have its oldest snapshot
        // as first_snapshot, and every other chunk NULL; each is set again.
        // What each pack holds is kept as it changes, like owner_usage:
        // adding it up read every chunk's row at each garbage collection.
        {10,
         {
             QStringLiteral("CREATE TABLE pack_usage (pack TEXT PRIMARY KEY, chunks INTEGER NOT NULL, stored_bytes INTEGER NOT NULL)"),
             recountPackStatements[0],
             recountPackStatements[1],
         },
         true},
    };
    return list;
}

const QString snapshotColumns = QStringLiteral(
    "s.id, s.session_id, s.created_at, s.label, s.trigger_name, s.pinned, s.metadata_json, s.logical_bytes, s.stored_bytes,"
    " s.new_bytes, s.owner, s.added_bytes");

SnapshotInfo snapshotFromRow(const QSqlQuery &query)
{
    SnapshotInfo info;
    info.id = query.value(0).toLongLong();
    info.sessionId = query.value(1).toString();
    info.createdAt = QDateTime::fromMSecsSinceEpoch(query.value(2).toLongLong(), QTimeZone::UTC);
    info.label = query.value(3).toString();
    info.trigger = triggerFromName(query.value(4).toString()).value_or(SnapshotTrigger::Manual);
    info.pinned = query.value(5).toBool();
    info.metadata = QJsonDocument::fromJson(query.value(6).toByteArray()).object().toVariantMap();
    info.logicalBytes = query.value(7).toLongLong();
    info.storedBytes = query.value(8).toLongLong();
    info.newBytes = query.value(9).toLongLong();
    info.sharedBytes = info.storedBytes - info.newBytes;
    info.owner = uid_t(query.value(10).toLongLong());
    if (!query.isNull(11)) {
        info.addedBytes = query.value(11).toLongLong();
    }
    return info;
}

/// A ChunkEntry from the columns id, stored_bytes, raw_bytes, pack, pack_offset, owner starting at column.
SnapshotCatalog::ChunkEntry chunkFromRow(const QSqlQuery &query, int column)
{
    SnapshotCatalog::ChunkEntry chunk;
    chunk.id = query.value(column).toString().toLatin1();
    chunk.storedBytes = query.value(column + 1).toLongLong();
    chunk.rawBytes = query.value(column + 2).toLongLong();
    if (!query.isNull(column + 3)) {
        chunk.pack = query.value(column + 3).toString().toLatin1();
        chunk.packOffset = query.value(column + 4).toLongLong();
    }
    chunk.owner = query.isNull(column + 5) ? ChunkKeys::legacyOwner : query.value(column + 5).toLongLong();
    return chunk;
}

/// Stored sizes as files.chunk_sizes keeps them.
QByteArray chunkSizes(const QList<quint32> &sizes)
{
    QByteArray blob(sizes.size() * qsizetype(sizeof(quint32)), Qt::Uninitialized);
    for (qsizetype i = 0; i < sizes.size(); ++i) {
        qToLittleEndian<quint32>(sizes.at(i), blob.data() + i * qsizetype(sizeof(quint32)));
    }
    return blob;
}

QAtomicInteger<quint64> connectionCounter;

} // namespace

SnapshotCatalog::SnapshotCatalog(const QString &connectionName, const QString &databasePath)
    : m_connectionName(connectionName)
    , m_databasePath(databasePath)
    , m_database(QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connectionName))
{
}

SnapshotCatalog::~SnapshotCatalog()
{
    m_chunkLookup.reset();
    m_database.close();
    m_database = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

int SnapshotCatalog::currentSchemaVersion()
{
    return migrations().constLast().version;
}

Error SnapshotCatalog::failure(const QString &what, const QSqlError &error) const
{
    // SQLITE_FULL is 13; the extended codes keep it in the low byte.
    bool isNumber = false;
    const int code = error.nativeErrorCode().toInt(&isNumber);
    m_lastErrorWasFull = isNumber && (code & 0xff) == 13;
    return Error{i18n("%1 in the snapshot catalog %2 failed: %3", what, m_databasePath, error.text())};
}

bool SnapshotCatalog::lastErrorWasFull() const
{
    return m_lastErrorWasFull;
}

Result<std::unique_ptr<SnapshotCatalog>> SnapshotCatalog::open(const QString &databasePath)
{
    const QString name = QStringLiteral("rewind-snapshot-catalog-%1").arg(connectionCounter.fetchAndAddRelaxed(1) + 1);
    std::unique_ptr<SnapshotCatalog> catalog(new SnapshotCatalog(name, databasePath));
    if (!catalog->m_database.isValid()) {
        return Error{i18n("The Qt SQLite driver (QSQLITE) is not available. Install the Qt 6 SQLite plugin.")};
    }
    catalog->m_database.setDatabaseName(databasePath);
    catalog->m_database.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=30000;QSQLITE_OPEN_NOFOLLOW"));
    if (!catalog->m_database.open()) {
        return catalog->failure(i18n("Opening"), catalog->m_database.lastError());
    }
    QSqlQuery query(catalog->m_database);
    if (!query.exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !query.next()
        || query.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0) {
        return Error{i18n("The snapshot catalog %1 cannot use a write-ahead log: %2", databasePath, query.lastError().text())};
    }
    // A chunk a page of memory makes the chunk index big: 64 MiB of cache
    // (SQLite's default is 2 MiB) keeps a commit from reading it from disk
    // for every page.
    for (const QString &pragma :
         {QStringLiteral("PRAGMA synchronous=FULL"), QStringLiteral("PRAGMA foreign_keys=ON"), QStringLiteral("PRAGMA cache_size=-65536")}) {
        if (!query.exec(pragma)) {
            return catalog->failure(i18n("Setting up"), query.lastError());
        }
    }
    if (auto migrated = catalog->migrate(); !migrated) {
        return migrated.error();
    }
    return catalog;
}

SnapshotCatalog::Transaction::Transaction(const QSqlDatabase &database)
    : m_database(database)
{
}

SnapshotCatalog::Transaction::Transaction(Transaction &&other) noexcept
    : m_database(other.m_database)
    , m_open(std::exchange(other.m_open, false))
{
}

SnapshotCatalog::Transaction::~Transaction()
{
    if (m_open) {
        QSqlQuery query(m_database);
        query.exec(QStringLiteral("ROLLBACK"));
    }
}

bool SnapshotCatalog::Transaction::commit(QSqlQuery &query)
{
    if (!query.exec(QStringLiteral("COMMIT"))) {
        return false;
    }
    m_open = false;
    return true;
}

Result<SnapshotCatalog::Transaction> SnapshotCatalog::begin()
{
    QSqlQuery query(m_database);
    if (!query.exec(QStringLiteral("BEGIN IMMEDIATE"))) {
        return failure(i18n("Starting a transaction"), query.lastError());
    }
    return Transaction(m_database);
}

Result<void> SnapshotCatalog::migrate()
{
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    QSqlQuery query(m_database);
    if (!query.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        || !query.exec(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_version")) || !query.next()) {
        return failure(i18n("Reading the schema version"), query.lastError());
    }
    const int version = query.value(0).toInt();
    query.finish();
    if (version > currentSchemaVersion()) {
        return Error{i18n("The snapshot catalog %1 was written by a newer version of Rewind (schema %2; this version knows up to %3). Update Rewind.",
                          m_databasePath,
                          version,
                          currentSchemaVersion())};
    }
    for (const Migration &migration : migrations()) {
        if (migration.version <= version) {
            continue;
        }
        for (const QString &statement : migration.statements) {
            if (!query.exec(statement)) {
                return failure(i18n("Migrating to schema %1", migration.version), query.lastError());
            }
        }
        if (migration.thenAssignFirstUses) {
            if (auto assigned = assignFirstUses(); !assigned) {
                return assigned;
            }
            if (!query.exec(recountStatements[2])) {
                return failure(i18n("Migrating to schema %1", migration.version), query.lastError());
            }
        }
        query.prepare(QStringLiteral("INSERT INTO schema_version (version) VALUES (?)"));
        query.addBindValue(migration.version);
        if (!query.exec()) {
            return failure(i18n("Migrating to schema %1", migration.version), query.lastError());
        }
    }
    if (!transaction->commit(query)) {
        return failure(i18n("Migrating"), query.lastError());
    }
    return {};
}

Result<qint64> SnapshotCatalog::insertSnapshot(const SnapshotInfo &snapshot,
                                               const QList<FileEntry> &files,
                                               const QList<ChunkEntry> &chunks,
                                               const std::function<void()> &beforeCommit)
{
    m_lastErrorWasFull = false;
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }

    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("INSERT INTO snapshots (session_id, created_at, label, trigger_name, pinned, metadata_json, logical_bytes, stored_bytes, owner)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    query.addBindValue(snapshot.sessionId);
    query.addBindValue(snapshot.createdAt.toMSecsSinceEpoch());
    query.addBindValue(snapshot.label.isNull() ? QStringLiteral("") : snapshot.label);
    query.addBindValue(triggerName(snapshot.trigger));
    query.addBindValue(snapshot.pinned ? 1 : 0);
    query.addBindValue(QString::fromUtf8(QJsonDocument(QJsonObject::fromVariantMap(snapshot.metadata)).toJson(QJsonDocument::Compact)));
    query.addBindValue(snapshot.logicalBytes);
    query.addBindValue(snapshot.storedBytes);
    query.addBindValue(qint64(snapshot.owner));
    if (!query.exec()) {
        return failure(i18n("Adding a snapshot"), query.lastError());
    }
    const qint64 id = query.lastInsertId().toLongLong();

    // The new chunks: a snapshot of 512 MB of memory brings 137,000 (a
    // chunk a page), and binding seven QVariants a chunk cost more than
    // inserting them.
    auto insertChunk = SqliteStatement::prepare(m_database,
                                                "INSERT INTO chunks (id, stored_bytes, raw_bytes, first_snapshot, pack, pack_offset, owner)"
                                                " VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!insertChunk) {
        return insertChunk.error();
    }
    qint64 addedBytes = 0;
    QHash<qint64, qint64> addedByOwner;
    QHash<QByteArray, PackUsage> addedByPack;
    for (const ChunkEntry &chunk : chunks) {
        if (!ChunkStore::isValidId(chunk.id) || (!chunk.pack.isEmpty() && !ChunkStore::isValidId(chunk.pack))) {
            return Error{i18n("Internal error: a chunk to add has a malformed id.")};
        }
        insertChunk->bindText(1, chunk.id);
        insertChunk->bind(2, chunk.storedBytes);
        insertChunk->bind(3, chunk.rawBytes);
        insertChunk->bind(4, id);
        if (chunk.pack.isEmpty()) {
            insertChunk->bindNull(5);
            insertChunk->bindNull(6);
        } else {
            insertChunk->bindText(5, chunk.pack);
            insertChunk->bind(6, chunk.packOffset);
        }
        if (chunk.owner == ChunkKeys::legacyOwner) {
            insertChunk->bindNull(7);
        } else {
            insertChunk->bind(7, chunk.owner);
        }
        if (const auto error = insertChunk->run()) {
            return failure(i18n("Adding a chunk"), *error);
        }
        addedBytes += chunk.storedBytes;
        if (chunk.owner != ChunkKeys::legacyOwner) {
            addedByOwner[chunk.owner] += chunk.storedBytes;
        }
        if (!chunk.pack.isEmpty()) {
            addedByPack[chunk.pack].add(chunk.storedBytes);
        }
    }
    // Every chunk it adds, it adds first.
    query.prepare(QStringLiteral("UPDATE snapshots SET added_bytes = ?, new_bytes = ? WHERE id = ?"));
    query.addBindValue(addedBytes);
    query.addBindValue(addedBytes);
    query.addBindValue(id);
    if (!query.exec()) {
        return failure(i18n("Adding a snapshot"), query.lastError());
    }
    query.prepare(
        QStringLiteral("INSERT INTO owner_usage (owner, stored_bytes) VALUES (?, ?)"
                       " ON CONFLICT (owner) DO UPDATE SET stored_bytes = stored_bytes + excluded.stored_bytes"));
    for (auto added = addedByOwner.cbegin(); added != addedByOwner.cend(); ++added) {
        query.addBindValue(added.key());
        query.addBindValue(added.value());
        if (!query.exec()) {
            return failure(i18n("Adding a snapshot"), query.lastError());
        }
    }

    if (auto counted = addToPackUsage(addedByPack); !counted) {
        return counted.error();
    }

    QSqlQuery fileQuery(m_database);
    fileQuery.prepare(
        QStringLiteral("INSERT INTO files (snapshot_id, ordinal, path, mode, size, chunk_list, chunk_sizes, chunk_runs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    for (qsizetype ordinal = 0; ordinal < files.size(); ++ordinal) {
        const FileEntry &file = files.at(ordinal);
        if (!ChunkList::isWellFormed(file.chunkList)) {
            return Error{i18n("Internal error: a chunk of %1 has a malformed id.", file.path)};
        }
        fileQuery.bindValue(0, id);
        fileQuery.bindValue(1, ordinal);
        fileQuery.bindValue(2, file.path);
        fileQuery.bindValue(3, file.mode);
        fileQuery.bindValue(4, file.size);
        fileQuery.bindValue(5, file.chunkList.isNull() ? QByteArray("") : file.chunkList); // a null QByteArray binds NULL
        const bool sized = file.storedSizes.size() == ChunkList::count(file.chunkList);
        fileQuery.bindValue(6, sized ? chunkSizes(file.storedSizes) : QByteArray());
        fileQuery.bindValue(7, sized && !file.runs.isEmpty() ? file.runs : QByteArray("")); // a null QByteArray binds NULL
        if (!fileQuery.exec()) {
            return failure(i18n("Adding a file"), fileQuery.lastError());
        }
    }

    if (auto claimed = claimUnusedChunks(id, files); !claimed) {
        return claimed.error();
    }

    if (beforeCommit) {
        beforeCommit();
    }
    if (!transaction->commit(query)) {
        return failure(i18n("Committing a snapshot"), query.lastError());
    }
    return id;
}

Result<QList<SnapshotInfo>> SnapshotCatalog::list(const QString &sessionId) const
{
    QSqlQuery query(m_database);
    QString sql = QStringLiteral("SELECT ") + snapshotColumns + QStringLiteral(" FROM snapshots s");
    if (!sessionId.isEmpty()) {
        sql += QStringLiteral(" WHERE s.session_id = ?");
    }
    sql += QStringLiteral(" ORDER BY s.created_at DESC, s.id DESC");
    query.prepare(sql);
    if (!sessionId.isEmpty()) {
        query.addBindValue(sessionId);
    }
    if (!query.exec()) {
        return failure(i18n("Listing snapshots"), query.lastError());
    }
    QList<SnapshotInfo> snapshots;
    while (query.next()) {
        snapshots.append(snapshotFromRow(query));
    }
    return snapshots;
}

Result<std::optional<qint64>> SnapshotCatalog::newestSnapshotId(const QString &sessionId) const
{
    QSqlQuery query(m_database);
    query.prepare(QStringLiteral("SELECT id FROM snapshots WHERE session_id = ? ORDER BY created_at DESC, id DESC LIMIT 1"));
    query.addBindValue(sessionId);
    if (!query.exec()) {
        return failure(i18n("Listing snapshots"), query.lastError());
    }
    if (!query.next()) {
        return std::optional<qint64>();
    }
    return std::optional<qint64>(query.value(0).toLongLong());
}

Result<std::optional<SnapshotInfo>> SnapshotCatalog::snapshot(qint64 id) const
{
    QSqlQuery query(m_database);
    query.prepare(QStringLiteral("SELECT ") + snapshotColumns + QStringLiteral(" FROM snapshots s WHERE s.id = ?"));
    query.addBindValue(id);
    if (!query.exec()) {
        return failure(i18n("Reading a snapshot"), query.lastError());
    }
    if (!query.next()) {
        return std::optional<SnapshotInfo>();
    }
    return std::optional<SnapshotInfo>(snapshotFromRow(query));
}

Result<bool> SnapshotCatalog::setLabel(qint64 id, const QString &label)
{
    QSqlQuery query(m_database);
    query.prepare(QStringLiteral("UPDATE snapshots SET label = ? WHERE id = ?"));
    query.addBindValue(label.isNull() ? QStringLiteral("") : label);
    query.addBindValue(id);
    if (!query.exec()) {
        return failure(i18n("Changing a label"), query.lastError());
    }
    return query.numRowsAffected() > 0;
}

Result<bool> SnapshotCatalog::setPinned(qint64 id, bool pinned)
{
    QSqlQuery query(m_database);
    query.prepare(QStringLiteral("UPDATE snapshots SET pinned = ? WHERE id = ?"));
    query.addBindValue(pinned ? 1 : 0);
    query.addBindValue(id);
    if (!query.exec()) {
        return failure(i18n("Pinning a snapshot"), query.lastError());
    }
    return query.numRowsAffected() > 0;
}

template<typename FirstUse>
Result<void> SnapshotCatalog::findOldestUsers(ChunkIdMap<FirstUse> &chunks, const QString &where, const QVariantList &values) const
{
    qsizetype unclaimed = 0;
    for (const auto &entry : chunks.entries()) {
        unclaimed += entry.value.snapshot < 0 ? 1 : 0;
    }
    if (unclaimed == 0) {
        return {};
    }
    // Pruning the oldest snapshot, the next one claims most chunks; the few
    // left (mostly garbage) are sought through every other list. A filter
    // of those left skips nearly every entry without a search: it is made
    // again each time half of those in it were claimed.
    ChunkIdFilter leftToClaim;
    bool filtering = false;
    qsizetype inFilter = qsizetype(chunks.entries().size());
    return forEachChunkList(where, values, [&](const ChunkListRow &row) {
        if (unclaimed * 2 <= inFilter) {
            leftToClaim.clear();
            for (const auto &entry : chunks.entries()) {
                if (entry.value.snapshot < 0) {
                    leftToClaim.add(entry.id.data());
                }
            }
            inFilter = unclaimed;
            filtering = true;
        }
        for (qsizetype i = 0; i < ChunkList::count(row.list) && unclaimed > 0; ++i) {
            const char *binaryId = ChunkList::viewAt(row.list, i).constData();
            if (filtering && !leftToClaim.mayContain(binaryId)) {
                continue;
            }
            // By snapshot id: the first to use it is the oldest.
            FirstUse *use = chunks.find(binaryId);
            if (use && use->snapshot < 0) {
                use->snapshot = row.snapshot;
                --unclaimed;
            }
        }
    });
}

Result<bool> SnapshotCatalog::remove(qint64 id)
{
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    auto fail = [this](const QSqlError &sqlError) {
        return failure(i18n("Removing a snapshot"), sqlError);
    };
    // Chunks this snapshot added first now belong to the oldest other
    // snapshot that uses them; the rest become garbage (first_snapshot
    // NULL), which removeUnreferencedChunks() removes.
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT id, stored_bytes FROM chunks WHERE first_snapshot = ?"));
    query.addBindValue(id);
    if (!query.exec()) {
        return fail(query.lastError());
    }
    struct FirstUse {
        qint64 snapshot = -1; ///< the oldest other snapshot to use it, or -1
        qint64 storedBytes = 0;
    };
    ChunkIdMap<FirstUse> addedFirst;
    while (query.next()) {
        if (const auto binary = ChunkList::binaryId(query.value(0).toString().toLatin1())) {
            addedFirst.insert(*binary, FirstUse{-1, query.value(1).toLongLong()});
        }
    }
    query.finish();
    addedFirst.sort();
    if (auto found = findOldestUsers(addedFirst, QStringLiteral(" AND f.snapshot_id != ?"), {id}); !found) {
        return found.error();
    }
    // Each chunk's new first snapshot (-1: none, garbage now) and the bytes that moves.
    QMap<qint64, QList<QByteArray>> newFirst; // snapshot or -1 → hex ids
    QMap<qint64, qint64> newFirstBytes;
    for (const auto &entry : addedFirst.entries()) {
        newFirst[entry.value.snapshot].append(ChunkIdMap<FirstUse>::hexId(entry));
        if (entry.value.snapshot >= 0) {
            newFirstBytes[entry.value.snapshot] += entry.value.storedBytes;
        }
    }
    for (auto moved = newFirstBytes.cbegin(); moved != newFirstBytes.cend(); ++moved) {
        query.prepare(QStringLiteral("UPDATE snapshots SET new_bytes = new_bytes + ? WHERE id = ?"));
        query.addBindValue(moved.value());
        query.addBindValue(moved.key());
        if (!query.exec()) {
            return fail(query.lastError());
        }
    }
    // Most chunks usually go one way (to the next snapshot when the oldest
    // is pruned): those are moved by one statement over the index of
    // first_snapshot, the others by id. Moving 120,000 chunks by id took
    // 1.3 s of a 512 MB session's pruning.
    qint64 mostChunksTo = -1;
    for (auto moved = newFirst.cbegin(); moved != newFirst.cend(); ++moved) {
        if (moved->size() > newFirst.value(mostChunksTo).size()) {
            mostChunksTo = moved.key();
        }
    }
    for (auto moved = newFirst.cbegin(); moved != newFirst.cend(); ++moved) {
        if (moved.key() == mostChunksTo) {
            continue;
        }
        if (auto set = setFirstSnapshot(*moved, moved.key()); !set) {
            return set.error();
        }
    }
    query.prepare(QStringLiteral("UPDATE chunks SET first_snapshot = ? WHERE first_snapshot = ?"));
    query.addBindValue(mostChunksTo >= 0 ? QVariant(mostChunksTo) : QVariant(QMetaType::fromType<qlonglong>()));
    query.addBindValue(id);
    if (!query.exec()) {
        return fail(query.lastError());
    }
    query.prepare(QStringLiteral("DELETE FROM snapshots WHERE id = ?"));
    query.addBindValue(id);
    if (!query.exec()) {
        return fail(query.lastError());
    }
    const bool existed = query.numRowsAffected() > 0;
    if (!transaction->commit(query)) {
        return fail(query.lastError());
    }
    return existed;
}

Result<void> SnapshotCatalog::claimUnusedChunks(qint64 snapshotId, const QList<FileEntry> &files)
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT id, stored_bytes FROM chunks WHERE first_snapshot IS NULL"))) {
        return failure(i18n("Adding a snapshot"), query.lastError());
    }
    ChunkIdMap<qint64> unused; // stored bytes; -1 once claimed
    while (query.next()) {
        if (const auto binary = ChunkList::binaryId(query.value(0).toString().toLatin1())) {
            unused.insert(*binary, query.value(1).toLongLong());
        }
    }
    query.finish();
    if (unused.isEmpty()) {
        return {}; // nearly always: garbage is collected right after a deletion
    }
    unused.sort();
    QList<QByteArray> claimed;
    qint64 claimedBytes = 0;
    for (const FileEntry &file : files) {
        for (qsizetype i = 0; i < ChunkList::count(file.chunkList); ++i) {
            const char *binaryId = ChunkList::viewAt(file.chunkList, i).constData();
            qint64 *storedBytes = unused.find(binaryId);
            if (storedBytes && *storedBytes >= 0) {
                claimed.append(ChunkIdMap<qint64>::hexId(*unused.entryOf(binaryId)));
                claimedBytes += std::exchange(*storedBytes, -1);
            }
        }
    }
    if (auto set = setFirstSnapshot(claimed, snapshotId); !set) {
        return set;
    }
    query.prepare(QStringLiteral("UPDATE snapshots SET new_bytes = new_bytes + ? WHERE id = ?"));
    query.addBindValue(claimedBytes);
    query.addBindValue(snapshotId);
    if (!query.exec()) {
        return failure(i18n("Adding a snapshot"), query.lastError());
    }
    return {};
}

Result<void> SnapshotCatalog::setFirstSnapshot(const QList<QByteArray> &hexIds, qint64 snapshot)
{
    auto update = SqliteStatement::prepare(m_database, "UPDATE chunks SET first_snapshot = ? WHERE id = ?");
    if (!update) {
        return update.error();
    }
    for (const QByteArray &hexId : hexIds) {
        if (snapshot >= 0) {
            update->bind(1, snapshot);
        } else {
            update->bindNull(1);
        }
        update->bindText(2, hexId);
        if (const auto error = update->run()) {
            return failure(i18n("Recording which snapshot uses a chunk first"), *error);
        }
    }
    return {};
}

Result<void> SnapshotCatalog::assignFirstUses()
{
    struct FirstUse {
        qint64 snapshot = -1; ///< the oldest snapshot whose lists name it, or -1
        qint64 recorded = -1; ///< first_snapshot, or -1 for NULL
    };
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT id, first_snapshot FROM chunks"))) {
        return failure(i18n("Finding which snapshot uses each chunk first"), query.lastError());
    }
    ChunkIdMap<FirstUse> chunks;
    while (query.next()) {
        if (const auto binary = ChunkList::binaryId(query.value(0).toString().toLatin1())) {
            chunks.insert(*binary, FirstUse{-1, query.isNull(1) ? -1 : query.value(1).toLongLong()});
        }
    }
    query.finish();
    chunks.sort();
    if (auto found = findOldestUsers(chunks, QString(), {}); !found) {
        return found;
    }
    QMap<qint64, QList<QByteArray>> corrected; // snapshot or -1 → hex ids
    for (const auto &entry : chunks.entries()) {
        if (entry.value.snapshot != entry.value.recorded) {
            corrected[entry.value.snapshot].append(ChunkIdMap<FirstUse>::hexId(entry));
        }
    }
    for (auto first = corrected.cbegin(); first != corrected.cend(); ++first) {
        if (auto set = setFirstSnapshot(*first, first.key()); !set) {
            return set;
        }
    }
    return {};
}

Result<void> SnapshotCatalog::forEachChunkList(const QString &where, const QVariantList &values, const std::function<void(const ChunkListRow &)> &visit) const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT f.id, f.snapshot_id, s.owner, s.session_id, f.chunk_list FROM files f JOIN snapshots s ON s.id = f.snapshot_id"
                                 " WHERE length(f.chunk_list) > 0")
                  + where + QStringLiteral(" ORDER BY f.snapshot_id, f.ordinal"));
    for (const QVariant &value : values) {
        query.addBindValue(value);
    }
    if (!query.exec()) {
        return failure(i18n("Reading the chunks of snapshots"), query.lastError());
    }
    while (query.next()) {
        ChunkListRow row{query.value(0).toLongLong(),
                         query.value(1).toLongLong(),
                         query.value(2).toLongLong(),
                         query.value(3).toString(),
                         query.value(4).toByteArray()};
        if (!ChunkList::isWellFormed(row.list)) {
            return damagedChunkList(row.snapshot);
        }
        visit(row);
    }
    return {};
}

Error SnapshotCatalog::damagedChunkList(qint64 snapshotId) const
{
    return Error{i18n("The snapshot catalog %1 is damaged: the list of chunks of a file of snapshot %2 is incomplete. Delete that snapshot.",
                      m_databasePath,
                      snapshotId)};
}

Result<void> SnapshotCatalog::resolveChunks(qint64 snapshotId, qint64 owner, QList<FileEntry> &entries, const QList<FileRow> &rows) const
{
    QList<QPair<qsizetype, QList<QByteArray>>> unplaced; // entries whose runs do not tell, with their hex ids
    QList<QByteArray> distinct;
    QSet<QByteArray> seen;
    for (qsizetype i = 0; i < entries.size(); ++i) {
        const FileRow &row = rows.at(i);
        if (!ChunkList::isWellFormed(row.list)) {
            return damagedChunkList(snapshotId);
        }
        FileEntry &entry = entries[i];
        entry.chunkList = row.list;
        const qsizetype count = ChunkList::count(row.list);
        // The snapshot's chunks are named with its owner's key (a commit checks it).
        const auto places = row.runs.isEmpty() ? std::nullopt : ChunkRuns::places(row.runs, row.sizes);
        if (places && places->size() == count) {
            entry.stored.reserve(count);
            for (qsizetype c = 0; c < count; ++c) {
                ChunkEntry chunk;
                chunk.id = ChunkList::viewAt(row.list, c).toHex();
                chunk.owner = owner;
                chunk.storedBytes = places->at(c).length;
                chunk.rawBytes = -1;
                chunk.pack = places->at(c).pack;
                chunk.packOffset = places->at(c).offset;
                entry.stored.append(chunk);
            }
            continue;
        }
        unplaced.append({i, ChunkList::hexIds(row.list)});
        for (const QByteArray &hexId : std::as_const(unplaced.last().second)) {
            if (!seen.contains(hexId)) {
                seen.insert(hexId);
                distinct.append(hexId);
            }
        }
    }
    if (unplaced.isEmpty()) {
        return {};
    }
    auto known = knownChunks(distinct);
    if (!known) {
        return known.error();
    }
    for (const auto &[i, hexIds] : std::as_const(unplaced)) {
        FileEntry &entry = entries[i];
        entry.stored.reserve(hexIds.size());
        for (const QByteArray &hexId : hexIds) {
            const auto found = known->constFind(hexId);
            if (found == known->cend()) {
                return Error{i18n("The snapshot catalog %1 is damaged: snapshot %2 uses chunk %3, which it does not list. Delete that snapshot.",
                                  m_databasePath,
                                  snapshotId,
                                  QString::fromLatin1(hexId))};
            }
            entry.stored.append(found.value());
        }
    }
    return {};
}

Result<QList<SnapshotCatalog::FileEntry>> SnapshotCatalog::files(qint64 snapshotId) const
{
    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("SELECT f.path, f.mode, f.size, f.chunk_list, f.chunk_sizes, f.chunk_runs, s.owner FROM files f JOIN snapshots s ON s.id = f.snapshot_id"
                       " WHERE f.snapshot_id = ? ORDER BY f.ordinal"));
    query.setForwardOnly(true);
    query.addBindValue(snapshotId);
    if (!query.exec()) {
        return failure(i18n("Reading the files of a snapshot"), query.lastError());
    }
    QList<FileEntry> entries;
    QList<FileRow> rows;
    qint64 owner = -1;
    while (query.next()) {
        FileEntry entry;
        entry.path = query.value(0).toString();
        entry.mode = query.value(1).toUInt();
        entry.size = query.value(2).toLongLong();
        entries.append(entry);
        rows.append({query.value(3).toByteArray(), query.value(4).toByteArray(), query.value(5).toByteArray()});
        owner = query.value(6).toLongLong();
    }
    query.finish();
    if (auto resolved = resolveChunks(snapshotId, owner, entries, rows); !resolved) {
        return resolved.error();
    }
    return entries;
}

Result<std::optional<SnapshotCatalog::FileEntry>> SnapshotCatalog::file(qint64 snapshotId, const QString &path) const
{
    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("SELECT f.mode, f.size, f.chunk_list, f.chunk_sizes, f.chunk_runs, s.owner FROM files f JOIN snapshots s ON s.id = f.snapshot_id"
                       " WHERE f.snapshot_id = ? AND f.path = ?"));
    query.addBindValue(snapshotId);
    query.addBindValue(path);
    if (!query.exec()) {
        return failure(i18n("Reading a file of a snapshot"), query.lastError());
    }
    if (!query.next()) {
        return std::optional<FileEntry>();
    }
    QList<FileEntry> entries(1);
    entries[0].path = path;
    entries[0].mode = query.value(0).toUInt();
    entries[0].size = query.value(1).toLongLong();
    const QList<FileRow> rows{{query.value(2).toByteArray(), query.value(3).toByteArray(), query.value(4).toByteArray()}};
    const qint64 owner = query.value(5).toLongLong();
    query.finish();
    if (auto resolved = resolveChunks(snapshotId, owner, entries, rows); !resolved) {
        return resolved.error();
    }
    return std::optional<FileEntry>(entries.constFirst());
}

std::optional<QSqlError> SnapshotCatalog::recount()
{
    QSqlQuery query(m_database);
    for (const QString &statement : recountStatements + recountPackStatements) {
        if (!query.exec(statement)) {
            return query.lastError();
        }
    }
    return std::nullopt;
}

Result<qint64> SnapshotCatalog::removeUnreferencedChunks()
{
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    auto fail = [this](const QSqlError &sqlError) {
        return failure(i18n("Removing unused chunks"), sqlError);
    };
    // A chunk no snapshot uses has no first snapshot (remove() and the
    // commit that uses it again keep that true): no list is read here.
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("DELETE FROM chunks WHERE first_snapshot IS NULL RETURNING owner, stored_bytes, pack"))) {
        return fail(query.lastError());
    }
    qint64 removed = 0;
    QHash<qint64, qint64> freedByOwner;
    QHash<QByteArray, PackUsage> freedByPack; // negative
    while (query.next()) {
        ++removed;
        const qint64 storedBytes = query.value(1).toLongLong();
        if (!query.isNull(0)) {
            freedByOwner[query.value(0).toLongLong()] += storedBytes;
        }
        if (const QByteArray pack = query.value(2).toString().toLatin1(); !pack.isEmpty()) {
            freedByPack[pack].add(-storedBytes, -1);
        }
    }
    query.finish();
    // What they took is taken off their owners' and packs' totals.
    query.prepare(QStringLiteral("UPDATE owner_usage SET stored_bytes = stored_bytes - ? WHERE owner = ?"));
    for (auto freed = freedByOwner.cbegin(); freed != freedByOwner.cend(); ++freed) {
        query.addBindValue(freed.value());
        query.addBindValue(freed.key());
        if (!query.exec()) {
            return fail(query.lastError());
        }
    }
    if (auto counted = addToPackUsage(freedByPack); !counted) {
        return counted.error();
    }
    if (!transaction->commit(query)) {
        return fail(query.lastError());
    }
    return removed;
}

Result<std::optional<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::chunk(const QByteArray &id) const
{
    if (!m_chunkLookup) {
        m_chunkLookup = std::make_unique<QSqlQuery>(m_database);
        m_chunkLookup->setForwardOnly(true);
        if (!m_chunkLookup->prepare(QStringLiteral("SELECT id, stored_bytes, raw_bytes, pack, pack_offset, owner FROM chunks WHERE id = ?"))) {
            const Error error = failure(i18n("Looking up a chunk"), m_chunkLookup->lastError());
            m_chunkLookup.reset();
            return error;
        }
    }
    QSqlQuery &query = *m_chunkLookup;
    query.bindValue(0, QString::fromLatin1(id));
    if (!query.exec()) {
        return failure(i18n("Looking up a chunk"), query.lastError());
    }
    std::optional<ChunkEntry> found;
    if (query.next()) {
        found = chunkFromRow(query, 0);
    }
    query.finish();
    return found;
}

Result<QHash<QByteArray, SnapshotCatalog::ChunkEntry>> SnapshotCatalog::knownChunks(const QList<QByteArray> &ids) const
{
    // The ids go in as one JSON array a query: binding a value an id cost
    // more than the lookups. Rows come back by the id's position in ids.
    constexpr qsizetype idsPerArray = 4096;
    QHash<QByteArray, ChunkEntry> known;
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.prepare(QStringLiteral("SELECT j.key, c.stored_bytes, c.raw_bytes, c.pack, c.pack_offset, c.owner"
                                      " FROM json_each(?) j JOIN chunks c ON c.id = j.value"))) {
        return failure(i18n("Looking up chunks"), query.lastError());
    }
    QByteArray array;
    QString lastPack;
    QByteArray lastPackName;
    for (qsizetype first = 0; first < ids.size(); first += idsPerArray) {
        const qsizetype count = std::min(idsPerArray, ids.size() - first);
        array.clear();
        array += '[';
        for (qsizetype i = first; i < first + count; ++i) {
            if (!ChunkStore::isValidId(ids.at(i))) {
                return Error{i18n("Internal error: a chunk to look up has a malformed id.")};
            }
            array += i == first ? "\"" : ",\"";
            array += ids.at(i);
            array += '"';
        }
        array += ']';
        query.bindValue(0, QString::fromLatin1(array));
        if (!query.exec()) {
            return failure(i18n("Looking up chunks"), query.lastError());
        }
        while (query.next()) {
            ChunkEntry chunk;
            chunk.id = ids.at(first + query.value(0).toLongLong());
            chunk.storedBytes = query.value(1).toLongLong();
            chunk.rawBytes = query.value(2).toLongLong();
            if (!query.isNull(3)) {
                // Most chunks share a few packs: their names are converted once.
                const QString pack = query.value(3).toString();
                if (pack != lastPack) {
                    lastPack = pack;
                    lastPackName = pack.toLatin1();
                }
                chunk.pack = lastPackName;
                chunk.packOffset = query.value(4).toLongLong();
            }
            chunk.owner = query.isNull(5) ? ChunkKeys::legacyOwner : query.value(5).toLongLong();
            known.insert(chunk.id, chunk);
        }
        query.finish();
    }
    return known;
}

Result<ChunkIdMap<SnapshotCatalog::ListedChunk>> SnapshotCatalog::newestSnapshotChunks(const QString &sessionId, uid_t owner) const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    query.prepare(
        QStringLiteral("SELECT chunk_list, chunk_sizes, chunk_runs FROM files WHERE snapshot_id ="
                       " (SELECT id FROM snapshots WHERE session_id = ? AND owner = ? ORDER BY created_at DESC, id DESC LIMIT 1)"));
    query.addBindValue(sessionId);
    query.addBindValue(qint64(owner));
    if (!query.exec()) {
        return failure(i18n("Reading the chunks of snapshots"), query.lastError());
    }
    ChunkIdMap<ListedChunk> chunks;
    while (query.next()) {
        const QByteArray list = query.value(0).toByteArray();
        const QByteArray stored = query.value(1).toByteArray();
        const qsizetype count = ChunkList::count(list);
        if (!ChunkList::isWellFormed(list) || stored.size() != count * qsizetype(sizeof(quint32))) {
            return ChunkIdMap<ListedChunk>(); // sizes unknown: the chunk index answers
        }
        // A file without runs (its pack was rewritten) leaves its chunks to the chunk index.
        const auto places = ChunkRuns::places(query.value(2).toByteArray(), stored);
        if (!places || places->size() != count) {
            continue;
        }
        for (qsizetype i = 0; i < count; ++i) {
            const ChunkRuns::Place &place = places->at(i);
            chunks.insert(ChunkList::viewAt(list, i), ListedChunk{place.length, place.pack, place.offset});
        }
    }
    chunks.sort();
    return chunks;
}

Result<QList<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::selectChunks(const QString &where, const QVariant &value) const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT id, stored_bytes, raw_bytes, pack, pack_offset, owner FROM chunks") + where
                  + QStringLiteral(" ORDER BY pack, pack_offset, id"));
    if (value.isValid()) {
        query.addBindValue(value);
    }
    if (!query.exec()) {
        return failure(i18n("Listing chunks"), query.lastError());
    }
    QList<ChunkEntry> chunks;
    while (query.next()) {
        chunks.append(chunkFromRow(query, 0));
    }
    return chunks;
}

Result<QList<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::chunks() const
{
    return selectChunks(QString(), QVariant());
}

Result<QList<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::chunksInPack(const QByteArray &pack) const
{
    return selectChunks(QStringLiteral(" WHERE pack = ?"), QString::fromLatin1(pack));
}

Result<QHash<QByteArray, qint64>> SnapshotCatalog::liveBytesByPack() const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT pack, stored_bytes FROM pack_usage"))) {
        return failure(i18n("Listing packs"), query.lastError());
    }
    QHash<QByteArray, qint64> packs;
    while (query.next()) {
        packs.insert(query.value(0).toString().toLatin1(), query.value(1).toLongLong());
    }
    return packs;
}

Result<void> SnapshotCatalog::addToPackUsage(const QHash<QByteArray, PackUsage> &change)
{
    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("INSERT INTO pack_usage (pack, chunks, stored_bytes) VALUES (?, ?, ?)"
                       " ON CONFLICT (pack) DO UPDATE SET chunks = chunks + excluded.chunks, stored_bytes = stored_bytes + excluded.stored_bytes"));
    bool lostChunks = false;
    for (auto pack = change.cbegin(); pack != change.cend(); ++pack) {
        query.addBindValue(QString::fromLatin1(pack.key()));
        query.addBindValue(pack->chunks);
        query.addBindValue(pack->storedBytes);
        if (!query.exec()) {
            return failure(i18n("Counting what a pack holds"), query.lastError());
        }
        lostChunks = lostChunks || pack->chunks < 0;
    }
    // A pack without chunks is garbage: the collector removes packs it does not list.
    if (lostChunks && !query.exec(QStringLiteral("DELETE FROM pack_usage WHERE chunks <= 0"))) {
        return failure(i18n("Counting what a pack holds"), query.lastError());
    }
    return {};
}

Result<QList<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::legacyFileChunks() const
{
    return selectChunks(QStringLiteral(" WHERE pack IS NULL OR pack = ''"), QVariant());
}

Result<void> SnapshotCatalog::moveChunks(const QByteArray &fromPack, const QList<ChunkEntry> &chunks, const std::function<void()> &beforeCommit)
{
    m_lastErrorWasFull = false;
    const std::optional<QByteArray> packName = ChunkList::binaryId(fromPack);
    if (!packName) {
        return Error{i18n("Internal error: a pack to move chunks from has a malformed name.")};
    }
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    QSqlQuery query(m_database);
    // Runs hold a pack's name as 16 bytes: a file whose runs contain them
    // forgets its runs (a match elsewhere in them costs it only its runs).
    query.prepare(QStringLiteral("UPDATE files SET chunk_runs = x'' WHERE instr(chunk_runs, ?) > 0"));
    query.addBindValue(*packName);
    if (!query.exec()) {
        return failure(i18n("Moving chunks to a new pack"), query.lastError());
    }
    query.prepare(QStringLiteral("UPDATE chunks SET pack = ?, pack_offset = ? WHERE id = ?"));
    QHash<QByteArray, PackUsage> moved;
    for (const ChunkEntry &chunk : chunks) {
        query.bindValue(0, QString::fromLatin1(chunk.pack));
        query.bindValue(1, chunk.packOffset);
        query.bindValue(2, QString::fromLatin1(chunk.id));
        if (!query.exec()) {
            return failure(i18n("Moving chunks to a new pack"), query.lastError());
        }
        moved[chunk.pack].add(chunk.storedBytes);
        moved[fromPack].add(-chunk.storedBytes, -1);
    }
    if (auto counted = addToPackUsage(moved); !counted) {
        return counted.error();
    }
    if (beforeCommit) {
        beforeCommit();
    }
    if (!transaction->commit(query)) {
        return failure(i18n("Moving chunks to a new pack"), query.lastError());
    }
    return {};
}

Result<SnapshotCatalog::OwnerUsage> SnapshotCatalog::usage(uid_t owner) const
{
    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("SELECT (SELECT COUNT(*) FROM snapshots WHERE owner = ?), COALESCE((SELECT stored_bytes FROM owner_usage WHERE owner = ?), 0)"));
    query.addBindValue(qint64(owner));
    query.addBindValue(qint64(owner));
    if (!query.exec() || !query.next()) {
        return failure(i18n("Adding up the space snapshots use"), query.lastError());
    }
    return OwnerUsage{query.value(0).toLongLong(), query.value(1).toLongLong()};
}

Result<QList<SessionStorage>> SnapshotCatalog::usageBySession(uid_t owner) const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT session_id, COUNT(*) FROM snapshots WHERE owner = ? GROUP BY session_id ORDER BY session_id"));
    query.addBindValue(qint64(owner));
    if (!query.exec()) {
        return failure(i18n("Adding up the space snapshots use"), query.lastError());
    }
    QList<SessionStorage> sessions;
    while (query.next()) {
        sessions.append({query.value(0).toString(), query.value(1).toLongLong(), 0});
    }
    if (sessions.isEmpty()) {
        return sessions;
    }
    // The owner's chunks (and chunks of no owner yet, before the store gives
    // them one), each counted once a session: the session it was counted for.
    struct Counted {
        qint64 storedBytes = 0;
        qsizetype session = -1;
    };
    ChunkIdMap<Counted> chunks;
    query.prepare(QStringLiteral("SELECT id, stored_bytes FROM chunks WHERE owner = ? OR owner IS NULL"));
    query.addBindValue(qint64(owner));
    if (!query.exec()) {
        return failure(i18n("Adding up the space snapshots use"), query.lastError());
    }
    while (query.next()) {
        if (const auto binary = ChunkList::binaryId(query.value(0).toString().toLatin1())) {
            chunks.insert(*binary, Counted{query.value(1).toLongLong(), -1});
        }
    }
    query.finish();
    chunks.sort();
    QHash<QString, qsizetype> sessionIndex;
    for (qsizetype i = 0; i < sessions.size(); ++i) {
        sessionIndex.insert(sessions.at(i).sessionId, i);
    }
    auto scanned = forEachChunkList(QStringLiteral(" AND s.owner = ?"), {qint64(owner)}, [&](const ChunkListRow &row) {
        const qsizetype session = sessionIndex.value(row.session, -1);
        if (session < 0) {
            return;
        }
        for (qsizetype i = 0; i < ChunkList::count(row.list); ++i) {
            Counted *found = chunks.find(ChunkList::viewAt(row.list, i).constData());
            if (found && found->session != session) {
                found->session = session;
                sessions[session].storedBytes += found->storedBytes;
            }
        }
    });
    if (!scanned) {
        return scanned.error();
    }
    return sessions;
}

Result<QSet<QByteArray>> SnapshotCatalog::legacyChunkIds() const
{
    QSqlQuery query(m_database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT id FROM chunks WHERE owner IS NULL"))) {
        return failure(i18n("Listing the chunks to migrate"), query.lastError());
    }
    QSet<QByteArray> ids; // binary
    while (query.next()) {
        if (const auto binary = ChunkList::binaryId(query.value(0).toString().toLatin1())) {
            ids.insert(*binary);
        }
    }
    return ids;
}

Result<QList<uid_t>> SnapshotCatalog::ownersOfLegacyChunks() const
{
    // Every store is opened through here: without legacy chunks, nothing is read.
    auto legacy = legacyChunkIds();
    if (!legacy) {
        return legacy.error();
    }
    if (legacy->isEmpty()) {
        return QList<uid_t>();
    }
    QSet<uid_t> owners;
    auto scanned = forEachChunkList(QString(), {}, [&](const ChunkListRow &row) {
        for (qsizetype i = 0; i < ChunkList::count(row.list) && !owners.contains(uid_t(row.owner)); ++i) {
            if (legacy->contains(ChunkList::viewAt(row.list, i))) {
                owners.insert(uid_t(row.owner));
            }
        }
    });
    if (!scanned) {
        return scanned.error();
    }
    QList<uid_t> sorted(owners.cbegin(), owners.cend());
    std::sort(sorted.begin(), sorted.end());
    return sorted;
}

Result<QList<SnapshotCatalog::ChunkEntry>> SnapshotCatalog::legacyChunksOf(uid_t owner) const
{
    auto legacy = legacyChunkIds();
    if (!legacy) {
        return legacy.error();
    }
    QSet<QByteArray> used;
    auto scanned = forEachChunkList(QStringLiteral(" AND s.owner = ?"), {qint64(owner)}, [&](const ChunkListRow &row) {
        for (qsizetype i = 0; i < ChunkList::count(row.list); ++i) {
            const QByteArray id = ChunkList::viewAt(row.list, i);
            if (legacy->contains(id) && !used.contains(id)) {
                used.insert(QByteArray(id.constData(), id.size()));
            }
        }
    });
    if (!scanned) {
        return scanned.error();
    }
    auto chunks = selectChunks(QStringLiteral(" WHERE owner IS NULL"), QVariant());
    if (!chunks) {
        return chunks.error();
    }
    QList<ChunkEntry> ownersChunks;
    for (const ChunkEntry &chunk : std::as_const(*chunks)) {
        if (used.contains(ChunkList::binaryId(chunk.id).value_or(QByteArray()))) {
            ownersChunks.append(chunk);
        }
    }
    return ownersChunks;
}

Result<void> SnapshotCatalog::giveChunksTo(uid_t owner, const QList<QPair<QByteArray, ChunkEntry>> &renamed)
{
    m_lastErrorWasFull = false;
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    auto fail = [this](const QSqlError &sqlError) {
        return failure(i18n("Giving the chunks of a store their owners"), sqlError);
    };
    QHash<QByteArray, QByteArray> newIds; // binary old id → binary new id
    for (const auto &[oldId, chunk] : renamed) {
        const auto from = ChunkList::binaryId(oldId);
        const auto to = ChunkList::binaryId(chunk.id);
        if (!from || !to) {
            return Error{i18n("Internal error: a chunk to migrate has a malformed id.")};
        }
        newIds.insert(*from, *to);
    }
    // The owner's files, their lists with the new ids, and the oldest of
    // the owner's snapshots to use each renamed chunk.
    QList<QPair<qint64, QByteArray>> rewritten;
    QHash<QByteArray, qint64> firstUse; // binary old id → snapshot
    auto scanned = forEachChunkList(QStringLiteral(" AND s.owner = ?"), {qint64(owner)}, [&](const ChunkListRow &row) {
        QByteArray list = row.list;
        bool changed = false;
        for (qsizetype i = 0; i < ChunkList::count(list); ++i) {
            const QByteArray id = ChunkList::viewAt(row.list, i);
            if (const auto to = newIds.constFind(id); to != newIds.cend()) {
                if (!firstUse.contains(id)) {
                    firstUse.insert(QByteArray(id.constData(), id.size()), row.snapshot);
                }
                list.replace(i * ChunkList::idBytes, ChunkList::idBytes, to.value());
                changed = true;
            }
        }
        if (changed) {
            rewritten.append({row.file, list});
        }
    });
    if (!scanned) {
        return scanned.error();
    }
    QSqlQuery insert(m_database);
    insert.prepare(
        QStringLiteral("INSERT OR IGNORE INTO chunks (id, stored_bytes, raw_bytes, pack, pack_offset, owner, first_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    for (const auto &[oldId, chunk] : renamed) {
        const qint64 first = firstUse.value(*ChunkList::binaryId(oldId), -1);
        insert.bindValue(0, QString::fromLatin1(chunk.id));
        insert.bindValue(1, chunk.storedBytes);
        insert.bindValue(2, chunk.rawBytes);
        insert.bindValue(3, QString::fromLatin1(chunk.pack));
        insert.bindValue(4, chunk.packOffset);
        insert.bindValue(5, qint64(owner));
        insert.bindValue(6, first < 0 ? QVariant(QMetaType::fromType<qlonglong>()) : QVariant(first));
        if (!insert.exec()) {
            return fail(insert.lastError());
        }
    }
    QSqlQuery update(m_database);
    // The renamed chunks' sizes may differ: the lists' sizes and places are dropped, and the chunk index answers for them.
    update.prepare(QStringLiteral("UPDATE files SET chunk_list = ?, chunk_sizes = x'', chunk_runs = x'' WHERE id = ?"));
    for (const auto &[file, list] : std::as_const(rewritten)) {
        update.bindValue(0, list);
        update.bindValue(1, file);
        if (!update.exec()) {
            return fail(update.lastError());
        }
    }
    // The legacy chunks are no list's any more: garbage, as their first use says now.
    if (auto assigned = assignFirstUses(); !assigned) {
        return assigned;
    }
    if (auto recounted = recount()) {
        return fail(*recounted);
    }
    if (!transaction->commit(update)) {
        return fail(update.lastError());
    }
    return {};
}

Result<QList<qint64>> SnapshotCatalog::snapshotsReferencing(const QList<QByteArray> &chunkIds) const
{
    QSet<QByteArray> wanted;
    for (const QByteArray &hexId : chunkIds) {
        if (const auto binary = ChunkList::binaryId(hexId)) {
            wanted.insert(*binary);
        }
    }
    QSet<qint64> found;
    auto scanned = forEachChunkList(QString(), {}, [&](const ChunkListRow &row) {
        for (qsizetype i = 0; i < ChunkList::count(row.list) && !found.contains(row.snapshot); ++i) {
            if (wanted.contains(ChunkList::viewAt(row.list, i))) {
                found.insert(row.snapshot);
            }
        }
    });
    if (!scanned) {
        return scanned.error();
    }
    QList<qint64> snapshots(found.cbegin(), found.cend());
    std::sort(snapshots.begin(), snapshots.end());
    return snapshots;
}

Result<void> SnapshotCatalog::setScreenText(qint64 id, const QString &text)
{
    auto transaction = begin();
    if (!transaction) {
        return transaction.error();
    }
    QSqlQuery query(m_database);
    query.prepare(QStringLiteral("DELETE FROM screen_text WHERE rowid = ?"));
    query.addBindValue(id);
    bool done = query.exec();
    if (done) {
        // Only for a snapshot that still exists: it may have been deleted meanwhile.
        query.prepare(QStringLiteral("INSERT INTO screen_text (rowid, text) SELECT id, ? FROM snapshots WHERE id = ?"));
        query.addBindValue(text);
        query.addBindValue(id);
        done = query.exec();
    }
    if (!done || !transaction->commit(query)) {
        return failure(i18n("Indexing the text on a snapshot's screen"), query.lastError());
    }
    return {};
}

Result<QList<qint64>> SnapshotCatalog::snapshotsWithoutScreenText(uid_t owner) const
{
    QSqlQuery query(m_database);
    query.prepare(
        QStringLiteral("SELECT s.id FROM snapshots s WHERE s.owner = ? AND NOT EXISTS (SELECT 1 FROM screen_text t WHERE t.rowid = s.id) ORDER BY s.id DESC"));
    query.addBindValue(qint64(owner));
    if (!query.exec()) {
        return failure(i18n("Listing snapshots to index"), query.lastError());
    }
    QList<qint64> ids;
    while (query.next()) {
        ids.append(query.value(0).toLongLong());
    }
    return ids;
}

Result<QList<ScreenTextMatch>> SnapshotCatalog::searchScreenText(const QString &ftsQuery, uid_t owner, int limit) const
{
    QSqlQuery query(m_database);
    // bm25() is smaller for better matches; the snippet marks the words with [ ].
    query.prepare(
        QStringLiteral("SELECT s.id, s.session_id, bm25(screen_text), snippet(screen_text, 0, '[', ']', '…', 12)"
                       " FROM screen_text JOIN snapshots s ON s.id = screen_text.rowid"
                       " WHERE screen_text MATCH ? AND s.owner = ? ORDER BY bm25(screen_text), s.id DESC LIMIT ?"));
    query.addBindValue(ftsQuery);
    query.addBindValue(qint64(owner));
    query.addBindValue(limit);
    if (!query.exec()) {
        return failure(i18n("Searching the text on snapshots' screens"), query.lastError());
    }
    QList<ScreenTextMatch> matches;
    while (query.next()) {
        matches.append(ScreenTextMatch{.snapshot = query.value(0).toLongLong(),
                                       .session = query.value(1).toString(),
                                       .rank = -query.value(2).toDouble(),
                                       .snippet = query.value(3).toString()});
    }
    return matches;
}

} // namespace Rewind
