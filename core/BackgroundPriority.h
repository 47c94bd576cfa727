// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

namespace Rewind
{

/// Runs the calling thread at idle CPU and I/O priority for as long as it
/// lives, then gives it back the priorities it had: work that can wait
/// (storing a snapshot once the session runs again) yields to the desktop.
class BackgroundPriority
{
public:
    BackgroundPriority();
    ~BackgroundPriority();
    BackgroundPriority(const BackgroundPriority &) = delete;
    BackgroundPriority &operator=(const BackgroundPriority &) = delete;

private:
    int m_policy = -1;
    int m_priority = 0;
    int m_ioPriority = -1;
};

} // namespace Rewind
