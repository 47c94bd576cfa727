// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QString>

namespace Rewind
{

/// Where a staging directory keeps its files.
enum class StagingPlace {
    /// A root-only directory under Rewind's staging area.
    Disk,
    /// A private tmpfs that no path leads to: it exists as long as the
    /// directory's fd and takes memory, not disk writes. CRIU writes a
    /// session's memory into it while the session is frozen, so the frozen
    /// time is bounded by copying memory, not by the file system.
    Memory,
};

/// Which pages a staging directory in memory holds its files in. Measured
/// with 512 MB of memory here (README, Performance), each is faster at one
/// of the two jobs.
enum class StagingPages {
    /// 4 KiB pages: a restore fills its staging from the store in 0.4 s,
    /// against 1.3–1.5 s with huge pages.
    Small,
    /// Huge pages wherever a file covers one (tmpfs `huge=within_size`),
    /// smaller ones where not: CRIU's dump writes the frozen session's
    /// memory in 80–90 ms, against 230 ms in 4 KiB pages and plain criu's
    /// 140–170 ms into ext4's page cache.
    Large,
};

/// A fresh root-only staging directory, removed with everything in it when
/// the object goes away, also on every error path.
/// On disk it is locked (flock) while it exists, so that removeLeftovers()
/// can tell the directory of a process killed mid-snapshot from one in use;
/// in memory nothing outlives the process.
class StagingDirectory
{
public:
    /// A directory on disk under parent.
    static Result<StagingDirectory> create(const QString &parent);
    /// A directory in memory holding at most limitBytes.
    static Result<StagingDirectory> createInMemory(qint64 limitBytes, StagingPages pages);
    /// Removes staging directories nobody holds any more; returns how many.
    static int removeLeftovers(const QString &parent);
    StagingDirectory(StagingDirectory &&other) noexcept;
    StagingDirectory &operator=(StagingDirectory &&) = delete;
    ~StagingDirectory();

    StagingPlace place() const
    {
        return m_place;
    }
    int fd() const
    {
        return m_fd.get();
    }
    /// Memory the files take, for a directory in memory; 0 on disk.
    qint64 bytesInMemory() const;
    /// Whether this is a directory in memory with (next to) no room left:
    /// a dump into it ran out of space.
    bool isFullInMemory() const;
    /// Creates a subdirectory and opens it.
    Result<UniqueFd> makeSubdirectory(const char *name) const;
    /// Removes a subdirectory with everything in it (no link followed).
    Result<void> removeSubdirectory(const char *name) const;

private:
    StagingDirectory() = default;
    StagingPlace m_place = StagingPlace::Disk;
    QString m_path; ///< on disk only
    UniqueFd m_fd;
};

} // namespace Rewind
