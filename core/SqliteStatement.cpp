// SPDX-License-Identifier: GPL-2.0-or-later
#include "SqliteStatement.h"

#include <KLocalizedString>

#include <QSqlDatabase>
#include <QSqlDriver>
#include <QVariant>

#include <sqlite3.h>

#include <utility>

namespace Rewind
{

Result<SqliteStatement> SqliteStatement::prepare(const QSqlDatabase &database, const char *sql)
{
    const QVariant handle = database.driver() ? database.driver()->handle() : QVariant();
    if (!database.isOpen() || !handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0) {
        return Error{i18n("Internal error: the snapshot catalog is not an open SQLite database.")};
    }
    sqlite3 *connection = *static_cast<sqlite3 *const *>(handle.constData());
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v2(connection, sql, -1, &statement, nullptr) != SQLITE_OK) {
        return Error{i18n("Internal error: the snapshot catalog cannot prepare a statement: %1", QString::fromUtf8(sqlite3_errmsg(connection)))};
    }
    return SqliteStatement(connection, statement);
}

SqliteStatement::SqliteStatement(sqlite3 *connection, sqlite3_stmt *statement)
    : m_connection(connection)
    , m_statement(statement)
{
}

SqliteStatement::SqliteStatement(SqliteStatement &&other) noexcept
    : m_connection(other.m_connection)
    , m_statement(std::exchange(other.m_statement, nullptr))
    , m_bindResult(other.m_bindResult)
{
}

SqliteStatement::~SqliteStatement()
{
    sqlite3_finalize(m_statement); // a no-op for nullptr
}

void SqliteStatement::bind(int parameter, qint64 value)
{
    noteBindResult(sqlite3_bind_int64(m_statement, parameter, value));
}

void SqliteStatement::bindText(int parameter, const QByteArray &text)
{
    noteBindResult(sqlite3_bind_text(m_statement, parameter, text.constData(), int(text.size()), SQLITE_TRANSIENT));
}

void SqliteStatement::bindNull(int parameter)
{
    noteBindResult(sqlite3_bind_null(m_statement, parameter));
}

void SqliteStatement::noteBindResult(int result)
{
    if (m_bindResult == SQLITE_OK) {
        m_bindResult = result;
    }
}

std::optional<QSqlError> SqliteStatement::run()
{
    std::optional<QSqlError> error;
    if (m_bindResult != SQLITE_OK) {
        error = QSqlError(QString(), QString::fromUtf8(sqlite3_errstr(m_bindResult)), QSqlError::StatementError, QString::number(m_bindResult));
    } else if (const int result = sqlite3_step(m_statement); result != SQLITE_DONE && result != SQLITE_ROW) {
        error = lastError();
    }
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
    m_bindResult = SQLITE_OK;
    return error;
}

QSqlError SqliteStatement::lastError() const
{
    return QSqlError(QString(),
                     QString::fromUtf8(sqlite3_errmsg(m_connection)),
                     QSqlError::StatementError,
                     QString::number(sqlite3_extended_errcode(m_connection)));
}

} // namespace Rewind
