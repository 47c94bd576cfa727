// SPDX-License-Identifier: GPL-2.0-or-later
// SessionRecord: which session ids are accepted, and that made-up ids are.
#include "SessionRecord.h"
#include "TestSkip.h"

#include <QTest>

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
        QTest::newRow("48 characters") << QString(48, QLatin1Char('a')) << true;
        QTest::newRow("49 characters") << QString(49, QLatin1Char('a')) << false;
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
        QTest::newRow("long") << QString(100, QLatin1Char('x')) << QString(40, QLatin1Char('x')) + QLatin1Char('-');
    }

    void newIdsAreValid()
    {
        QFETCH(QString, specName);
        QFETCH(QString, prefix);
        const QString id = SessionRecord::newId(specName);
        QVERIFY2(SessionRecord::isValidId(id), qPrintable(id));
        QVERIFY2(id.startsWith(prefix), qPrintable(id));
        QVERIFY(SessionRecord::newId(specName) != id);
    }
};

REWIND_TEST_GUILESS_MAIN(SessionRecordTest)
#include "SessionRecordTest.moc"
