// SPDX-License-Identifier: GPL-2.0-or-later
#include "EngineBackend.h"

#include "SnapshotTransfer.h"

#include "SessionLimits.h"

#include "HelperProtocol.h"
#include "PrivateHandOff.h"

#include "CheckpointabilityScan.h"
#include "JsonViews.h"
#include "SessionLimits.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "SnapshotTransfer.h"
#include "StagingDirectory.h"
#include "VncScreenshot.h"

#include <KLocalizedString>

#include <QLocale>
#include <QTextStream>

#include <unistd.h>

using namespace Rewind;

namespace
{
SnapshotEngine::Progress engineProgress(const CommandBackend::Progress &progress)
{
    return [progress](int percent, Stage stage) {
        if (progress) {
            progress(percent, stageName(stage));
        }
    };
}
} // namespace

Result<std::unique_ptr<EngineBackend>> EngineBackend::open()
{
    const RewindPaths paths = RewindPaths::system();
    // A cell left frozen by a process that died mid-snapshot is thawed first.
    const QStringList thawed = SessionManager(paths).thawAbandoned();
    for (const QString &name : thawed) {
        QTextStream(stderr) << i18n("Session %1 had been left frozen; it runs again.", name) << Qt::endl;
    }
    // So is what a killed snapshot left in the staging area.
    StagingDirectory::removeLeftovers(paths.stagingDirectory());
    auto store = SnapshotStore::open(paths.storeDirectory());
    if (!store) {
        return store.error();
    }
    std::unique_ptr<EngineBackend> backend(new EngineBackend);
    backend->m_store = std::move(*store);
    backend->m_sessions = std::make_unique<SessionManager>(paths);
    backend->m_engine = std::make_unique<SnapshotEngine>(*backend->m_sessions, *backend->m_store);
    return backend;
}

EngineBackend::~EngineBackend() = default;

Result<QJsonValue> EngineBackend::startSession(const QString &specName)
{
    auto spec = SessionSpec::named(specName);
    if (!spec) {
        return spec.error();
    }
    auto record = m_sessions->start(*spec, ::getuid());
    if (!record) {
        return record.error();
    }
    return QJsonValue(JsonViews::session(*record, SessionState::Running));
}

Result<QJsonValue> EngineBackend::stopSession(const QString &session)
{
    if (auto stopped = m_sessions->stop(session); !stopped) {
        return stopped.error();
    }
    return QJsonValue(QJsonObject{{QStringLiteral("stopped"), session}});
}

Result<QJsonValue> EngineBackend::listSessions()
{
    QJsonArray list;
    const auto sessions = m_sessions->sessions();
    for (const SessionRecord &record : sessions) {
        list.append(JsonViews::session(record, m_sessions->state(record)));
    }
    return QJsonValue(list);
}

Result<QJsonValue> EngineBackend::scan(const QString &session)
{
    auto record = m_sessions->session(session);
    if (!record) {
        return record.error();
    }
    if (m_sessions->state(*record) != SessionState::Running) {
        return Error{i18n("Session %1 is not running.", session)};
    }
    auto obstacles = m_sessions->scan(*record);
    if (!obstacles) {
        return obstacles.error();
    }
    return QJsonValue(JsonViews::obstacles(*obstacles));
}

Result<QJsonValue> EngineBackend::processes(const QString &session)
{
    auto processes = m_sessions->processes(session);
    if (!processes) {
        return processes.error();
    }
    return QJsonValue(JsonViews::processes(*processes));
}

Result<QJsonValue> EngineBackend::screenshot(const QString &session, const QString &output)
{
    auto record = m_sessions->session(session);
    if (!record) {
        return record.error();
    }
    auto image = m_sessions->screenshot(*record, std::chrono::seconds(5));
    if (!image) {
        return image.error();
    }
    if (!image->save(output, "PNG")) {
        return Error{i18n("Cannot write %1.", output)};
    }
    return QJsonValue(QJsonObject{{QStringLiteral("screenshot"), output}});
}

Result<QJsonValue> EngineBackend::liveView(const QString &session)
{
    auto record = m_sessions->session(session);
    if (!record) {
        return record.error();
    }
    // The relay runs as the session's owner, so its socket is in the owner's
    // directory, as when the owner asks the helper; root reaches it there.
    const gid_t gid = PrivateHandOff::groupOf(record->ownerUid);
    auto directory = PrivateHandOff::directory(record->ownerUid, gid);
    if (!directory) {
        return directory.error();
    }
    const QString name = HelperProtocol::liveViewSocketName(session);
    if (auto opened = m_sessions->openLiveView(session, gid, directory->get(), name); !opened) {
        return opened.error();
    }
    return QJsonValue(QJsonObject{{QStringLiteral("session"), session}, {QStringLiteral("socket"), PrivateHandOff::path(record->ownerUid, name)}});
}

Result<QJsonValue> EngineBackend::recover(const QString &session, const Progress &progress)
{
    auto outcome = m_engine->recover(session, engineProgress(progress));
    if (!outcome) {
        return outcome.error();
    }
    return QJsonValue(JsonViews::session(outcome->session, m_sessions->state(outcome->session)));
}

Result<QJsonValue> EngineBackend::hibernate(const QString &session, const Progress &progress)
{
    auto info = m_engine->hibernate(session, engineProgress(progress));
    if (!info) {
        return info.error();
    }
    return QJsonValue(JsonViews::snapshot(*info));
}

Result<QJsonValue> EngineBackend::listSpecs()
{
    return QJsonValue(JsonViews::specs(SessionSpec::installed(), QLocale::system().name()));
}

Result<QJsonValue> EngineBackend::snapshot(const QString &session, const QString &label, const Progress &progress)
{
    auto info = m_engine->snapshot(session, label, SnapshotTrigger::Manual, engineProgress(progress));
    if (!info) {
        return info.error();
    }
    return QJsonValue(JsonViews::snapshot(*info));
}

Result<QJsonValue> EngineBackend::listSnapshots(const QString &session)
{
    auto snapshots = m_store->list(session);
    if (!snapshots) {
        return snapshots.error();
    }
    QJsonArray list;
    for (const SnapshotInfo &info : *snapshots) {
        list.append(JsonViews::snapshot(info));
    }
    return QJsonValue(list);
}

Result<QJsonValue> EngineBackend::restore(qint64 snapshot, bool asNew, const Progress &progress)
{
    auto outcome = m_engine->restore(snapshot, asNew ? RestoreMode::AsNewSession : RestoreMode::InPlace, engineProgress(progress));
    if (!outcome) {
        return outcome.error();
    }
    return QJsonValue(
        JsonViews::restored(outcome->session, outcome->beforeRestore ? std::optional<qint64>(outcome->beforeRestore->id) : std::optional<qint64>()));
}

Result<QJsonValue> EngineBackend::remove(qint64 snapshot)
{
    auto released = m_store->release({snapshot});
    if (!released) {
        return released.error();
    }
    return QJsonValue(QJsonObject{{QStringLiteral("deleted"), snapshot}, {QStringLiteral("bytesFreed"), released->bytesFreed}});
}

Result<QJsonValue> EngineBackend::setLabel(qint64 snapshot, const QString &label)
{
    if (auto changed = m_store->setLabel(snapshot, label); !changed) {
        return changed.error();
    }
    auto info = m_store->snapshot(snapshot);
    return info ? Result<QJsonValue>(QJsonValue(JsonViews::snapshot(*info))) : Result<QJsonValue>(info.error());
}

Result<QJsonValue> EngineBackend::setPinned(qint64 snapshot, bool pinned)
{
    if (auto changed = m_store->setPinned(snapshot, pinned); !changed) {
        return changed.error();
    }
    auto info = m_store->snapshot(snapshot);
    return info ? Result<QJsonValue>(QJsonValue(JsonViews::snapshot(*info))) : Result<QJsonValue>(info.error());
}

Result<QJsonValue> EngineBackend::autosave(const QString &session, const Progress &progress)
{
    auto outcome = m_engine->autosave(session, AutosaveSchedule(), RetentionPolicy(), engineProgress(progress));
    if (!outcome) {
        return outcome.error();
    }
    return QJsonValue(JsonViews::autosaved(*outcome));
}

Result<QJsonValue> EngineBackend::verify()
{
    auto report = m_store->verify();
    if (!report) {
        return report.error();
    }
    return QJsonValue(JsonViews::verified(*report));
}

Result<QJsonValue> EngineBackend::collectGarbage()
{
    auto stats = m_store->collectGarbage();
    if (!stats) {
        return stats.error();
    }
    return QJsonValue(JsonViews::collected(*stats));
}

Result<QJsonValue> EngineBackend::exportSnapshot(qint64 snapshot, int fd)
{
    auto exported = SnapshotTransfer::exportSnapshot(*m_store, snapshot, fd);
    if (!exported) {
        return exported.error();
    }
    return QJsonValue(
        QJsonObject{{QStringLiteral("snapshot"), snapshot}, {QStringLiteral("bytes"), exported->bytes}, {QStringLiteral("chunks"), exported->chunks}});
}

Result<QJsonValue> EngineBackend::importSnapshot(int fd)
{
    const auto limits = SessionLimits::read();
    if (!limits) {
        return limits.error();
    }
    auto imported = SnapshotTransfer::importSnapshot(*m_store, m_sessions->paths().stagingDirectory(), fd, ::getuid(), limits->storeQuotaFor(::getuid()));
    if (!imported) {
        return imported.error();
    }
    return QJsonValue(JsonViews::snapshot(*imported));
}
