// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QString>
#include <QStringList>

#include <chrono>

namespace Rewind
{

/// The cgroup v2 freezer of a cell: stops every process of the cgroup and
/// waits for the kernel to confirm it ("frozen 1" in cgroup.events), which
/// the kernel announces to poll() as it happens. Prefer FreezeGuard, which
/// cannot forget to thaw.
class CgroupFreezer
{
public:
    /// Freezes the cgroup and waits for the confirmation. On timeout the
    /// cgroup is thawed again and an Error returned.
    static Result<void> freeze(const QString &cgroupDir, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Thaws the cgroup and waits until the kernel says it runs again. The
    /// thaw is asked for first, also when waiting for it then fails.
    static Result<void> thaw(const QString &cgroupDir, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Asks for the cgroup to be thawed (cgroup.freeze = 0) without waiting.
    static Result<void> requestThaw(const QString &cgroupDir);
    /// Waits until the kernel says the cgroup runs again.
    static Result<void> waitUntilThawed(const QString &cgroupDir, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Whether the kernel reports the cgroup frozen (every process stopped).
    static Result<bool> isFrozen(const QString &cgroupDir);
    /// Whether a freeze is asked for (cgroup.freeze is 1), confirmed or not.
    static Result<bool> isFreezeRequested(const QString &cgroupDir);

    /// Thaws every cell cgroup directly under PARENT that is left frozen,
    /// e.g. because whoever froze it was killed, and returns their names.
    /// Meant for start-up.
    static QStringList thawLeftovers(const QString &parent);
};

} // namespace Rewind
