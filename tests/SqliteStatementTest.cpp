// SPDX-License-Identifier: GPL-2.0-or-later
// SQLite's own API on a QSQLITE connection: rows it inserts are the
// connection's, and its errors keep SQLite's extended code (the catalog
// tells a full disk apart by it).
#include "SqliteStatement.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Rewind;

class SqliteStatementTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void insertsWhatItBindsInTheConnectionsTransaction()
    {
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("rows"));
            database.setDatabaseName(directory.filePath(QStringLiteral("test.sqlite")));
            QVERIFY(database.open());
            QSqlQuery query(database);
            QVERIFY(query.exec(QStringLiteral("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, maybe INTEGER)")));
            QVERIFY(query.exec(QStringLiteral("BEGIN")));
            {
                auto insert = SqliteStatement::prepare(database, "INSERT INTO t (id, n, maybe) VALUES (?, ?, ?)");
                QVERIFY2(insert.ok(), qPrintable(insert.errorMessage()));
                for (qint64 n : {1LL, 1LL << 40, -7LL}) {
                    insert->bindText(1, QByteArray("id") + QByteArray::number(n));
                    insert->bind(2, n);
                    if (n > 0) {
                        insert->bind(3, n * 2);
                    } else {
                        insert->bindNull(3);
                    }
                    QVERIFY(!insert->run());
                }
                // A bound value does not outlive its run: unbound, it is NULL.
                insert->bindText(1, QByteArrayLiteral("unbound"));
                QVERIFY(!insert->run());
            }
            QVERIFY(query.exec(QStringLiteral("SELECT COUNT(*), SUM(n IS NULL AND maybe IS NULL) FROM t WHERE id = 'unbound' OR n = -7")) && query.next());
            QCOMPARE(query.value(0).toInt(), 2);
            QCOMPARE(query.value(1).toInt(), 1);
            QVERIFY(query.exec(QStringLiteral("ROLLBACK")));
            QVERIFY(query.exec(QStringLiteral("SELECT COUNT(*) FROM t")) && query.next());
            QCOMPARE(query.value(0).toInt(), 0);

            auto insert = SqliteStatement::prepare(database, "INSERT INTO t (id, n, maybe) VALUES (?, ?, ?)");
            QVERIFY(insert.ok());
            insert->bindText(1, QByteArrayLiteral("big"));
            insert->bind(2, 1LL << 40);
            insert->bindNull(3);
            QVERIFY(!insert->run());
            QVERIFY(query.exec(QStringLiteral("SELECT n, maybe IS NULL FROM t WHERE id = 'big'")) && query.next());
            QCOMPARE(query.value(0).toLongLong(), 1LL << 40);
            QCOMPARE(query.value(1).toInt(), 1);

            // The same id again: SQLITE_CONSTRAINT_PRIMARYKEY (1555), with SQLite's words.
            insert->bindText(1, QByteArrayLiteral("big"));
            const auto error = insert->run();
            QVERIFY(error);
            QCOMPARE(error->nativeErrorCode(), QStringLiteral("1555"));
            QVERIFY2(error->text().contains(QLatin1String("UNIQUE")), qPrintable(error->text()));
            // And the statement runs again after it.
            insert->bindText(1, QByteArrayLiteral("next"));
            QVERIFY(!insert->run());
        }
        QSqlDatabase::removeDatabase(QStringLiteral("rows"));
    }

    void refusesWhatIsNotAnOpenSqliteConnection()
    {
        {
            QSqlDatabase closed = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("closed"));
            const auto statement = SqliteStatement::prepare(closed, "SELECT 1");
            QVERIFY(!statement);
            QVERIFY2(statement.errorMessage().contains(QLatin1String("not an open SQLite database")), qPrintable(statement.errorMessage()));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("closed"));
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("bad-sql"));
            database.setDatabaseName(QStringLiteral(":memory:"));
            QVERIFY(database.open());
            const auto statement = SqliteStatement::prepare(database, "INSERT INTO missing VALUES (?)");
            QVERIFY(!statement);
            QVERIFY2(statement.errorMessage().contains(QLatin1String("missing")), qPrintable(statement.errorMessage()));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("bad-sql"));
    }
};

QTEST_GUILESS_MAIN(SqliteStatementTest)
#include "SqliteStatementTest.moc"
