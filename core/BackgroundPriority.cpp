// SPDX-License-Identifier: GPL-2.0-or-later
#include "BackgroundPriority.h"

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
constexpr int ioprioClassIdle = 3;

int ioPriority()
{
    return int(::syscall(SYS_ioprio_get, ioprioWhoProcess, 0));
}

void setIoPriority(int priority)
{
    // Who 0 with IOPRIO_WHO_PROCESS is the calling thread.
    ::syscall(SYS_ioprio_set, ioprioWhoProcess, 0, priority);
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
    if (m_ioPriority >= 0) {
        setIoPriority(m_ioPriority);
    }
    if (m_policy >= 0) {
        sched_param parameter{};
        parameter.sched_priority = m_priority;
        ::sched_setscheduler(0, m_policy, &parameter);
    }
}

} // namespace Rewind
