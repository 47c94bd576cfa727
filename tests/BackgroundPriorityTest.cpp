// SPDX-License-Identifier: GPL-2.0-or-later
// Storing runs at idle CPU and I/O priority, and the thread gets its own back.
#include "BackgroundPriority.h"

#include <QTest>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
int ioPriorityClass()
{
    return int(::syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0)) >> 13;
}
} // namespace

class BackgroundPriorityTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void idleWhileItLivesThenAsBefore()
    {
        const int policyBefore = ::sched_getscheduler(0);
        const int ioClassBefore = ioPriorityClass();
        QVERIFY(policyBefore != SCHED_IDLE);
        {
            const BackgroundPriority background;
            QCOMPARE(::sched_getscheduler(0), SCHED_IDLE);
            QCOMPARE(ioPriorityClass(), 3 /* IOPRIO_CLASS_IDLE */);
        }
        QCOMPARE(::sched_getscheduler(0), policyBefore);
        QCOMPARE(ioPriorityClass(), ioClassBefore);
    }
};

QTEST_GUILESS_MAIN(BackgroundPriorityTest)
#include "BackgroundPriorityTest.moc"
