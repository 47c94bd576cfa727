// SPDX-License-Identifier: GPL-2.0-or-later
// What a session writes, read as root from outside its cell: a 10 GB log
// costs its last bytes only, a link is not followed, a FIFO does not block,
// and a session that never comes up is reported with the end of its log.
#include "TestSkip.h"

#include "CellFile.h"
#include "SessionManager.h"
#include "TestCell.h"

#include <QFile>
#include <QTest>

#include <sys/resource.h>

using namespace Rewind;

namespace
{

/// The largest resident set this process has had, in KiB.
long peakResidentKib()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/// A cell whose /tmp holds a 10 GB sparse log that ends in "last words", a
/// link to a file of root's and a FIFO, made by the cell itself.
TestCell cellWithFiles(QString *error)
{
    return TestCell::start({QStringLiteral("/bin/sh"),
                            QStringLiteral("-c"),
                            QStringLiteral("truncate -s 10G /tmp/session.log && printf 'last words' >> /tmp/session.log"
                                           " && ln -s /etc/shadow /tmp/link && mkfifo /tmp/fifo && touch /tmp/ready && exec sleep 600")},
                           error);
}

} // namespace

class CellFileTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
    }

    void hugeLogCostsItsTailOnly()
    {
        QString error;
        TestCell cell = cellWithFiles(&error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(QFile::exists(SessionManager::cellPath(cell.pid(), QStringLiteral("/tmp/ready"))));
        QCOMPARE(QFileInfo(SessionManager::cellPath(cell.pid(), QStringLiteral("/tmp/session.log"))).size(), 10LL * 1024 * 1024 * 1024 + 10);

        const long before = peakResidentKib();
        const auto tail = CellFile::readTail(cell.pid(), "/tmp/session.log", 2000);
        QVERIFY2(tail.ok(), qPrintable(tail.errorMessage()));
        QCOMPARE(tail->size(), 2000);
        QVERIFY(tail->endsWith("last words"));
        QVERIFY2(peakResidentKib() - before < 16 * 1024, qPrintable(QString::number(peakResidentKib() - before)));
    }

    void linksAreNotFollowedAndFifosDoNotBlock()
    {
        QString error;
        TestCell cell = cellWithFiles(&error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(QFile::exists(SessionManager::cellPath(cell.pid(), QStringLiteral("/tmp/ready"))));
        const auto link = CellFile::readTail(cell.pid(), "/tmp/link", 2000);
        QVERIFY(!link.ok());
        QVERIFY2(link.errorMessage().contains(QLatin1String("/tmp/link")), qPrintable(link.errorMessage()));
        const auto fifo = CellFile::readTail(cell.pid(), "/tmp/fifo", 2000);
        QVERIFY(!fifo.ok());
        QVERIFY2(fifo.errorMessage().contains(QLatin1String("not a regular file")), qPrintable(fifo.errorMessage()));
    }

    void sessionThatNeverComesUpIsReportedWithItsLogsEnd()
    {
        QString error;
        TestCell cell = cellWithFiles(&error);
        QVERIFY2(cell.valid(), qPrintable(error));
        QTRY_VERIFY(QFile::exists(SessionManager::cellPath(cell.pid(), QStringLiteral("/tmp/ready"))));
        SessionRecord record;
        record.id = QStringLiteral("silent-0a1b2c");
        record.initPid = cell.pid();
        record.initStartTime = processStartTime(cell.pid());
        record.bootId = SessionRecord::currentBootId();
        SessionManager sessions(RewindPaths::system());
        const auto ready = sessions.waitUntilReady(record, std::chrono::milliseconds(200));
        QVERIFY(!ready.ok());
        QVERIFY2(ready.errorMessage().endsWith(QLatin1String("last words")), qPrintable(ready.errorMessage().right(200)));
        QVERIFY(ready.errorMessage().size() < 3000);
    }
};

REWIND_TEST_GUILESS_MAIN(CellFileTest)
#include "CellFileTest.moc"
