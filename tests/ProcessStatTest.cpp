// SPDX-License-Identifier: GPL-2.0-or-later
// The reader of /proc/PID/stat that the scan, the watchdog, the vfork waits
// and the session records share.
#include "ProcessStat.h"

#include <QFile>
#include <QTest>

#include <unistd.h>

using namespace Rewind;

class ProcessStatTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aCommandMayHoldSpacesAndParentheses()
    {
        const QByteArray line =
            "4242 (a) b (c) d) S 17 4242 4240 34817 4243 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 1024 1 "
            "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        const auto stat = ProcessStat::parse(line);
        QVERIFY(stat);
        QCOMPARE(stat->command, QByteArray("a) b (c) d"));
        QCOMPARE(stat->state, 'S');
        QCOMPARE(stat->parent, pid_t(17));
        QCOMPARE(stat->session, pid_t(4240));
        QCOMPARE(stat->terminal, 34817u);
        QCOMPARE(stat->terminalForeground, pid_t(4243));
        QCOMPARE(stat->startTime, 987654ull);
        QVERIFY(!stat->hasEnded());
    }

    void zombiesHaveEnded()
    {
        const auto stat = ProcessStat::parse("9 (gone) Z 1 9 9 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0 18446744073709551615 0 0\n");
        QVERIFY(stat);
        QVERIFY(stat->hasEnded());
    }

    void whatIsNoStatLineIsRefused()
    {
        QVERIFY(!ProcessStat::parse(QByteArray()));
        QVERIFY(!ProcessStat::parse("4242 no parentheses S 1 2 3"));
        QVERIFY(!ProcessStat::parse("4242 )backwards( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"));
        QVERIFY(!ProcessStat::parse("4242 (short) S 1 2 3 4 5")); // cut before the start time
        QVERIFY(!ProcessStat::parse("4242 (two) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"));
        QVERIFY(!ProcessStat::read(0));
        QVERIFY(!ProcessStat::read(-1));
    }

    void thisProcessReadsAsItIs()
    {
        const auto stat = ProcessStat::read(::getpid());
        QVERIFY(stat);
        QCOMPARE(stat->parent, ::getppid());
        QCOMPARE(stat->state, 'R');
        QFile comm(QStringLiteral("/proc/self/comm"));
        QVERIFY(comm.open(QIODevice::ReadOnly));
        QCOMPARE(stat->command, comm.readAll().trimmed());
        QVERIFY(stat->startTime > 0);
        QCOMPARE(ProcessStat::read(::getpid())->startTime, stat->startTime);
    }
};

QTEST_GUILESS_MAIN(ProcessStatTest)
#include "ProcessStatTest.moc"
