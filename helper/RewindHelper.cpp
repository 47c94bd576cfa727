// SPDX-License-Identifier: GPL-2.0-or-later
#include "RewindHelper.h"

#include "AutosaveSchedule.h"
#include "CallerLanguage.h"
#include "PrivateHandOff.h"
#include "RetentionPolicy.h"

#include "CheckpointabilityScan.h"
#include "CriuCheckpointer.h"
#include "HelperProtocol.h"
#include "JsonViews.h"
#include "LiveViewRelay.h"
#include "ScreenTextSearch.h"
#include "SessionLimits.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "SnapshotTransfer.h"
#include "StagingDirectory.h"

#include <KLocalizedString>

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <csignal>

using namespace Rewind;
using KAuth::ActionReply;

namespace
{

/// What each action takes: required and optional argument keys.
struct ActionArguments {
    const QString &action;
    int required;
    int optional;
};

const ActionArguments actionArguments[] = {
    {HelperProtocol::listSessions, 0, 0},
    {HelperProtocol::listSnapshots, 0, HelperArguments::Session},
    {HelperProtocol::startSession, HelperArguments::Spec, 0},
    {HelperProtocol::stopSession, HelperArguments::Session, 0},
    {HelperProtocol::scan, HelperArguments::Session, 0},
    {HelperProtocol::snapshot, HelperArguments::Session, HelperArguments::Label},
    {HelperProtocol::restore, HelperArguments::Snapshot, HelperArguments::Mode},
    {HelperProtocol::remove, HelperArguments::Snapshot, 0},
    {HelperProtocol::setLabel, HelperArguments::Snapshot | HelperArguments::Label, 0},
    {HelperProtocol::setPinned, HelperArguments::Snapshot | HelperArguments::Pinned, 0},
    {HelperProtocol::storage, 0, 0},
    {HelperProtocol::thumbnail, HelperArguments::Snapshot, 0},
    {HelperProtocol::liveView, HelperArguments::Session, 0},
    {HelperProtocol::search, HelperArguments::Query, 0},
    {HelperProtocol::autosave, HelperArguments::Session, HelperArguments::AutosaveSettings},
    {HelperProtocol::verify, 0, 0},
    {HelperProtocol::collectGarbage, 0, 0},
    {HelperProtocol::exportSnapshot, HelperArguments::Snapshot | HelperArguments::Stream, 0},
    {HelperProtocol::importSnapshot, HelperArguments::Stream, 0},
    {HelperProtocol::listSpecs, 0, 0},
    {HelperProtocol::recover, HelperArguments::Session, 0},
    {HelperProtocol::hibernate, HelperArguments::Session, 0},
};

/// What `administer` may do for an administrator, and the action that does it.
const QList<std::pair<QString, QString>> administeredOperations = {
    {QStringLiteral("listsessions"), HelperProtocol::listSessions},
    {QStringLiteral("listsnapshots"), HelperProtocol::listSnapshots},
    {QStringLiteral("stop"), HelperProtocol::stopSession},
    {QStringLiteral("scan"), HelperProtocol::scan},
    {QStringLiteral("snapshot"), HelperProtocol::snapshot},
    {QStringLiteral("restore"), HelperProtocol::restore},
    {QStringLiteral("delete"), HelperProtocol::remove},
    {QStringLiteral("setlabel"), HelperProtocol::setLabel},
    {QStringLiteral("setpinned"), HelperProtocol::setPinned},
    {QStringLiteral("recover"), HelperProtocol::recover},
    {QStringLiteral("hibernate"), HelperProtocol::hibernate},
};

ActionReply failure(int code, const QString &message)
{
    ActionReply reply = code == HelperProtocol::InvalidArguments ? ActionReply::HelperErrorReply() : ActionReply::HelperErrorReply(code);
    reply.setErrorDescription(message);
    return reply;
}

/// Where an answer waits inside the helper until handedOver() takes it out of the reply.
const QString answerKey = QStringLiteral("answer");
/// Where a failure's details wait inside the helper until handedOver() takes them out of the reply.
const QString detailsKey = QStringLiteral("details");

ActionReply failure(const Error &error)
{
    ActionReply reply = failure(HelperProtocol::OperationFailed, error.message);
    if (!error.details.isEmpty()) {
        reply.addData(detailsKey, error.details);
    }
    return reply;
}

ActionReply success(const QJsonValue &json)
{
    ActionReply reply = ActionReply::SuccessReply();
    const QJsonDocument document = json.isArray() ? QJsonDocument(json.toArray()) : QJsonDocument(json.toObject());
    reply.addData(answerKey, document.toJson(QJsonDocument::Compact));
    return reply;
}

/// The reply as it goes on the system bus, which broadcasts it to every
/// client: the answer (the JSON, or the whole message of a failure, with its
/// paths, process names, labels and CRIU's words) goes to a file only the
/// caller can read, and the reply only names that file (HelperProtocol::replyKey).
ActionReply handedOver(const ActionReply &reply)
{
    if (reply.type() != ActionReply::SuccessType && reply.type() != ActionReply::HelperErrorType) {
        return reply; // KAuth's own, with nothing of the helper's
    }
    const int uid = KAuth::HelperSupport::callerUid();
    const QByteArray answer = reply.succeeded() ? reply.data().value(answerKey).toByteArray()
                                                : HelperProtocol::failureAnswer(reply.errorDescription(), reply.data().value(detailsKey).toString());
    auto name =
        uid < 0 ? Result<QString>(Error{QStringLiteral("no caller")}) : PrivateHandOff::writeReply(uid_t(uid), PrivateHandOff::groupOf(uid_t(uid)), answer);
    if (!name) {
        // The helper's own log, which only administrators read, keeps the reason.
        qWarning("rewind-helper: the answer for uid %d was not handed over: %s", uid, qPrintable(name.errorMessage()));
        ActionReply refused = reply.succeeded() ? ActionReply::HelperErrorReply(HelperProtocol::OperationFailed) : reply;
        refused.setData({});
        refused.setErrorDescription(reply.succeeded()
                                        ? i18n("The Rewind helper did this, but could not hand its answer over to you. Refresh to see where things stand.")
                                        : i18n("The Rewind helper could not do this, nor hand the details over to you."));
        return refused;
    }
    if (reply.succeeded()) {
        ActionReply named = ActionReply::SuccessReply();
        named.addData(HelperProtocol::replyKey, *name);
        return named;
    }
    // KAuth gives a client a failure's code and description, not its data.
    ActionReply named = reply;
    named.setData({});
    named.setErrorDescription(
        i18n("The Rewind helper could not do this. It handed the details to you in the file %1, which only you can read; Rewind and rewindctl show them.",
             *name));
    return named;
}

uid_t snapshotOwner(const SnapshotInfo &info)
{
    // Snapshots taken by root's rewindctl belong to uid 0.
    return info.owner;
}

// Without arguments, autosave does what the protocol says its defaults are.
static_assert(std::chrono::minutes(HelperProtocol::intervalMinutes.standard) == AutosaveSchedule{}.interval);
static_assert(HelperProtocol::keepLast.standard == RetentionPolicy{}.keepLast);
static_assert(HelperProtocol::keepHourly.standard == RetentionPolicy{}.keepHourly);
static_assert(HelperProtocol::keepDaily.standard == RetentionPolicy{}.keepDaily);

AutosaveSchedule scheduleOf(const HelperArguments &arguments)
{
    AutosaveSchedule schedule;
    schedule.interval = std::chrono::minutes(arguments.intervalMinutes.value_or(HelperProtocol::intervalMinutes.standard));
    return schedule;
}

/// The caller's counts; before-restore snapshots keep the system's.
RetentionPolicy retentionOf(const HelperArguments &arguments)
{
    RetentionPolicy policy;
    policy.keepLast = arguments.keepLast.value_or(policy.keepLast);
    policy.keepHourly = arguments.keepHourly.value_or(policy.keepHourly);
    policy.keepDaily = arguments.keepDaily.value_or(policy.keepDaily);
    return policy;
}

void reportProgress(int percent, Stage stage)
{
    KAuth::HelperSupport::progressStep(percent);
    KAuth::HelperSupport::progressStep(QVariantMap{{HelperProtocol::stageKey, stageName(stage)}});
}

} // namespace

RewindHelper::RewindHelper()
{
    // An export's reader may go away: the write fails with EPIPE, the helper lives on.
    ::signal(SIGPIPE, SIG_IGN);
    // In the build tree (the tests' helper), the catalogs are compiled into <build>/locale beside bin/.
    // KAUTH_HELPER_MAIN makes this object before the application, so the program's path comes from /proc.
    const QString program = QFile::symLinkTarget(QStringLiteral("/proc/self/exe"));
    KLocalizedString::addDomainLocaleDir("rewind", QFileInfo(program).absolutePath() + QStringLiteral("/../locale"));
    const RewindPaths paths = RewindPaths::system();
    // A helper (or rewindctl) killed mid-snapshot leaves the cell frozen and a
    // staging directory behind; cells frozen by a snapshot still at work keep their lock.
    (void)SessionManager(paths).thawAbandoned();
    StagingDirectory::removeLeftovers(paths.stagingDirectory());
    LiveViewRelay::removeEnded(paths);
}

RewindHelper::~RewindHelper() = default;

Result<void> RewindHelper::openEngine()
{
    if (m_engine) {
        return {};
    }
    const RewindPaths paths = RewindPaths::system();
    auto store = SnapshotStore::open(paths.storeDirectory());
    if (!store) {
        return store.error();
    }
    m_store = std::move(*store);
    m_sessions = std::make_unique<SessionManager>(paths);
    m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    m_engine->setCancelCheck([] {
        return KAuth::HelperSupport::isStopped();
    });
    return {};
}

ActionReply RewindHelper::inCallersLanguage(const QVariantMap &arguments, const std::function<ActionReply(const QVariantMap &)> &handle)
{
    // KAuth's helperMain() sends the helper's log messages as signals on the
    // system bus, to every client, and they name paths. Once KAuth is set up
    // (every action comes here first), they go to the helper's own log again.
    static const bool logLocally = (qInstallMessageHandler(nullptr), true);
    Q_UNUSED(logLocally);
    QVariantMap rest = arguments;
    auto language = CallerLanguage::take(rest);
    if (!language) {
        return handedOver(failure(HelperProtocol::InvalidArguments, language.errorMessage()));
    }
    const CallerLanguage translated(*language);
    return handedOver(handle(rest));
}

ActionReply RewindHelper::status(const QVariantMap &arguments)
{
    return inCallersLanguage(arguments, [](const QVariantMap &rest) {
        return reportStatus(rest);
    });
}

ActionReply RewindHelper::reportStatus(const QVariantMap &arguments)
{
    if (!arguments.isEmpty()) {
        return failure(HelperProtocol::InvalidArguments, i18n("This action takes no arguments."));
    }
    const auto criu = CriuCheckpointer::version();
    if (!criu) {
        return failure(criu.error());
    }
    return success(QJsonObject{{QStringLiteral("criuVersion"), *criu}});
}

ActionReply RewindHelper::listsessions(const QVariantMap &arguments)
{
    return run(HelperProtocol::listSessions, arguments, false);
}

ActionReply RewindHelper::listsnapshots(const QVariantMap &arguments)
{
    return run(HelperProtocol::listSnapshots, arguments, false);
}

ActionReply RewindHelper::startsession(const QVariantMap &arguments)
{
    return run(HelperProtocol::startSession, arguments, false);
}

ActionReply RewindHelper::stopsession(const QVariantMap &arguments)
{
    return run(HelperProtocol::stopSession, arguments, false);
}

ActionReply RewindHelper::scan(const QVariantMap &arguments)
{
    return run(HelperProtocol::scan, arguments, false);
}

ActionReply RewindHelper::snapshot(const QVariantMap &arguments)
{
    return run(HelperProtocol::snapshot, arguments, false);
}

ActionReply RewindHelper::restore(const QVariantMap &arguments)
{
    return run(HelperProtocol::restore, arguments, false);
}

ActionReply RewindHelper::deletesnapshot(const QVariantMap &arguments)
{
    return run(HelperProtocol::remove, arguments, false);
}

ActionReply RewindHelper::setlabel(const QVariantMap &arguments)
{
    return run(HelperProtocol::setLabel, arguments, false);
}

ActionReply RewindHelper::setpinned(const QVariantMap &arguments)
{
    return run(HelperProtocol::setPinned, arguments, false);
}

ActionReply RewindHelper::storage(const QVariantMap &arguments)
{
    return run(HelperProtocol::storage, arguments, false);
}

ActionReply RewindHelper::thumbnail(const QVariantMap &arguments)
{
    return run(HelperProtocol::thumbnail, arguments, false);
}

ActionReply RewindHelper::liveview(const QVariantMap &arguments)
{
    return run(HelperProtocol::liveView, arguments, false);
}

ActionReply RewindHelper::search(const QVariantMap &arguments)
{
    return run(HelperProtocol::search, arguments, false);
}

ActionReply RewindHelper::autosave(const QVariantMap &arguments)
{
    return run(HelperProtocol::autosave, arguments, false);
}

ActionReply RewindHelper::verify(const QVariantMap &arguments)
{
    // Store-wide: its policy is auth_admin.
    return run(HelperProtocol::verify, arguments, true);
}

ActionReply RewindHelper::gc(const QVariantMap &arguments)
{
    return run(HelperProtocol::collectGarbage, arguments, true);
}

ActionReply RewindHelper::exportsnapshot(const QVariantMap &arguments)
{
    return run(HelperProtocol::exportSnapshot, arguments, false);
}

ActionReply RewindHelper::importsnapshot(const QVariantMap &arguments)
{
    return run(HelperProtocol::importSnapshot, arguments, false);
}

ActionReply RewindHelper::listspecs(const QVariantMap &arguments)
{
    return run(HelperProtocol::listSpecs, arguments, false);
}

ActionReply RewindHelper::recover(const QVariantMap &arguments)
{
    return run(HelperProtocol::recover, arguments, false);
}

ActionReply RewindHelper::hibernate(const QVariantMap &arguments)
{
    return run(HelperProtocol::hibernate, arguments, false);
}

ActionReply RewindHelper::administer(const QVariantMap &arguments)
{
    return inCallersLanguage(arguments, [this](const QVariantMap &rest) {
        return administerOperation(rest);
    });
}

ActionReply RewindHelper::administerOperation(const QVariantMap &arguments)
{
    const QVariant operation = arguments.value(HelperProtocol::operationKey);
    if (operation.metaType().id() != QMetaType::QString) {
        return failure(HelperProtocol::InvalidArguments, i18n("'operation' must name what to administer."));
    }
    for (const auto &[name, action] : administeredOperations) {
        if (name == operation.toString()) {
            QVariantMap rest = arguments;
            rest.remove(HelperProtocol::operationKey);
            return dispatch(action, rest, true);
        }
    }
    QStringList names;
    for (const auto &entry : administeredOperations) {
        names.append(entry.first);
    }
    return failure(
        HelperProtocol::InvalidArguments,
        i18n("'%1' cannot be administered; the operations are %2.", HelperArguments::quoted(operation.toString()), names.join(QStringLiteral(", "))));
}

ActionReply RewindHelper::run(const QString &action, const QVariantMap &arguments, bool administrator)
{
    return inCallersLanguage(arguments, [&](const QVariantMap &rest) {
        return dispatch(action, rest, administrator);
    });
}

ActionReply RewindHelper::dispatch(const QString &action, const QVariantMap &arguments, bool administrator)
{
    // A rewindctl killed mid-snapshot may have left a cell frozen while this
    // helper kept running; cells whose snapshot is still at work keep their lock.
    if (m_sessions) {
        (void)m_sessions->thawAbandoned();
    }
    const int uid = KAuth::HelperSupport::callerUid();
    if (uid < 0) {
        return failure(HelperProtocol::OperationFailed, i18n("The helper could not tell who is asking; nothing was done."));
    }
    for (const ActionArguments &entry : actionArguments) {
        if (entry.action == action) {
            auto parsed = HelperArguments::parse(arguments, entry.required, entry.optional);
            if (!parsed) {
                return failure(HelperProtocol::InvalidArguments, parsed.errorMessage());
            }
            if (auto opened = openEngine(); !opened) {
                return failure(opened.error());
            }
            return perform(action, *parsed, Caller{.uid = uid_t(uid), .administrator = administrator});
        }
    }
    return ActionReply::NoSuchActionReply();
}

std::optional<ActionReply> RewindHelper::refuseSession(const QString &sessionId, const Caller &caller) const
{
    auto record = m_sessions->session(sessionId);
    if (!record) {
        return failure(record.error());
    }
    if (!caller.administrator && record->ownerUid != caller.uid) {
        return failure(HelperProtocol::NotYours,
                       i18n("Session %1 belongs to another user. Only an administrator can act on it (rewindctl --admin).", sessionId));
    }
    return std::nullopt;
}

std::optional<ActionReply> RewindHelper::refuseSnapshot(qint64 snapshotId, const Caller &caller) const
{
    auto info = m_store->snapshot(snapshotId);
    if (!info) {
        return failure(info.error());
    }
    if (!caller.administrator && snapshotOwner(*info) != caller.uid) {
        return failure(HelperProtocol::NotYours,
                       i18n("Snapshot %1 belongs to another user. Only an administrator can act on it (rewindctl --admin).", QString::number(snapshotId)));
    }
    return std::nullopt;
}

ActionReply RewindHelper::perform(const QString &action, const HelperArguments &arguments, const Caller &caller)
{
    if (action == HelperProtocol::listSessions) {
        QJsonArray list;
        const auto sessions = m_sessions->sessions();
        for (const SessionRecord &record : sessions) {
            if (caller.administrator || record.ownerUid == caller.uid) {
                list.append(JsonViews::session(record, m_sessions->state(record)));
            }
        }
        return success(list);
    }
    if (action == HelperProtocol::listSnapshots) {
        if (!arguments.session.isEmpty()) {
            // A session that is gone still has its snapshots; their owner decides then.
            if (auto record = m_sessions->session(arguments.session); record && !caller.administrator && record->ownerUid != caller.uid) {
                return *refuseSession(arguments.session, caller);
            }
        }
        auto snapshots = m_store->list(arguments.session);
        if (!snapshots) {
            return failure(snapshots.error());
        }
        QJsonArray list;
        for (const SnapshotInfo &info : *snapshots) {
            if (caller.administrator || snapshotOwner(info) == caller.uid) {
                list.append(JsonViews::snapshot(info));
            }
        }
        return success(list);
    }
    if (action == HelperProtocol::startSession) {
        auto spec = SessionSpec::named(arguments.spec);
        if (!spec) {
            return failure(spec.error());
        }
        auto record = m_sessions->start(*spec, caller.uid);
        if (!record) {
            return failure(record.error());
        }
        return success(JsonViews::session(*record, SessionState::Running));
    }
    if (action == HelperProtocol::listSpecs) {
        // CallerLanguage put the caller's language first.
        return success(JsonViews::specs(SessionSpec::installed(), KLocalizedString::languages().value(0)));
    }
    if (action == HelperProtocol::storage) {
        // The caller's own, also for an administrator: the quota is per user.
        const auto limits = SessionLimits::read();
        if (!limits) {
            return failure(limits.error());
        }
        auto sessions = m_store->usageBySession(caller.uid);
        if (!sessions) {
            return failure(sessions.error());
        }
        auto total = m_store->usage(caller.uid);
        if (!total) {
            return failure(total.error());
        }
        return success(JsonViews::storage(*sessions, *total, limits->storeQuotaFor(caller.uid).bytesPerOwner));
    }
    if (action == HelperProtocol::verify) {
        auto report = m_store->verify();
        return report ? success(JsonViews::verified(*report)) : failure(report.error());
    }
    if (action == HelperProtocol::collectGarbage) {
        auto stats = m_store->collectGarbage();
        return stats ? success(JsonViews::collected(*stats)) : failure(stats.error());
    }
    if (action == HelperProtocol::search) {
        // The caller's own snapshots only, and their screens read with the caller's rights.
        auto matches = ScreenTextSearch::search(*m_store, caller.uid, PrivateHandOff::groupOf(caller.uid), arguments.query);
        return matches ? success(JsonViews::screenTextMatches(*matches)) : failure(matches.error());
    }
    if (action == HelperProtocol::importSnapshot) {
        // The caller's own quota, whoever the stream came from.
        const auto limits = SessionLimits::read();
        if (!limits) {
            return failure(limits.error());
        }
        auto imported = SnapshotTransfer::importSnapshot(*m_store,
                                                         m_sessions->paths().stagingDirectory(),
                                                         arguments.stream.fileDescriptor(),
                                                         caller.uid,
                                                         limits->storeQuotaFor(caller.uid));
        return imported ? success(JsonViews::snapshot(*imported)) : failure(imported.error());
    }

    if (!arguments.session.isEmpty()) {
        if (auto refused = refuseSession(arguments.session, caller)) {
            return *refused;
        }
        if (action == HelperProtocol::stopSession) {
            if (auto stopped = m_sessions->stop(arguments.session); !stopped) {
                return failure(stopped.error());
            }
            return success(QJsonObject{{QStringLiteral("stopped"), arguments.session}});
        }
        if (action == HelperProtocol::scan) {
            auto record = m_sessions->session(arguments.session);
            if (!record) {
                return failure(record.error());
            }
            if (m_sessions->state(*record) != SessionState::Running) {
                return failure(HelperProtocol::OperationFailed, i18n("Session %1 is not running.", arguments.session));
            }
            auto obstacles = m_sessions->scan(*record);
            return obstacles ? success(JsonViews::obstacles(*obstacles)) : failure(obstacles.error());
        }
        if (action == HelperProtocol::liveView) {
            // Only the owner gets here (no administered live view), so the socket is theirs.
            const gid_t gid = PrivateHandOff::groupOf(caller.uid);
            auto directory = PrivateHandOff::directory(caller.uid, gid);
            if (!directory) {
                return failure(directory.error());
            }
            const QString name = HelperProtocol::liveViewSocketName(arguments.session);
            if (auto opened = m_sessions->openLiveView(arguments.session, gid, directory->get(), name); !opened) {
                return failure(opened.error());
            }
            return success(QJsonObject{{QStringLiteral("session"), arguments.session}, {QStringLiteral("socket"), PrivateHandOff::path(caller.uid, name)}});
        }
        if (action == HelperProtocol::autosave) {
            // The caller's schedule and retention, within the bounds parse() enforced.
            auto outcome = m_engine->autosave(arguments.session, scheduleOf(arguments), retentionOf(arguments), reportProgress);
            if (!outcome) {
                return failure(outcome.error());
            }
            return success(JsonViews::autosaved(*outcome));
        }
        if (action == HelperProtocol::hibernate) {
            auto info = m_engine->hibernate(arguments.session, reportProgress);
            return info ? success(JsonViews::snapshot(*info)) : failure(info.error());
        }
        if (action == HelperProtocol::recover) {
            auto outcome = m_engine->recover(arguments.session, reportProgress);
            return outcome ? success(JsonViews::session(outcome->session, m_sessions->state(outcome->session))) : failure(outcome.error());
        }
        if (action == HelperProtocol::snapshot) {
            auto info = m_engine->snapshot(arguments.session, arguments.label.value_or(QString()), SnapshotTrigger::Manual, reportProgress);
            return info ? success(JsonViews::snapshot(*info)) : failure(info.error());
        }
    }

    if (arguments.snapshot > 0) {
        if (auto refused = refuseSnapshot(arguments.snapshot, caller)) {
            return *refused;
        }
        if (action == HelperProtocol::exportSnapshot) {
            auto exported = SnapshotTransfer::exportSnapshot(*m_store, arguments.snapshot, arguments.stream.fileDescriptor());
            if (!exported) {
                return failure(exported.error());
            }
            return success(QJsonObject{{QStringLiteral("snapshot"), arguments.snapshot},
                                       {QStringLiteral("bytes"), exported->bytes},
                                       {QStringLiteral("chunks"), exported->chunks}});
        }
        if (action == HelperProtocol::thumbnail) {
            auto png = m_store->readFile(arguments.snapshot, QStringLiteral("thumbnail.png"));
            if (!png) {
                return failure(png.error());
            }
            auto file = PrivateHandOff::write(caller.uid, PrivateHandOff::groupOf(caller.uid), QStringLiteral("snapshot-%1.png").arg(arguments.snapshot), *png);
            if (!file) {
                return failure(file.error());
            }
            return success(QJsonObject{{QStringLiteral("id"), arguments.snapshot}, {QStringLiteral("file"), *file}});
        }
        if (action == HelperProtocol::restore) {
            auto chosen = m_store->snapshot(arguments.snapshot);
            if (!chosen) {
                return failure(chosen.error());
            }
            // In place replaces the snapshot's session, which must be the caller's too.
            if (!arguments.asNew) {
                if (auto record = m_sessions->session(chosen->sessionId); record && !caller.administrator && record->ownerUid != caller.uid) {
                    return *refuseSession(chosen->sessionId, caller);
                }
            }
            auto outcome = m_engine->restore(arguments.snapshot, arguments.asNew ? RestoreMode::AsNewSession : RestoreMode::InPlace, reportProgress);
            if (!outcome) {
                return failure(outcome.error());
            }
            return success(
                JsonViews::restored(outcome->session, outcome->beforeRestore ? std::optional<qint64>(outcome->beforeRestore->id) : std::optional<qint64>()));
        }
        if (action == HelperProtocol::remove) {
            auto released = m_store->release({arguments.snapshot});
            if (!released) {
                return failure(released.error());
            }
            return success(QJsonObject{{QStringLiteral("deleted"), arguments.snapshot}, {QStringLiteral("bytesFreed"), released->bytesFreed}});
        }
        Result<void> changed = action == HelperProtocol::setLabel ? m_store->setLabel(arguments.snapshot, *arguments.label)
            : action == HelperProtocol::setPinned                 ? m_store->setPinned(arguments.snapshot, *arguments.pinned)
                                                                  : Result<void>(Error{i18n("Unknown action.")});
        if (!changed) {
            return failure(changed.error());
        }
        auto info = m_store->snapshot(arguments.snapshot);
        return info ? success(JsonViews::snapshot(*info)) : failure(info.error());
    }
    return ActionReply::NoSuchActionReply();
}

KAUTH_HELPER_MAIN("org.rewind.helper", RewindHelper)
