// SPDX-License-Identifier: GPL-2.0-or-later
// SessionRecord: which session ids are accepted, that made-up ids are and
// are not guessed, that a new record never replaces one, and that a session
// is known by its boot as well as by its init's pid and start time.
#include "SessionRecord.h"
#include "SessionManager.h"
#include "TestSkip.h"

#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <cstring>
#include <unistd.h>

using namespace Rewind;

class SessionRecordTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void idsAreValidated_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << QStringLiteral("demo-4f2a1c") << true;
        QTest::newRow("one character") << QStringLiteral("a") << true;
        QTest::newRow("digits") << QStringLiteral("0123") << true;
        QTest::newRow("63 characters") << QString(63, QLatin1Char('a')) << true;
        QTest::newRow("64 characters") << QString(64, QLatin1Char('a')) << false;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("upper case") << QStringLiteral("Demo-1") << false;
        QTest::newRow("dot-dot") << QStringLiteral("../x") << false;
        QTest::newRow("slash") << QStringLiteral("a/b") << false;
        QTest::newRow("leading dash") << QStringLiteral("-demo") << false;
        QTest::newRow("trailing newline") << QStringLiteral("demo-1\n") << false;
        QTest::newRow("leading newline") << QStringLiteral("\ndemo-1") << false;
        QTest::newRow("space") << QStringLiteral("demo 1") << false;
    }

    void idsAreValidated()
    {
        QFETCH(QString, id);
        QFETCH(bool, valid);
        QCOMPARE(SessionRecord::isValidId(id), valid);
    }

    void newIdsAreValid_data()
    {
        QTest::addColumn<QString>("specName");
        QTest::addColumn<QString>("prefix");
        QTest::newRow("plain") << QStringLiteral("demo") << QStringLiteral("demo-");
        QTest::newRow("spaces and punctuation") << QStringLiteral("Demo App!") << QStringLiteral("demo-app--");
        QTest::newRow("empty") << QString() << QStringLiteral("session-");
        QTest::newRow("leading punctuation") << QStringLiteral("!x") << QStringLiteral("session-x-");
        QTest::newRow("not ASCII") << QStringLiteral("grüße") << QStringLiteral("gr--e-");
        QTest::newRow("newline") << QStringLiteral("demo\n") << QStringLiteral("demo--");
        QTest::newRow("long") << QString(100, QLatin1Char('x')) << QString(30, QLatin1Char('x')) + QLatin1Char('-');
    }

    void newIdsAreValid()
    {
        QFETCH(QString, specName);
        QFETCH(QString, prefix);
        const QString id = SessionRecord::newId(specName);
        QVERIFY2(SessionRecord::isValidId(id), qPrintable(id));
        QVERIFY2(id.startsWith(prefix), qPrintable(id));
        QVERIFY(SessionRecord::newId(specName) != id);
        // 96 random bits, in 24 hexadecimal digits after the name.
        QVERIFY2(QRegularExpression(QStringLiteral("-[0-9a-f]{24}\\z")).match(id).hasMatch(), qPrintable(id));
        QVERIFY(id.size() <= 55); // a cgroup's and a host name's length allow 64
    }

    void newIdsDoNotRepeat()
    {
        QSet<QString> ids;
        for (int i = 0; i < 10000; ++i) {
            ids.insert(SessionRecord::newId(QStringLiteral("demo")));
        }
        QCOMPARE(ids.size(), 10000);
    }

    void aNewRecordNeverReplacesOne()
    {
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        SessionRecord record;
        record.id = SessionRecord::newId(QStringLiteral("demo"));
        record.specName = QStringLiteral("first");
        QVERIFY(record.create(directory.path()).ok());
        SessionRecord other = record;
        other.specName = QStringLiteral("second");
        const auto again = other.create(directory.path());
        QVERIFY(!again.ok());
        QVERIFY2(again.errorMessage().contains(QString::fromLocal8Bit(std::strerror(EEXIST))), qPrintable(again.errorMessage()));
        QCOMPARE(SessionRecord::load(directory.path(), record.id)->specName, QStringLiteral("first"));
        // Saving an existing session's record replaces it, as before.
        QVERIFY(other.save(directory.path()).ok());
        QCOMPARE(SessionRecord::load(directory.path(), record.id)->specName, QStringLiteral("second"));
    }

    void theBootIsPartOfASessionsIdentity()
    {
        QTemporaryDir state(QStringLiteral("/var/tmp/rewind-record-XXXXXX"));
        QVERIFY(state.isValid());
        SessionManager sessions(
            RewindPaths{.stateDirectory = state.path(), .cgroupParent = state.path() + QStringLiteral("/cgroups"), .libexecDirectory = QString()});
        // This process stands in for a cell's init: its pid and start time match.
        SessionRecord record;
        record.id = QStringLiteral("boot-0a1b2c");
        record.initPid = ::getpid();
        record.initStartTime = processStartTime(::getpid());
        record.bootId = SessionRecord::currentBootId();
        QVERIFY(!record.bootId.isEmpty());
        QCOMPARE(sessions.state(record), SessionState::Running);
        // The same pid and start time in another boot are another process.
        record.bootId = QStringLiteral("00000000-0000-0000-0000-000000000000");
        QCOMPARE(sessions.state(record), SessionState::Crashed);
        // The record keeps it.
        record.bootId = SessionRecord::currentBootId();
        const auto loaded = SessionRecord::fromJson(record.toJson());
        QVERIFY(loaded.ok());
        QCOMPARE(loaded->bootId, record.bootId);
    }
};

REWIND_TEST_GUILESS_MAIN(SessionRecordTest)
#include "SessionRecordTest.moc"
