// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QString>

#include <chrono>

namespace Rewind
{

/// A frozen cell that CRIU can seize: freezes a cgroup with CgroupFreezer,
/// and thaws it when it goes out of scope unless thawed before. A freeze that
/// catches a process waiting in vfork() is undone and tried again
/// (VforkWaits). Measures how long the freeze took to be confirmed and how
/// long the cell stayed frozen.
class FreezeGuard
{
public:
    /// Freezes CGROUPDIR, within TIMEOUT for every attempt together.
    static Result<FreezeGuard> freeze(const QString &cgroupDir, std::chrono::milliseconds timeout = std::chrono::seconds(5));

    ~FreezeGuard();
    FreezeGuard(FreezeGuard &&other) noexcept;
    FreezeGuard &operator=(FreezeGuard &&other) noexcept;
    FreezeGuard(const FreezeGuard &) = delete;
    FreezeGuard &operator=(const FreezeGuard &) = delete;

    /// Thaws now and waits until the cell runs again. If the thaw cannot even
    /// be asked for, the guard still holds the cell and tries again when it
    /// goes away.
    Result<void> thaw(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Whether this guard still holds the cell frozen.
    bool isHeld() const
    {
        return !m_cgroupDir.isEmpty() && !m_thawed;
    }
    QString cgroupDir() const
    {
        return m_cgroupDir;
    }
    /// How many freezes it took: more than one when one caught a vfork() wait.
    int attempts() const
    {
        return m_attempts;
    }
    /// From the (last) freeze request until the kernel confirmed every process stopped.
    std::chrono::microseconds freezeLatency() const;
    /// From the freeze request until the thaw was confirmed (until now while held):
    /// the time the cell's processes could not run.
    std::chrono::microseconds frozenFor() const;

private:
    FreezeGuard() = default;
    void release();

    QString m_cgroupDir;
    bool m_thawed = false;
    int m_attempts = 0;
    std::chrono::steady_clock::time_point m_requested;
    std::chrono::steady_clock::time_point m_confirmed;
    std::chrono::steady_clock::time_point m_thawedAt;
};

} // namespace Rewind
