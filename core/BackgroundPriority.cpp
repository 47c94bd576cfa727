// SPDX-License-Identifier: GPL-2.0-or-later
#include "BackgroundPriority.h"

#include <QtGlobal>

#include <cerrno>
#include <cstring>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{

namespace
{
// From linux/ioprio.h, which glibc does not wrap.
constexpr int ioprioWhoProcess = 1;
constexpr int ioprioClassShift = 13;
constexpr int ioprioClassNone = 0;
constexpr int ioprioClassIdle = 3;

int ioPriority()
{
    return int(::syscall(SYS_ioprio_get, ioprioWhoProcess, 0));
}

int setIoPriority(int priority)
{
    // Who 0 with IOPRIO_WHO_PROCESS is the calling thread.
    return int(::syscall(SYS_ioprio_set, ioprioWhoProcess, 0, priority));
}
} // namespace

BackgroundPriority::BackgroundPriority()
{
    // sched_* with pid 0 act on the calling thread only.
    sched_param parameter{};
    m_policy = ::sched_getscheduler(0);
    if (m_policy >= 0 && ::sched_getparam(0, &parameter) == 0) {
        m_priority = parameter.sched_priority;
        sched_param idle{};
        if (::sched_setscheduler(0, SCHED_IDLE, &idle) != 0) {
            m_policy = -1;
        }
    }
    m_ioPriority = ioPriority();
    if (m_ioPriority >= 0) {
        setIoPriority(ioprioClassIdle << ioprioClassShift);
    }
}

BackgroundPriority::~BackgroundPriority()
{
    // Whatever this thread starts later (CRIU) inherits its priorities: they must come back.
    if (m_ioPriority >= 0) {
        // A thread that never did I/O reads as class "none" with a level, which
        // ioprio_set refuses; "none" is set with level 0.
        const int priority = (m_ioPriority >> ioprioClassShift) == ioprioClassNone ? 0 : m_ioPriority;
        if (setIoPriority(priority) != 0) {
            qWarning("rewind: could not give the thread back its I/O priority: %s", strerror(errno));
        }
    }
    if (m_policy >= 0) {
        sched_param parameter{};
        parameter.sched_priority = m_priority;
        if (::sched_setscheduler(0, m_policy, &parameter) != 0) {
            qWarning("rewind: could not give the thread back its scheduling policy: %s", strerror(errno));
        }
    }
}

} // namespace Rewind
