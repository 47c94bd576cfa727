// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "AutosaveSchedule.h"
#include "CriuWatchdog.h"
#include "Result.h"
#include "RetentionPolicy.h"
#include "SessionManager.h"
#include "SnapshotInfo.h"
#include "UniqueFd.h"

#include <QImage>

#include <functional>
#include <optional>

namespace Rewind
{

class MemoryTracking;
struct TrackedParent;
class SnapshotStore;
class StagingDirectory;
enum class StagingPages;
struct DumpRequest;

/// The stages a snapshot or restore goes through, for progress reports.
enum class Stage {
    Scanning,
    Freezing,
    Dumping,
    Thawing,
    Storing,
    Preparing,
    Restoring,
    Starting
};
QString stageName(Stage stage);

enum class RestoreMode {
    InPlace, ///< the snapshot replaces the running session (after a before-restore snapshot)
    AsNewSession, ///< a branch: a new session beside the original
};

struct AutosaveOutcome {
    std::optional<SnapshotInfo> taken; ///< empty when none was due
    QList<qint64> pruned; ///< automatic snapshots the retention policy let go
    QDateTime nextDue;
};

struct RestoreOutcome {
    SessionRecord session;
    std::optional<SnapshotInfo> beforeRestore; ///< taken when a running session was replaced
};

/// Takes snapshots of sessions and brings them back: scan, freeze, CRIU dump,
/// thaw, store; and verify, CRIU restore, adopt.
class SnapshotEngine
{
public:
    using Progress = std::function<void(int percent, Stage stage)>;

    SnapshotEngine(SessionManager &sessions, SnapshotStore &store);

    /// Asked before a session is frozen and before a dump is stored, and
    /// before a restore touches the running session: when it answers true the
    /// operation stops there with an Error and everything stays as it was.
    void setCancelCheck(std::function<bool()> cancelled);
    /// How long CRIU may take for one dump or restore before it is killed.
    void setCriuTimeLimit(std::chrono::milliseconds limit);
    /// Stages every snapshot in memory, in at most LIMITBYTES; 0 (the
    /// default) chooses as the machine's memory allows. For tests of a
    /// session that outgrows its staging.
    void setSnapshotStagingInMemory(qint64 limitBytes);
    /// Runs action each time a session has been frozen for a dump, before
    /// CRIU starts: for tests of what can happen to a frozen session.
    void setWhileFrozen(std::function<void()> action);

    /// Never leaves the session frozen; on failure nothing is added to the store.
    Result<SnapshotInfo> snapshot(const QString &sessionId, const QString &label, SnapshotTrigger trigger, const Progress &progress = {});

    /// Takes a scheduled snapshot if one is due, then prunes the session's
    /// automatic snapshots the policy no longer keeps.
    Result<AutosaveOutcome> autosave(const QString &sessionId, const AutosaveSchedule &schedule, const RetentionPolicy &policy, const Progress &progress = {});

    /// The snapshot is verified completely before the running session is
    /// touched. In place: if the restore fails, the session comes back from
    /// the before-restore snapshot.
    Result<RestoreOutcome> restore(qint64 snapshotId, RestoreMode mode, const Progress &progress = {});

    /// After a crash, a reboot or a hibernation: the latest snapshot of the
    /// session's owner restores in place, under the same session id. Refused
    /// while the session runs or when it has no snapshot.
    Result<RestoreOutcome> recover(const QString &sessionId, const Progress &progress = {});

    /// A snapshot (trigger Hibernate), then the session stops; its state reads
    /// hibernated until recover() wakes it. If the snapshot fails the session keeps running.
    Result<SnapshotInfo> hibernate(const QString &sessionId, const Progress &progress = {});

private:
    /// What freezing the cell and dumping it gave.
    struct FrozenDump {
        std::chrono::microseconds frozenFor{0};
        QVariantMap restoreFixups;
    };
    /// Freezes the cell, dumps it as DUMP says, and thaws it, also when the dump fails.
    Result<FrozenDump> dumpFrozen(const DumpRequest &dump, const Progress &progress);
    /// Puts the screen's pictures (if it was taken) beside the images in staging.
    static Result<void> writePicture(const StagingDirectory &staging, const Result<QImage> &screenshot);
    /// A staging directory in memory where about expectedBytes fit, on disk otherwise.
    Result<StagingDirectory> stagingFor(qint64 expectedBytes, StagingPages pages) const;
    Result<StagingDirectory> materialize(qint64 snapshotId);
    /// The snapshot the session's next dump is tracked against, its
    /// pagemaps put in STAGING's "parent" directory; nothing where the dump
    /// must be a full one.
    std::optional<TrackedParent> trackedParent(const SessionRecord &record, const MemoryTracking &tracking, const StagingDirectory &staging) const;
    Result<SnapshotInfo> snapshotLocked(const SessionLock &lock, const QString &label, SnapshotTrigger trigger, const Progress &progress);
    Result<SessionRecord>
    restoreInto(const SnapshotInfo &snapshot, const StagingDirectory &staging, const SessionLock &lock, SessionRecord target, const Progress &progress);

    bool isCancelled() const;

    SessionManager &m_sessions;
    SnapshotStore &m_store;
    std::function<bool()> m_cancelled;
    std::chrono::milliseconds m_criuTimeLimit = CriuWatchdog::defaultLimit;
    qint64 m_snapshotStagingInMemory = 0;
    std::function<void()> m_whileFrozen;
};

} // namespace Rewind
