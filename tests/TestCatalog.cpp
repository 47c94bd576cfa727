// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestCatalog.h"

#include "ChunkList.h"

#include <QHash>
#include <QList>
#include <QPair>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

using namespace Rewind;

namespace
{

QString revertWith(QSqlDatabase &database, int schemaVersion)
{
    QSqlQuery query(database);
    auto run = [&query](const QString &sql) {
        return query.exec(sql) ? QString() : sql + QStringLiteral(": ") + query.lastError().text();
    };
    QString failed;
    if (schemaVersion < 10 && !(failed = run(QStringLiteral("DROP TABLE pack_usage"))).isEmpty()) {
        return failed;
    }
    if (schemaVersion < 9) {
        for (const QString &sql : {QStringLiteral("DROP TABLE owner_usage"), QStringLiteral("ALTER TABLE snapshots DROP COLUMN new_bytes")}) {
            if (!(failed = run(sql)).isEmpty()) {
                return failed;
            }
        }
    }
    if (schemaVersion < 8 && !(failed = run(QStringLiteral("ALTER TABLE files DROP COLUMN chunk_runs"))).isEmpty()) {
        return failed;
    }
    if (schemaVersion < 7 && !(failed = run(QStringLiteral("ALTER TABLE files DROP COLUMN chunk_sizes"))).isEmpty()) {
        return failed;
    }
    if (schemaVersion < 6) {
        // Schema 6 moved file_chunks' rows into files.chunk_list.
        for (const QString &sql : {QStringLiteral("CREATE TABLE file_chunks (file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
                                                  " seq INTEGER NOT NULL, chunk_id TEXT NOT NULL REFERENCES chunks(id), PRIMARY KEY (file_id, seq))"
                                                  " WITHOUT ROWID"),
                                   QStringLiteral("CREATE INDEX file_chunks_by_chunk ON file_chunks(chunk_id)")}) {
            if (!(failed = run(sql)).isEmpty()) {
                return failed;
            }
        }
        if (!query.exec(QStringLiteral("SELECT id, chunk_list FROM files"))) {
            return query.lastError().text();
        }
        QList<QPair<qint64, QByteArray>> lists;
        while (query.next()) {
            lists.append({query.value(0).toLongLong(), query.value(1).toByteArray()});
        }
        query.finish();
        query.prepare(QStringLiteral("INSERT INTO file_chunks (file_id, seq, chunk_id) VALUES (?, ?, ?)"));
        for (const auto &[file, list] : std::as_const(lists)) {
            const QList<QByteArray> ids = ChunkList::hexIds(list);
            for (qsizetype seq = 0; seq < ids.size(); ++seq) {
                query.bindValue(0, file);
                query.bindValue(1, seq);
                query.bindValue(2, QString::fromLatin1(ids.at(seq)));
                if (!query.exec()) {
                    return query.lastError().text();
                }
            }
        }
        if (!(failed = run(QStringLiteral("ALTER TABLE files DROP COLUMN chunk_list"))).isEmpty()) {
            return failed;
        }
    }
    if (schemaVersion < 5) {
        for (const QString &sql : {QStringLiteral("DROP TRIGGER screen_text_of_deleted_snapshot"), QStringLiteral("DROP TABLE screen_text")}) {
            if (!(failed = run(sql)).isEmpty()) {
                return failed;
            }
        }
    }
    return run(QStringLiteral("DELETE FROM schema_version WHERE version > %1").arg(schemaVersion));
}

/// Where a chunk's first_snapshot is not the oldest snapshot whose lists
/// name it (NULL: none does), worked out here from the lists.
QString firstUseMismatch(QSqlDatabase &database)
{
    QSqlQuery query(database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT snapshot_id, chunk_list FROM files ORDER BY snapshot_id"))) {
        return query.lastError().text();
    }
    QHash<QByteArray, qint64> oldestUse; // hex id → snapshot
    while (query.next()) {
        const qint64 snapshot = query.value(0).toLongLong();
        for (const QByteArray &id : ChunkList::hexIds(query.value(1).toByteArray())) {
            oldestUse.insert(id, std::min(oldestUse.value(id, snapshot), snapshot));
        }
    }
    if (!query.exec(QStringLiteral("SELECT id, first_snapshot FROM chunks"))) {
        return query.lastError().text();
    }
    QString mismatch;
    while (query.next()) {
        const qint64 recorded = query.isNull(1) ? -1 : query.value(1).toLongLong();
        const qint64 oldest = oldestUse.value(query.value(0).toString().toLatin1(), -1);
        if (recorded != oldest) {
            mismatch += QStringLiteral("chunk %1 is first used by snapshot %2, the catalog says %3\n").arg(query.value(0).toString()).arg(oldest).arg(recorded);
        }
    }
    return mismatch;
}

} // namespace

QString revertCatalog(const QString &databasePath, int schemaVersion)
{
    const QString connection = QStringLiteral("revert-catalog");
    QString failed;
    {
        QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        database.setDatabaseName(databasePath);
        if (!database.open()) {
            failed = database.lastError().text();
        } else {
            failed = revertWith(database, schemaVersion);
            database.close();
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return failed;
}

QString catalogTotalsMismatch(const QString &databasePath)
{
    const QString connection = QStringLiteral("catalog-totals");
    QString mismatch;
    {
        QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        database.setDatabaseName(databasePath);
        database.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        if (!database.open()) {
            mismatch = database.lastError().text();
        } else {
            QSqlQuery query(database);
            // Each row: what is kept, what the chunks add up to, and whose.
            const QString owners = QStringLiteral(
                "SELECT 'owner ' || o, kept, summed FROM ("
                " SELECT owner AS o, stored_bytes AS kept, (SELECT COALESCE(SUM(stored_bytes), 0) FROM chunks WHERE owner = u.owner) AS summed"
                " FROM owner_usage u"
                " UNION ALL SELECT owner, 0, SUM(stored_bytes) FROM chunks"
                " WHERE owner IS NOT NULL AND owner NOT IN (SELECT owner FROM owner_usage) GROUP BY owner)");
            const QString snapshots = QStringLiteral(
                "SELECT 'snapshot ' || id, new_bytes, (SELECT COALESCE(SUM(stored_bytes), 0) FROM chunks WHERE first_snapshot = s.id)"
                " FROM snapshots s");
            const QString packs = QStringLiteral(
                "SELECT 'pack ' || p, kept, summed FROM ("
                " SELECT pack AS p, stored_bytes AS kept, (SELECT COALESCE(SUM(stored_bytes), 0) FROM chunks WHERE pack = u.pack) AS summed"
                " FROM pack_usage u"
                " UNION ALL SELECT pack, chunks, COUNT(*) FROM pack_usage u JOIN chunks c USING (pack) GROUP BY pack HAVING COUNT(*) != chunks"
                " UNION ALL SELECT pack, 0, SUM(stored_bytes) FROM chunks"
                " WHERE pack IS NOT NULL AND pack != '' AND pack NOT IN (SELECT pack FROM pack_usage) GROUP BY pack)");
            for (const QString &sql : {owners, snapshots, packs}) {
                if (!query.exec(sql)) {
                    mismatch = query.lastError().text();
                    break;
                }
                while (query.next()) {
                    if (query.value(1).toLongLong() != query.value(2).toLongLong()) {
                        mismatch += QStringLiteral("%1 keeps %2 bytes, its chunks add up to %3\n")
                                        .arg(query.value(0).toString())
                                        .arg(query.value(1).toLongLong())
                                        .arg(query.value(2).toLongLong());
                    }
                }
            }
            if (mismatch.isEmpty()) {
                mismatch = firstUseMismatch(database);
            }
            database.close();
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return mismatch;
}
