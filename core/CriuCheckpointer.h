// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CriuWatchdog.h"
#include "Result.h"

#include <QString>
#include <QStringList>
#include <QVariantMap>

#include <sys/types.h>

namespace Rewind
{

/// What to checkpoint and how. The images directory is passed as an open fd
/// so that CRIU never resolves a path Rewind did not open itself.
struct DumpRequest {
    pid_t rootPid = -1; ///< the cell's init, as seen from Rewind's pid namespace
    int imagesDirFd = -1;
    bool leaveRunning = true;
    QString freezeCgroup; ///< cgroup v2 directory CRIU freezes; empty: CRIU uses ptrace
    QStringList externalMounts; ///< see MountTable::externalMountPoints()
    std::chrono::milliseconds timeLimit = CriuWatchdog::defaultLimit; ///< then CRIU is killed
    /// Has the kernel track the pages changed from now on (memoryTracking()).
    bool trackMemory = false;
    /// The images of the previous tracked dump, relative to the images
    /// directory (CRIU links it there as "parent"). With trackMemory the
    /// pages unchanged since are left to it; CRIU reads its inventory and
    /// pagemaps either way, and dumps a process whole whose pid was reused.
    QString parentImages;
};

struct RestoreRequest {
    int imagesDirFd = -1; ///< opened to the cell's root, which reads its images itself
    QStringList externalMounts; ///< as dumped: bound again from the same paths
    QString cgroup; ///< cgroup v2 directory the restored tree starts in; empty: the caller's
    QStringList legacyCgroups; ///< cgroup v1 directories it starts in too (see CellLimits)
    QVariantMap fixups; ///< RestoreFixups::record() at the dump, applied before the tree runs
    std::chrono::milliseconds timeLimit = CriuWatchdog::defaultLimit; ///< then CRIU is killed
};

/// Checkpoints and restores process trees through libcriu (criu swrk).
class CriuCheckpointer
{
public:
    /// Dumps the tree rooted at request.rootPid into the images directory.
    static Result<void> dump(const DumpRequest &request);
    /// Whether a failed dump or restore is CRIU's refusal, with CRIU's own
    /// reasons in the details (rather than a CRIU that was killed or could
    /// not start).
    static bool isRefusal(const Error &error);

    /// Restores a tree from the images directory as a child of the calling
    /// process; returns the pid of its root in the caller's pid namespace.
    /// The tree's root is "/" of the host, its external mounts are bound
    /// again from the same paths.
    static Result<pid_t> restore(const RestoreRequest &request);

    /// Whether CRIU can dump only the pages changed since a previous dump
    /// (criu check --feature mem_dirty_track); an Error says why not. Asked
    /// once per process: kernel and CRIU do not change under it.
    static Result<void> memoryTracking();

    /// The CRIU version libcriu talks to, e.g. 40201 for 4.2.1; an Error if
    /// the criu binary cannot be run.
    static Result<int> version();

    static constexpr int minimumVersion = 40200;

    /// The criu binary, by absolute path (found once, never looked up in
    /// PATH); empty if CRIU is not installed.
    static const QByteArray &binary();

    /// The largest deleted file a process may hold open for a snapshot to
    /// take its content along (CRIU's ghost files; its own default is 1 MiB,
    /// less than desktop apps keep in deleted temporary files).
    static constexpr qint64 ghostFileLimit = 512LL * 1024 * 1024;

    /// Name of CRIU's log in the images directory for each operation.
    static constexpr const char *dumpLogName = "dump.log";
    static constexpr const char *restoreLogName = "restore.log";

private:
    static Result<pid_t> restoreInPrivateMounts(const RestoreRequest &request);
};

} // namespace Rewind
