// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotEngine.h"

#include "BackgroundPriority.h"
#include "CellMemory.h"
#include "Cgroup.h"
#include "CgroupFreezer.h"
#include "CheckpointabilityScan.h"
#include "CriuCheckpointer.h"
#include "CriuImageFiles.h"
#include "CriuStatistics.h"
#include "FileWriting.h"
#include "FreezeGuard.h"
#include "IncrementalDump.h"
#include "MemoryTracking.h"
#include "MountTable.h"
#include "NetlinkBacklog.h"
#include "OutsideSockets.h"
#include "RestoreAccessCheck.h"
#include "RestoreFixups.h"
#include "SessionLimits.h"
#include "SnapshotStore.h"
#include "StagingDirectory.h"
#include "StagingPlacement.h"
#include "VncScreenshot.h"

#include <KLocalizedString>

#include <QBuffer>
#include <QImage>
#include <QJsonArray>

#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace Rewind
{
namespace
{

constexpr auto freezeTimeout = std::chrono::seconds(5);
/// In the metadata of every snapshot of a cell with a user namespace of its own.
const QString userNamespaceKey = QStringLiteral("userNamespace");
const QString restoreFixupsKey = QStringLiteral("restoreFixups");
constexpr auto screenshotTimeout = std::chrono::seconds(5);
/// How long the session's programs get to close connections Rewind made to them (OutsideSockets).
constexpr auto outsideSocketsTimeout = std::chrono::seconds(2);
/// How long a snapshot waits for the session's programs to read netlink
/// messages that came while it was frozen, and how often it dumps again
/// for them (they come in bursts: a new address, then its IPv6 duplicate
/// detection ending).
constexpr auto netlinkBacklogTimeout = std::chrono::seconds(1);
constexpr int netlinkBacklogRetries = 3;
constexpr auto readyTimeout = std::chrono::seconds(30);

void report(const SnapshotEngine::Progress &progress, int percent, Stage stage)
{
    if (progress) {
        progress(percent, stage);
    }
}

/// A snapshot the scan refused: the first problem in the message, every one in the details.
Error scanRefusal(const QString &sessionId, const QList<CheckpointabilityScan::Obstacle> &obstacles)
{
    return Error{i18np("Session %2 cannot be snapshotted because of one problem; it keeps running. %3",
                       "Session %2 cannot be snapshotted because of %1 problems; it keeps running. The first: %3 The details name them all.",
                       obstacles.size(),
                       sessionId,
                       obstacles.value(0).reason),
                 CheckpointabilityScan::describe(obstacles)};
}

Result<void> writePng(int dirFd, const char *name, const QImage &image)
{
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    if (!image.save(&buffer, "PNG")) {
        return Error{i18n("Cannot encode the screenshot.")};
    }
    UniqueFd file(::openat(dirFd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file || !writeAll(file.get(), png.constData(), std::size_t(png.size()))) {
        return Error{i18n("Cannot write the screenshot to the staging directory.")};
    }
    return {};
}

/// Whether the session's user may open everything the snapshot's processes
/// had open outside the cell, as the restore would reopen it.
Result<void> userMayReopenAll(const SnapshotInfo &snapshot, const StagingDirectory &staging)
{
    UniqueFd images(::openat(staging.fd(), "images", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!images) {
        return Error{i18n("Snapshot %1 holds no process images.", QString::number(snapshot.id))};
    }
    auto opened = CriuImageFiles::read(images.get());
    if (!opened) {
        return opened.error();
    }
    const QVariantMap plan = snapshot.metadata.value(QStringLiteral("plan")).toMap();
    const auto uid = uid_t(plan.value(QStringLiteral("uid"), snapshot.metadata.value(QStringLiteral("owner"))).toLongLong());
    const auto gid = gid_t(plan.value(QStringLiteral("gid"), qint64(uid)).toLongLong());
    return RestoreAccessCheck::verify(*opened, uid, gid);
}

QStringList toStringList(const QVariant &value)
{
    return value.toStringList();
}

} // namespace

QString stageName(Stage stage)
{
    switch (stage) {
    case Stage::Scanning:
        return i18nc("@info progress stage", "Scanning");
    case Stage::Freezing:
        return i18nc("@info progress stage", "Freezing");
    case Stage::Dumping:
        return i18nc("@info progress stage", "Dumping");
    case Stage::Thawing:
        return i18nc("@info progress stage", "Thawing");
    case Stage::Storing:
        return i18nc("@info progress stage", "Storing");
    case Stage::Preparing:
        return i18nc("@info progress stage", "Preparing");
    case Stage::Restoring:
        return i18nc("@info progress stage", "Restoring");
    case Stage::Starting:
        return i18nc("@info progress stage", "Starting");
    }
    return {};
}

SnapshotEngine::SnapshotEngine(SessionManager &sessions, SnapshotStore &store)
    : m_sessions(sessions)
    , m_store(store)
{
}

void SnapshotEngine::setCancelCheck(std::function<bool()> cancelled)
{
    m_cancelled = std::move(cancelled);
}

void SnapshotEngine::setCriuTimeLimit(std::chrono::milliseconds limit)
{
    m_criuTimeLimit = limit;
}

void SnapshotEngine::setSnapshotStagingInMemory(qint64 limitBytes)
{
    m_snapshotStagingInMemory = limitBytes;
}

void SnapshotEngine::setWhileFrozen(std::function<void()> action)
{
    m_whileFrozen = std::move(action);
}

bool SnapshotEngine::isCancelled() const
{
    return m_cancelled && m_cancelled();
}

Result<SnapshotInfo> SnapshotEngine::snapshot(const QString &sessionId, const QString &label, SnapshotTrigger trigger, const Progress &progress)
{
    if (!SessionRecord::isValidId(sessionId)) {
        return Error{
            i18n("'%1' is not a session id. Session ids look like demo-4f2a1c9e07d1b35c8a6e2f40; 'rewindctl session list' shows them.", sessionId.left(64))};
    }
    auto lock = m_sessions.lock(sessionId);
    if (!lock) {
        return lock.error();
    }
    return snapshotLocked(*lock, label, trigger, progress);
}

Result<SnapshotInfo> SnapshotEngine::snapshotLocked(const SessionLock &lock, const QString &label, SnapshotTrigger trigger, const Progress &progress)
{
    const QString &sessionId = lock.sessionId();
    auto record = m_sessions.session(sessionId);
    if (!record) {
        return record.error();
    }
    const SessionState state = m_sessions.state(*record);
    if (state != SessionState::Running) {
        return Error{i18n("Session %1 is %2: only a running session can be snapshotted.", sessionId, stateName(state))};
    }

    report(progress, 5, Stage::Scanning);
    // Refused before anything is frozen: a user over the quota loses no time.
    const auto limits = SessionLimits::read();
    if (!limits) {
        return limits.error();
    }
    const StoreQuota quota = limits->storeQuotaFor(record->ownerUid);
    if (auto allowed = m_store.checkQuota(record->ownerUid, quota); !allowed) {
        return allowed.error();
    }
    // A viewer's connection to the display is one CRIU cannot dump; viewers reconnect afterwards.
    if (auto ended = m_sessions.endLiveViews(lock); !ended) {
        return ended.error();
    }
    auto obstacles = CheckpointabilityScan::scan(record->initPid);
    if (!obstacles) {
        return obstacles.error();
    }
    if (!obstacles->isEmpty()) {
        return scanRefusal(sessionId, *obstacles);
    }
    auto mounts = MountTable::read(record->initPid);
    if (!mounts) {
        return mounts.error();
    }
    const QString cgroup = m_sessions.cgroupPath(*record);
    // The picture is taken just before the freeze, so it shows what the snapshot holds.
    auto screenshot = m_sessions.screenshot(*record, screenshotTimeout);
    auto freshStaging = [&] {
        return m_snapshotStagingInMemory > 0 ? StagingDirectory::createInMemory(m_snapshotStagingInMemory, StagingPages::Large)
                                             : stagingFor(CellMemory::residentBytes(cgroup), StagingPages::Large);
    };
    std::optional<StagingDirectory> staging;
    if (auto chosen = freshStaging(); !chosen) {
        return chosen.error();
    } else {
        staging.emplace(std::move(*chosen));
    }
    auto images = staging->makeSubdirectory("images");
    if (!images) {
        return images.error();
    }

    QVariantMap metadata;
    metadata.insert(QStringLiteral("screenshot"), screenshot.ok());
    if (!screenshot) {
        metadata.insert(QStringLiteral("screenshotError"), screenshot.errorMessage());
    }

    // The screenshot's connection, and those of viewers ended above, were
    // accepted in the cell as sockets of Rewind's network namespace, which
    // CRIU cannot dump: the display closes them as soon as it reads their end.
    if (auto closed = OutsideSockets::waitUntilClosed(m_sessions, *record, outsideSocketsTimeout); !closed) {
        return Error{i18n("Session %1 cannot be snapshotted:\n%2", sessionId, closed.errorMessage())};
    }
    if (isCancelled()) {
        return Error{i18n("The snapshot of session %1 was cancelled before the session was frozen; it keeps running.", sessionId)};
    }
    DumpRequest dump;
    dump.rootPid = record->initPid;
    dump.imagesDirFd = images->get();
    dump.leaveRunning = true;
    dump.freezeCgroup = cgroup;
    dump.externalMounts = MountTable::externalMountPoints(*mounts);
    dump.timeLimit = m_criuTimeLimit;
    // Where the kernel tracks the pages programs change, a dump after the
    // session's last tracked one writes only the pages changed since.
    const MemoryTracking tracking(m_sessions.paths().sessionsDirectory());
    dump.trackMemory = CriuCheckpointer::memoryTracking().ok();
    std::optional<TrackedParent> parent;
    if (dump.trackMemory) {
        parent = trackedParent(*record, tracking, *staging);
        dump.parentImages = parent ? QStringLiteral("../parent/images") : QString();
        // This dump resets what the kernel tracked: until it is stored, no snapshot answers for it.
        if (auto forgotten = tracking.forget(sessionId); !forgotten) {
            return forgotten.error();
        }
    }
    auto dumped = dumpFrozen(dump, progress);
    // Once more, into a fresh staging; whole, since the failed dump may have
    // reset what the kernel tracked.
    auto dumpAgainWhole = [&](Result<StagingDirectory> fresh) -> Result<void> {
        if (!fresh) {
            return fresh.error();
        }
        staging.emplace(std::move(*fresh));
        images = staging->makeSubdirectory("images");
        if (!images) {
            return images.error();
        }
        dump.imagesDirFd = images->get();
        dump.parentImages.clear();
        parent.reset();
        dumped = dumpFrozen(dump, progress);
        return {};
    };
    if (!dumped && staging->isFullInMemory()) {
        // The session grew past what was set aside in memory while it was
        // dumped: on disk, rather than fail.
        qWarning("rewind: the snapshot of %s filled its staging in memory; dumping again on disk", qPrintable(sessionId));
        if (auto again = dumpAgainWhole(StagingDirectory::create(m_sessions.paths().stagingDirectory())); !again) {
            return again.error();
        }
        metadata.insert(QStringLiteral("stagingRetriedOnDisk"), true);
    }
    for (int retry = 1; retry <= netlinkBacklogRetries && !dumped && NetlinkBacklog::refusedDump(dumped.error()); ++retry) {
        // A program received a netlink message (an address or neighbour
        // change) while the session was frozen: once it has read it.
        qWarning("rewind: a program of %s had unread netlink messages when the session was frozen; dumping again", qPrintable(sessionId));
        NetlinkBacklog::waitUntilRead(record->initPid, netlinkBacklogTimeout);
        if (auto again = dumpAgainWhole(freshStaging()); !again) {
            return again.error();
        }
        metadata.insert(QStringLiteral("dumpRetriedAfterNetlinkMessages"), retry);
    }
    // A CRIU that was killed or ran out of time refused nothing.
    if (!dumped && !CriuCheckpointer::isRefusal(dumped.error())) {
        return dumped.error().rephrased(i18n("The snapshot of session %1 failed; the session keeps running.\n%2", sessionId, dumped.errorMessage()));
    }
    if (!dumped && parent) {
        // CRIU may have refused what it found of the parent, which the scan does not look at.
        return dumped.error().rephrased(
            i18n("The snapshot of session %1, which was to hold only the pages changed since snapshot %2, failed; the session "
                 "keeps running, and its next snapshot will hold all of its memory.\n%3",
                 sessionId,
                 QString::number(parent->snapshot),
                 dumped.errorMessage()));
    }
    if (!dumped) {
        // The scan found nothing, so it should have named what CRIU refused.
        return dumped.error().rephrased(
            i18n("The snapshot of session %1 failed, although the checkpointability scan found nothing in its way: the scan missed what "
                 "CRIU refused. The session keeps running. Please report this as a bug of Rewind, with the details (CRIU's words).",
                 sessionId));
    }
    PageAssembly assembly;
    if (parent) {
        UniqueFd parentImages(::openat(staging->fd(), "parent/images", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        auto whole = parentImages ? IncrementalDump::makeWhole(images->get(), parentImages.get(), parent->snapshot)
                                  : Result<PageAssembly>(Error{i18n("The parent snapshot's images are gone from the staging directory.")});
        if (!whole) {
            return whole.error().rephrased(i18n("The snapshot of session %1 failed; the session keeps running.\n%2", sessionId, whole.errorMessage()));
        }
        assembly = std::move(*whole);
        if (auto removed = staging->removeSubdirectory("parent"); !removed) {
            return removed.error();
        }
        metadata.insert(QStringLiteral("incrementalOf"), parent->snapshot);
    }
    metadata.insert(QStringLiteral("memoryTracked"), dump.trackMemory);
    metadata.insert(restoreFixupsKey, dumped->restoreFixups);
    // CRIU's log explains failures; a successful snapshot does not need to keep it.
    ::unlinkat(images->get(), CriuCheckpointer::dumpLogName, 0);
    metadata.insert(QStringLiteral("stagingPlace"), staging->place() == StagingPlace::Memory ? QStringLiteral("memory") : QStringLiteral("disk"));
    metadata.insert(QStringLiteral("stagingInMemoryBytes"), staging->bytesInMemory());
    metadata.insert(QStringLiteral("frozenUs"), qint64(dumped->frozenFor.count()));
    if (auto statistics = CriuDumpStatistics::read(images->get())) {
        metadata.insert(QStringLiteral("criu"), statistics->toVariantMap());
    }
    metadata.insert(QStringLiteral("externalMounts"), dump.externalMounts);
    metadata.insert(userNamespaceKey, true);
    metadata.insert(QStringLiteral("spec"), record->specName);
    metadata.insert(QStringLiteral("owner"), qint64(record->ownerUid));
    metadata.insert(QStringLiteral("plan"), record->plan.toVariantMap());

    if (isCancelled()) {
        return Error{i18n("The snapshot of session %1 was cancelled; nothing was stored and the session keeps running.", sessionId)};
    }
    report(progress, 70, Stage::Storing);
    // Encoded after the thaw: the picture is taken as close to the freeze as it can be.
    if (auto written = writePicture(*staging, screenshot); !written) {
        return written.error().rephrased(
            i18n("The snapshot of session %1 could not be stored; the session keeps running.\n%2", sessionId, written.errorMessage()));
    }
    auto committed = [&] {
        // Nobody waits for a scheduled snapshot: its store yields to the
        // desktop. One the user asked for (or a restore or hibernation waits
        // for) is stored at the usual priority: it holds the session and the
        // helper until it is done.
        std::optional<BackgroundPriority> yieldingToTheDesktop;
        if (trigger == SnapshotTrigger::Scheduled) {
            yieldingToTheDesktop.emplace();
        }
        return m_store.commit(sessionId, record->ownerUid, staging->fd(), label, trigger, metadata, quota, assembly);
    }();
    if (!committed) {
        return committed.error().rephrased(
            i18n("The snapshot of session %1 could not be stored; the session keeps running.\n%2", sessionId, committed.errorMessage()));
    }
    if (dump.trackMemory) {
        if (auto remembered = tracking.remember(*record, committed->id, parent); !remembered) {
            // The next snapshot is a full one, which is slower but whole.
            qWarning("rewind: %s", qPrintable(remembered.errorMessage()));
        }
    }
    report(progress, 100, Stage::Storing);
    return committed;
}

std::optional<TrackedParent> SnapshotEngine::trackedParent(const SessionRecord &record, const MemoryTracking &tracking, const StagingDirectory &staging) const
{
    const auto newest = m_store.newestSnapshotId(record.id);
    if (!newest || !newest->has_value()) {
        return std::nullopt;
    }
    const auto parent = tracking.parentFor(record, **newest);
    if (!parent) {
        return std::nullopt;
    }
    auto directory = staging.makeSubdirectory("parent");
    auto materialized =
        directory ? m_store.materialize(parent->snapshot, directory->get(), SnapshotStore::MaterializeScope::MemoryMaps) : Result<void>(directory.error());
    if (!materialized) {
        // A full dump instead, which needs nothing of the parent.
        qWarning("rewind: snapshot %lld cannot be the parent of the next one: %s", qlonglong(parent->snapshot), qPrintable(materialized.errorMessage()));
        if (auto removed = staging.removeSubdirectory("parent"); !removed) {
            qWarning("rewind: %s", qPrintable(removed.errorMessage()));
        }
        return std::nullopt;
    }
    return parent;
}

Result<void> SnapshotEngine::writePicture(const StagingDirectory &staging, const Result<QImage> &screenshot)
{
    if (!screenshot) {
        return {};
    }
    if (auto written = writePng(staging.fd(), "screenshot.png", *screenshot); !written) {
        return written;
    }
    return writePng(staging.fd(), "thumbnail.png", VncScreenshot::thumbnail(*screenshot));
}

Result<SnapshotEngine::FrozenDump> SnapshotEngine::dumpFrozen(const DumpRequest &dump, const Progress &progress)
{
    report(progress, 15, Stage::Freezing);
    auto frozen = FreezeGuard::freeze(dump.freezeCgroup, freezeTimeout);
    if (!frozen) {
        return frozen.error();
    }
    FrozenDump result;
    // What CRIU does not bring back, read while nothing in the cell moves.
    result.restoreFixups = RestoreFixups::record(dump.rootPid);
    if (m_whileFrozen) {
        m_whileFrozen();
    }
    report(progress, 20, Stage::Dumping);
    auto dumped = CriuCheckpointer::dump(dump);
    report(progress, 60, Stage::Thawing);
    if (auto thawed = frozen->thaw(); !thawed) {
        return thawed.error();
    }
    if (!dumped) {
        return dumped.error();
    }
    result.frozenFor = frozen->frozenFor();
    return result;
}

Result<StagingDirectory> SnapshotEngine::stagingFor(qint64 expectedBytes, StagingPages pages) const
{
    const StagingPlacement placement = StagingPlacement::choose(expectedBytes, MemoryInfo::read());
    if (placement.place == StagingPlace::Memory) {
        if (auto inMemory = StagingDirectory::createInMemory(placement.limitBytes, pages)) {
            return inMemory;
        } else {
            qWarning("rewind: staging on disk: %s", qPrintable(inMemory.errorMessage()));
        }
    }
    return StagingDirectory::create(m_sessions.paths().stagingDirectory());
}

Result<StagingDirectory> SnapshotEngine::materialize(qint64 snapshotId)
{
    // In memory where it fits: on disk, 512 MB of fresh images were as slow
    // to write out as CRIU is to read them from memory (about 3.2 s either
    // way here), and their write-back throttles every other writer.
    auto snapshot = m_store.snapshot(snapshotId);
    if (!snapshot) {
        return snapshot.error();
    }
    // The restored processes take the images' memory again while CRIU
    // reads them, 128 MiB ahead of what it has punched out of the staging
    // (auto-dedup; AUTO_DEDUP_OVERHEAD_BYTES in CRIU's restorer).
    constexpr qint64 restoreReadAhead = qint64(128) << 20;
    auto staging = stagingFor(snapshot->logicalBytes + restoreReadAhead, StagingPages::Small);
    if (!staging) {
        return staging.error();
    }
    // Materializing re-hashes every chunk: a damaged snapshot fails here.
    if (auto materialized = m_store.materialize(snapshotId, staging->fd()); !materialized) {
        return materialized.error();
    }
    return staging;
}

Result<SessionRecord> SnapshotEngine::restoreInto(const SnapshotInfo &snapshot,
                                                  const StagingDirectory &staging,
                                                  const SessionLock &lock,
                                                  SessionRecord target,
                                                  const Progress &progress)
{
    UniqueFd images(::openat(staging.fd(), "images", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!images) {
        return Error{i18n("Snapshot %1 holds no process images.", QString::number(snapshot.id))};
    }

    report(progress, 40, Stage::Restoring);
    // The restored tree starts in the cell's cgroups, limited as a started one.
    auto cell = m_sessions.createCell(target);
    if (!cell) {
        return cell.error();
    }
    RestoreRequest request;
    request.imagesDirFd = images.get();
    request.externalMounts = toStringList(snapshot.metadata.value(QStringLiteral("externalMounts")));
    request.cgroup = cell->unified().path();
    request.legacyCgroups = cell->legacy();
    request.timeLimit = m_criuTimeLimit;
    request.fixups = snapshot.metadata.value(restoreFixupsKey).toMap();
    auto restored = CriuCheckpointer::restore(request);
    if (!restored) {
        (void)cell->killAndRemove();
        return restored.error();
    }

    report(progress, 80, Stage::Starting);
    auto adopted = m_sessions.adopt(std::move(target), *restored);
    if (!adopted) {
        // Nothing may run that no record knows of.
        (void)cell->killAndRemove();
        return adopted.error();
    }
    if (auto ready = m_sessions.waitUntilReady(*adopted, readyTimeout); !ready) {
        (void)m_sessions.stop(lock);
        return ready.error();
    }
    report(progress, 100, Stage::Starting);
    return adopted;
}

Result<RestoreOutcome> SnapshotEngine::restore(qint64 snapshotId, RestoreMode mode, const Progress &progress)
{
    auto chosen = m_store.snapshot(snapshotId);
    if (!chosen) {
        return chosen.error();
    }
    // Before cells had user namespaces of their own, CRIU restored as host
    // root: such a snapshot could give the session more than its user has.
    if (!chosen->metadata.value(userNamespaceKey).toBool()) {
        return Error{
            i18n("Snapshot %1 was taken before sessions ran in a user namespace of their own; restoring it could give the session more "
                 "than its user has, so it is not restored. Start the session anew and take a new snapshot.",
                 QString::number(snapshotId))};
    }
    // Every byte is checked before anything changes.
    report(progress, 10, Stage::Preparing);
    auto staging = materialize(snapshotId);
    if (!staging) {
        return Error{i18n("Snapshot %1 cannot be restored: %2\nNothing was changed.", QString::number(snapshotId), staging.errorMessage())};
    }
    if (auto allowed = userMayReopenAll(*chosen, *staging); !allowed) {
        return Error{i18n("Snapshot %1 cannot be restored: %2\nNothing was changed.", QString::number(snapshotId), allowed.errorMessage())};
    }
    if (isCancelled()) {
        return Error{i18n("Restoring snapshot %1 was cancelled; nothing was changed.", QString::number(snapshotId))};
    }

    if (mode == RestoreMode::AsNewSession) {
        SessionRecord branch;
        branch.specName = chosen->metadata.value(QStringLiteral("spec")).toString();
        branch.id = SessionRecord::newId(branch.specName.isEmpty() ? QStringLiteral("branch") : branch.specName);
        branch.ownerUid = uid_t(chosen->metadata.value(QStringLiteral("owner")).toLongLong());
        branch.createdAt = QDateTime::currentDateTimeUtc();
        branch.plan = QJsonObject::fromVariantMap(chosen->metadata.value(QStringLiteral("plan")).toMap());
        auto branchLock = m_sessions.lock(branch.id);
        if (!branchLock) {
            return branchLock.error();
        }
        auto restored = restoreInto(*chosen, *staging, *branchLock, branch, progress);
        if (!restored) {
            return restored.error();
        }
        return RestoreOutcome{*restored, std::nullopt};
    }

    auto lock = m_sessions.lock(chosen->sessionId);
    if (!lock) {
        return lock.error();
    }
    auto current = m_sessions.session(chosen->sessionId);
    SessionRecord target;
    if (current) {
        target = *current;
    } else {
        target.id = chosen->sessionId;
        target.specName = chosen->metadata.value(QStringLiteral("spec")).toString();
        target.ownerUid = uid_t(chosen->metadata.value(QStringLiteral("owner")).toLongLong());
        target.createdAt = QDateTime::currentDateTimeUtc();
        target.plan = QJsonObject::fromVariantMap(chosen->metadata.value(QStringLiteral("plan")).toMap());
    }

    std::optional<SnapshotInfo> before;
    if (current && m_sessions.state(target) == SessionState::Frozen) {
        // Frozen while we hold its lock: left so by a process that died mid-snapshot.
        if (auto thawed = CgroupFreezer::thaw(m_sessions.cgroupPath(target)); !thawed) {
            return Error{i18n("Session %1 is frozen and could not be thawed, so nothing was changed.\n%2", target.id, thawed.errorMessage())};
        }
    }
    if (current && m_sessions.state(target) == SessionState::Running) {
        auto taken = snapshotLocked(*lock, i18n("Before restoring snapshot %1", QString::number(snapshotId)), SnapshotTrigger::BeforeRestore, {});
        if (!taken) {
            return taken.error().rephrased(i18n("Could not save the session before restoring it, so nothing was changed.\n%1", taken.errorMessage()));
        }
        before = *taken;
    }
    if (current) {
        if (auto stopped = m_sessions.stop(*lock); !stopped) {
            if (before) {
                return Error{i18n("Could not stop session %1 to replace it: %2\nWhat ran was saved as snapshot %3; restore it if the session does not work.",
                                  target.id,
                                  stopped.errorMessage(),
                                  QString::number(before->id))};
            }
            return stopped.error();
        }
        target.initPid = -1;
    }

    auto restored = restoreInto(*chosen, *staging, *lock, target, progress);
    if (restored) {
        return RestoreOutcome{*restored, before};
    }
    if (!before) {
        return restored.error();
    }
    auto beforeStaging = materialize(before->id);
    auto rollback = beforeStaging ? restoreInto(*before, *beforeStaging, *lock, target, {}) : Result<SessionRecord>(beforeStaging.error());
    if (!rollback) {
        QStringList details{restored.error().details, rollback.error().details};
        details.removeAll(QString());
        return Error{i18n("Restoring snapshot %1 failed, and so did bringing the session back from snapshot %2, taken just before. "
                          "Restore snapshot %2 by hand.\n%3\n%4",
                          QString::number(snapshotId),
                          QString::number(before->id),
                          restored.errorMessage(),
                          rollback.errorMessage()),
                     details.join(QLatin1Char('\n'))};
    }
    return restored.error().rephrased(
        i18n("Restoring snapshot %1 failed; the session was brought back as it was.\n%2", QString::number(snapshotId), restored.errorMessage()));
}

Result<AutosaveOutcome>
SnapshotEngine::autosave(const QString &sessionId, const AutosaveSchedule &schedule, const RetentionPolicy &policy, const Progress &progress)
{
    if (!SessionRecord::isValidId(sessionId)) {
        return Error{i18n("'%1' is not a session id.", sessionId.left(64))};
    }
    auto snapshots = m_store.list(sessionId);
    if (!snapshots) {
        return snapshots.error();
    }
    // Pruning touches the session owner's snapshots only.
    auto record = m_sessions.session(sessionId);
    if (!record) {
        return record.error();
    }
    snapshots->removeIf([owner = record->ownerUid](const SnapshotInfo &snapshot) {
        return snapshot.owner != owner;
    });
    AutosaveOutcome outcome;
    if (schedule.isDue(*snapshots, QDateTime::currentDateTimeUtc())) {
        auto lock = m_sessions.lock(sessionId);
        if (!lock) {
            return lock.error();
        }
        auto taken = snapshotLocked(*lock, {}, SnapshotTrigger::Scheduled, progress);
        if (!taken) {
            return taken.error();
        }
        outcome.taken = *taken;
        snapshots->prepend(*taken);
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    // Pruning frees the space the pruned snapshots alone used.
    const QList<qint64> pruned = policy.prune(*snapshots, now);
    if (!pruned.isEmpty()) {
        if (auto released = m_store.release(pruned); !released) {
            return released.error();
        }
        outcome.pruned = pruned;
    }
    outcome.nextDue = schedule.nextDue(*snapshots, now);
    return outcome;
}

Result<RestoreOutcome> SnapshotEngine::recover(const QString &sessionId, const Progress &progress)
{
    auto record = m_sessions.session(sessionId);
    if (!record) {
        return record.error();
    }
    const SessionState state = m_sessions.state(*record);
    if (state == SessionState::Running || state == SessionState::Frozen) {
        return Error{i18n("Session %1 is %2; only a session that is no longer running can be recovered.", sessionId, stateName(state))};
    }
    auto snapshots = m_store.list(sessionId);
    if (!snapshots) {
        return snapshots.error();
    }
    // Only the owner's own snapshots bring the session back (newest first).
    snapshots->removeIf([owner = record->ownerUid](const SnapshotInfo &snapshot) {
        return snapshot.owner != owner;
    });
    if (snapshots->isEmpty()) {
        return Error{i18n("Session %1 has no snapshot to recover from. Start a new session instead.", sessionId)};
    }
    return restore(snapshots->first().id, RestoreMode::InPlace, progress);
}

Result<SnapshotInfo> SnapshotEngine::hibernate(const QString &sessionId, const Progress &progress)
{
    if (!SessionRecord::isValidId(sessionId)) {
        return Error{i18n("'%1' is not a session id.", sessionId.left(64))};
    }
    auto lock = m_sessions.lock(sessionId);
    if (!lock) {
        return lock.error();
    }
    auto taken = snapshotLocked(*lock, {}, SnapshotTrigger::Hibernate, progress);
    if (!taken) {
        return taken.error().rephrased(i18n("Session %1 was not hibernated and keeps running.\n%2", sessionId, taken.errorMessage()));
    }
    if (auto stopped = m_sessions.hibernate(*lock); !stopped) {
        return Error{i18n("Session %1 was saved as snapshot %2 but could not be stopped.\n%3", sessionId, QString::number(taken->id), stopped.errorMessage())};
    }
    return *taken;
}

} // namespace Rewind
