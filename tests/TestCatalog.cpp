// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestCatalog.h"

#include "ChunkList.h"

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
