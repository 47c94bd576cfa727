// SPDX-License-Identifier: GPL-2.0-or-later
#include "FreezeGuard.h"
#include "CgroupFreezer.h"
#include "VforkWaits.h"

#include <KLocalizedString>

#include <QDebug>

#include <algorithm>
#include <utility>

namespace Rewind
{

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::steady_clock;

Result<FreezeGuard> FreezeGuard::freeze(const QString &cgroupDir, std::chrono::milliseconds timeout)
{
    const auto deadline = steady_clock::now() + timeout;
    for (int attempt = 1;; ++attempt) {
        FreezeGuard guard;
        guard.m_attempts = attempt;
        guard.m_requested = steady_clock::now();
        const auto left = std::max(duration_cast<std::chrono::milliseconds>(deadline - guard.m_requested), std::chrono::milliseconds(1));
        if (auto frozen = CgroupFreezer::freeze(cgroupDir, left); !frozen) {
            return frozen.error();
        }
        guard.m_confirmed = steady_clock::now();
        guard.m_cgroupDir = cgroupDir;

        // A parent caught waiting for its vfork() child could not be seized:
        // let the child exec, and freeze again.
        auto waiting = VforkWaits::inCgroup(cgroupDir);
        if (!waiting) {
            return waiting.error();
        }
        if (waiting->isEmpty()) {
            return guard;
        }
        if (auto thawed = guard.thaw(); !thawed) {
            return thawed.error();
        }
        if (!VforkWaits::waitUntilMovedOn(*waiting, deadline) || steady_clock::now() >= deadline) {
            const VforkWaits::Wait &first = waiting->constFirst();
            return Error{
                i18n("Process %1 (%2) in control group %3 kept waiting for a program it starts, for longer than %4 ms. "
                     "A process in that wait cannot be saved. The session runs on; try again in a moment.",
                     first.parent,
                     first.command,
                     cgroupDir,
                     qint64(timeout.count()))};
        }
    }
}

FreezeGuard::~FreezeGuard()
{
    release();
}

FreezeGuard::FreezeGuard(FreezeGuard &&other) noexcept
    : m_cgroupDir(std::exchange(other.m_cgroupDir, QString()))
    , m_thawed(std::exchange(other.m_thawed, false))
    , m_attempts(other.m_attempts)
    , m_requested(other.m_requested)
    , m_confirmed(other.m_confirmed)
    , m_thawedAt(other.m_thawedAt)
{
}

FreezeGuard &FreezeGuard::operator=(FreezeGuard &&other) noexcept
{
    if (this != &other) {
        release();
        m_cgroupDir = std::exchange(other.m_cgroupDir, QString());
        m_thawed = std::exchange(other.m_thawed, false);
        m_attempts = other.m_attempts;
        m_requested = other.m_requested;
        m_confirmed = other.m_confirmed;
        m_thawedAt = other.m_thawedAt;
    }
    return *this;
}

void FreezeGuard::release()
{
    if (!isHeld()) {
        return;
    }
    if (const auto thawed = thaw(); !thawed) {
        qWarning() << "Could not thaw" << m_cgroupDir << "when done with it:" << thawed.errorMessage();
    }
}

Result<void> FreezeGuard::thaw(std::chrono::milliseconds timeout)
{
    if (!isHeld()) {
        return {};
    }
    // Until the thaw is asked for, the guard still holds the freeze and
    // tries again when it goes away.
    if (auto requested = CgroupFreezer::requestThaw(m_cgroupDir); !requested) {
        return requested;
    }
    m_thawed = true;
    const auto thawed = CgroupFreezer::waitUntilThawed(m_cgroupDir, timeout);
    m_thawedAt = steady_clock::now();
    return thawed;
}

microseconds FreezeGuard::freezeLatency() const
{
    return duration_cast<microseconds>(m_confirmed - m_requested);
}

microseconds FreezeGuard::frozenFor() const
{
    if (m_cgroupDir.isEmpty()) {
        return microseconds(0);
    }
    const auto end = m_thawed ? m_thawedAt : steady_clock::now();
    return duration_cast<microseconds>(end - m_requested);
}

} // namespace Rewind
