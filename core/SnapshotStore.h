// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "PageAssembly.h"
#include "Result.h"
#include "ScreenTextMatch.h"
#include "SnapshotInfo.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QVariantMap>

#include <chrono>
#include <functional>
#include <memory>

#include <sys/types.h>

namespace Rewind
{

class ChunkStore;
class SnapshotCatalog;

/// What one owner may keep in a store, and the free space the store's file
/// system must keep. 0 means no limit.
struct StoreQuota {
    qint64 bytesPerOwner = 0; ///< stored (compressed) bytes of the owner's chunks
    qint64 snapshotsPerOwner = 0;
    qint64 freeSpaceFloor = 0; ///< bytes that must stay free
};

/// What one owner's snapshots take.
struct StoreUsage {
    qint64 snapshots = 0;
    qint64 storedBytes = 0;
};

/// Where a commit's time went, step by step (for the benchmark and for
/// whoever makes the store faster).
struct CommitTimes {
    std::chrono::nanoseconds naming{0}; ///< opening and cutting the staged files, hashing the pieces
    std::chrono::nanoseconds lookingUp{0}; ///< which pieces the store has already
    std::chrono::nanoseconds encoding{0}; ///< compressing the new ones
    std::chrono::nanoseconds writing{0}; ///< appending them to packs, giving the staging's pages back
    std::chrono::nanoseconds syncing{0}; ///< making the packs durable
    std::chrono::nanoseconds cataloguing{0}; ///< the catalog's transaction
};

/// Where snapshots live: content-addressed, deduplicated, compressed chunks
/// in pack files (ChunkStore) and an SQLite catalog of snapshots, files,
/// chunk references and chunk locations (SnapshotCatalog), in one directory
/// owned by the user. Every snapshot and every chunk belongs to one owner (a
/// uid): chunks are shared between the snapshots of one owner only.
///
/// Locking between processes (flock): garbage collection holds <store>/lock
/// exclusively; commits and readers (materialize, readFile, verify) hold it
/// shared, so a long commit never blocks a restore. Commits also hold
/// <store>/commit.lock exclusively, so they never interleave with each other.
/// Every file is opened relative to directory fds and no symbolic link is
/// ever followed. An instance is not thread-safe; use it from the thread
/// that opened it.
class SnapshotStore
{
public:
    /// Opens or creates the store in `directory` (mode 0700). Refuses a
    /// directory that is a symbolic link or not owned by the current user.
    /// A store written before chunks had owners is migrated first: each
    /// owner's chunks are written again under the owner's ids.
    static Result<std::unique_ptr<SnapshotStore>> open(const QString &directory);
    ~SnapshotStore();
    SnapshotStore(const SnapshotStore &) = delete;
    SnapshotStore &operator=(const SnapshotStore &) = delete;

    /// Stores the tree under stagingDirFd (regular files and directories
    /// only) as a new snapshot of sessionId. Atomic: new chunks go to new
    /// packs, made durable and renamed into place first, then one catalog
    /// transaction adds the snapshot and the chunks' locations; after a crash
    /// or an error the catalog holds either the whole snapshot or nothing.
    /// Fails, storing nothing, where the snapshot would take the owner over
    /// the quota or the file system below its floor. An incremental dump's
    /// memory images are made whole by assembly (IncrementalDump), whose
    /// parent must be the session's newest snapshot.
    Result<SnapshotInfo> commit(const QString &sessionId,
                                uid_t owner,
                                int stagingDirFd,
                                const QString &label,
                                SnapshotTrigger trigger,
                                const QVariantMap &metadata,
                                const StoreQuota &quota = {},
                                const PageAssembly &assembly = {});

    /// The steps of the last commit that stored a snapshot.
    CommitTimes lastCommitTimes() const;

    /// Whether owner may take one more snapshot: an Error says how much the
    /// owner's snapshots use and what to delete. Cheap; runs before a freeze.
    Result<void> checkQuota(uid_t owner, const StoreQuota &quota) const;
    Result<StoreUsage> usage(uid_t owner) const;
    /// What each session's snapshots of owner take (SnapshotCatalog::usageBySession).
    Result<QList<SessionStorage>> usageBySession(uid_t owner) const;

    /// Recreates the snapshot's tree inside targetDirFd (an empty
    /// directory), checking every chunk. Files and directories get their
    /// permission bits back (without set-user-ID/set-group-ID) and belong to
    /// the caller. On an Error the tree is incomplete and the caller removes it.
    /// MemoryMaps recreates only what an incremental dump reads of its
    /// parent: the directories, CRIU's inventory and pagemaps, and the
    /// memory images (images/pages-*.img) empty.
    enum class MaterializeScope {
        Whole,
        MemoryMaps,
    };
    Result<void> materialize(qint64 snapshotId, int targetDirFd, MaterializeScope scope = MaterializeScope::Whole) const;

    /// A whole snapshot in its stored order, for an export: entry() for
    /// each file and directory, then chunk() for each of a file's chunks in
    /// order, with its checked bytes the first time a chunk comes and
    /// without them (nullptr) after, and with the zstd frame the store keeps
    /// them in (empty where zstd did not make them smaller). An Error of a
    /// visitor stops the walk.
    struct Visitor {
        std::function<Result<void>(const QString &path, quint32 mode, qint64 size)> entry;
        std::function<Result<void>(const QByteArray &id, const QByteArray *data, const QByteArray &zstdFrame)> chunk;
    };
    Result<void> walk(qint64 snapshotId, const Visitor &visitor) const;

    /// One file of a snapshot, e.g. "screenshot.png", read whole into
    /// memory (use materialize() for big files).
    Result<QByteArray> readFile(qint64 snapshotId, const QString &relativePath) const;

    /// Snapshots of one session (all sessions if empty), newest first.
    Result<QList<SnapshotInfo>> list(const QString &sessionId = {}) const;
    /// The id of the session's newest snapshot (list(sessionId)'s first); none if it has none.
    Result<std::optional<qint64>> newestSnapshotId(const QString &sessionId) const;
    Result<SnapshotInfo> snapshot(qint64 id) const;
    Result<void> setLabel(qint64 id, const QString &label);
    Result<void> setPinned(qint64 id, bool pinned);

    /// The text read on snapshots' screens (SnapshotCatalog, ScreenTextSearch).
    Result<void> setScreenText(qint64 id, const QString &text);
    Result<QList<qint64>> snapshotsWithoutScreenText(uid_t owner) const;
    Result<QList<ScreenTextMatch>> searchScreenText(const QString &ftsQuery, uid_t owner, int limit) const;

    /// Removes the snapshot from the catalog; its chunks go at the next
    /// collectGarbage().
    Result<void> remove(qint64 id);
    /// Removes the snapshots and frees the space only they used (their
    /// owners' chunks no other snapshot uses), as collectGarbage() does.
    Result<GarbageStats> release(const QList<qint64> &ids);

    /// Removes chunks no snapshot references and leftovers of interrupted
    /// commits: packs without a live chunk are deleted, packs that are more
    /// than half garbage are rewritten with their live chunks only.
    /// Crash-safe: catalog rows first, files after; a rewritten pack is
    /// durable before the catalog points to it, the old one goes after.
    Result<GarbageStats> collectGarbage();

    /// Reads and re-hashes every chunk of the catalog.
    Result<VerifyReport> verify() const;

    QString path() const;

    /// Name of the environment variable a test sets to have commit() kill
    /// its own process at a point: "after-first-chunk", "after-chunks",
    /// "before-catalog", "in-catalog" or "after-catalog", or have
    /// collectGarbage() do so at "gc-after-catalog", "gc-after-repack-write"
    /// (a rewritten pack is in place, the catalog still points to the old one),
    /// "gc-in-repack-catalog" (before the catalog's COMMIT) or
    /// "gc-after-repack-catalog" (the old pack is not yet removed). With ":stop" appended
    /// the process stops (SIGSTOP) there instead.
    static constexpr const char *crashPointVariable = "REWIND_STORE_CRASH_POINT";

private:
    SnapshotStore(const QString &path,
                  UniqueFd directory,
                  UniqueFd lock,
                  UniqueFd commitLock,
                  std::unique_ptr<ChunkStore> chunks,
                  std::unique_ptr<SnapshotCatalog> catalog);
    Error noSuchSnapshot(qint64 id) const;
    Result<void> giveLegacyChunksOwners();
    Result<void> rewriteLegacyChunks(const QList<uid_t> &owners);
    qint64 availableBytes() const;
    Error floorError(const StoreQuota &quota, qint64 writtenBytes) const;

    QString m_path;
    UniqueFd m_directory;
    UniqueFd m_lock;
    UniqueFd m_commitLock;
    CommitTimes m_lastCommitTimes;
    std::unique_ptr<ChunkStore> m_chunks;
    std::unique_ptr<SnapshotCatalog> m_catalog;
};

} // namespace Rewind
