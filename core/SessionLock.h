// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QString>

namespace Rewind
{

/// Held while a session is snapshotted, restored, started or stopped, so that
/// two processes never work on one cell at once, and so that a cell found
/// frozen can be told apart: frozen under a held lock is a snapshot at work,
/// frozen without one is what a killed process left behind.
/// An flock on sessions/<id>.lock: the kernel drops it when its holder dies.
class SessionLock
{
public:
    /// Fails at once, with a message that says so, when another process holds it.
    static Result<SessionLock> acquire(const QString &sessionsDirectory, const QString &sessionId);

    SessionLock(SessionLock &&) noexcept = default;
    SessionLock &operator=(SessionLock &&) noexcept = default;

    const QString &sessionId() const
    {
        return m_sessionId;
    }

private:
    SessionLock() = default;
    QString m_sessionId;
    UniqueFd m_fd;
};

} // namespace Rewind
