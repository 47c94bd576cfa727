// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace Rewind
{

/// Bounds how long CRIU works: a session's owner controls what CRIU reads
/// (the processes, their files, file systems they hold open) and could make
/// it wait forever, and the helper answers one call at a time. When the time
/// is up, every criu this process started is killed; the call that waited on
/// it then fails, and the caller thaws the session as on any failure.
class CriuWatchdog
{
public:
    explicit CriuWatchdog(std::chrono::milliseconds limit);
    ~CriuWatchdog();
    CriuWatchdog(const CriuWatchdog &) = delete;
    CriuWatchdog &operator=(const CriuWatchdog &) = delete;

    /// Whether the time was up and CRIU was killed.
    bool expired() const;

    /// How long CRIU may take when nobody says otherwise: a large session
    /// on a slow disk takes minutes, a hung CRIU forever.
    static constexpr std::chrono::minutes defaultLimit{10};

private:
    void watch(std::chrono::milliseconds limit);

    mutable std::mutex m_mutex;
    std::condition_variable m_done;
    bool m_finished = false;
    bool m_expired = false;
    std::thread m_thread;
};

} // namespace Rewind
