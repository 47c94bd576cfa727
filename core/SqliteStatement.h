// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QSqlError>

#include <optional>

struct sqlite3;
struct sqlite3_stmt;
class QSqlDatabase;

namespace Rewind
{

/// A statement prepared with SQLite's own API on a QSQLITE connection, for
/// a statement that runs once a chunk: binding QVariants through QSqlQuery
/// costs more than SQLite's work for each row. Qt's SQLite driver uses the
/// system's libsqlite3 on the distributions Rewind targets, the one this
/// links.
class SqliteStatement
{
public:
    /// An Error if the connection is not an open QSQLITE one or sql is not valid.
    static Result<SqliteStatement> prepare(const QSqlDatabase &database, const char *sql);
    ~SqliteStatement();
    SqliteStatement(SqliteStatement &&other) noexcept;
    SqliteStatement &operator=(SqliteStatement &&) = delete;
    SqliteStatement(const SqliteStatement &) = delete;

    /// Parameters count from 1, as in SQL. Text is copied.
    void bind(int parameter, qint64 value);
    void bindText(int parameter, const QByteArray &text);
    void bindNull(int parameter);
    /// Runs the statement (one that returns no rows) with the values bound,
    /// then clears them for the next run. The error carries SQLite's extended code as its native code.
    std::optional<QSqlError> run();

private:
    SqliteStatement(sqlite3 *connection, sqlite3_stmt *statement);
    void noteBindResult(int result);
    QSqlError lastError() const;

    sqlite3 *m_connection = nullptr;
    sqlite3_stmt *m_statement = nullptr;
    int m_bindResult = 0;
};

} // namespace Rewind
