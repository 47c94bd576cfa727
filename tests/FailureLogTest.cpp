// SPDX-License-Identifier: GPL-2.0-or-later
// The user's log of failures (FailureLog): entries with time, operation,
// message and details, readable by the user alone, and a size that stays
// bounded while the newest entries stay.
#include "FailureLog.h"
#include "TestSkip.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace Rewind;

class FailureLogTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_state;

    static QString logText()
    {
        QFile log(FailureLog::path());
        return log.open(QIODevice::ReadOnly) ? QString::fromUtf8(log.readAll()) : QString();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_state.isValid());
        qputenv("XDG_STATE_HOME", QFile::encodeName(m_state.path()));
        QCOMPARE(FailureLog::path(), m_state.path() + QStringLiteral("/rewind/rewind.log"));
    }

    void entryHoldsTimeOperationMessageAndDetails()
    {
        const Error failure{QStringLiteral("The snapshot of session demo-1 failed; the session keeps running."),
                            QStringLiteral("(00.061950) Error (criu/sockets.c:767): sockets: BUG! Unknown socket collected (family 40)")};
        const auto appended = FailureLog::append(QStringLiteral("snapshot"), failure);
        QVERIFY2(appended.ok(), qPrintable(appended.errorMessage()));
        const QString text = logText();
        static const QRegularExpression entry(
            QStringLiteral("\\A\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\S* snapshot: The snapshot of session demo-1 failed; the session keeps running.\n"
                           "\\(00.061950\\) Error \\(criu/sockets.c:767\\): sockets: BUG! Unknown socket collected \\(family 40\\)\n\n\\z"));
        QVERIFY2(entry.match(text).hasMatch(), qPrintable(text));
        QCOMPARE(QFile(FailureLog::path()).permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther), QFile::Permissions());
    }

    void sizeStaysBoundedAndTheNewestStays()
    {
        const QString lines = QStringLiteral("(00.1) Error (criu/x.c:1): %1\n").arg(QString(200, QLatin1Char('x'))).repeated(20);
        for (int i = 0; i < 400; ++i) {
            QVERIFY(FailureLog::append(QStringLiteral("restore"), Error{QStringLiteral("failure %1").arg(i), lines}).ok());
            QVERIFY2(QFile(FailureLog::path()).size() <= FailureLog::maximumSize + 8 * 1024, qPrintable(QString::number(i)));
        }
        const QString text = logText();
        QVERIFY(text.contains(QLatin1String("restore: failure 399\n")));
        QVERIFY(!text.contains(QLatin1String("restore: failure 0\n")));
        QVERIFY(!text.contains(QLatin1String("demo-1"))); // the first entry went first
        // What is left starts at an entry.
        QVERIFY2(QRegularExpression(QStringLiteral("\\A\\d{4}-\\d\\d-\\d\\dT")).match(text).hasMatch(), qPrintable(text.left(200)));
    }
};

REWIND_TEST_GUILESS_MAIN(FailureLogTest)
#include "FailureLogTest.moc"
