// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "StagingDirectory.h"

#include <QString>

#include <optional>

namespace Rewind
{

/// What the machine's memory allows, from /proc/meminfo: available is also
/// no more than what this process's memory cgroup may still take.
struct MemoryInfo {
    qint64 totalBytes = 0;
    qint64 availableBytes = 0;
    static std::optional<MemoryInfo> read();
};

/// Where to stage about expectedBytes of images, and how much a staging
/// directory in memory may hold. Memory only where it leaves the machine
/// an eighth of its memory (at least 256 MiB) besides a quarter more than
/// expected, so a snapshot never pushes the desktop into swap or the OOM killer.
struct StagingPlacement {
    StagingPlace place = StagingPlace::Disk;
    qint64 limitBytes = 0; ///< for StagingPlace::Memory
    static StagingPlacement choose(qint64 expectedBytes, const std::optional<MemoryInfo> &memory);
};

} // namespace Rewind
