// SPDX-License-Identifier: GPL-2.0-or-later
#include "RewindCommands.h"

#include "CgroupFreezer.h"
#include "CheckpointabilityScan.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "StagingDirectory.h"
#include "VncScreenshot.h"

#include <KFormat>
#include <KLocalizedString>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QTextStream>

#include <unistd.h>

using namespace Rewind;

namespace
{

enum ExitCode {
    Success = 0,
    Failed = 1,
    Usage = 2
};

struct UsageError {
};

QJsonObject toJson(const SessionRecord &record, SessionState state)
{
    return {
        {QStringLiteral("id"), record.id},
        {QStringLiteral("spec"), record.specName},
        {QStringLiteral("owner"), qint64(record.ownerUid)},
        {QStringLiteral("state"), stateName(state)},
        {QStringLiteral("pid"), qint64(record.initPid)},
        {QStringLiteral("createdAt"), record.createdAt.toString(Qt::ISODate)},
    };
}

QJsonObject toJson(const SnapshotInfo &info)
{
    return {
        {QStringLiteral("id"), info.id},
        {QStringLiteral("session"), info.sessionId},
        {QStringLiteral("createdAt"), info.createdAt.toString(Qt::ISODateWithMs)},
        {QStringLiteral("label"), info.label},
        {QStringLiteral("trigger"), triggerName(info.trigger)},
        {QStringLiteral("pinned"), info.pinned},
        {QStringLiteral("logicalBytes"), info.logicalBytes},
        {QStringLiteral("storedBytes"), info.storedBytes},
        {QStringLiteral("newBytes"), info.newBytes},
        {QStringLiteral("sharedBytes"), info.sharedBytes},
        {QStringLiteral("frozenMs"), info.metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0},
    };
}

QString describe(const SnapshotInfo &info)
{
    KFormat format;
    return i18nc("snapshot line: id, time, session, trigger, label, new size, total size",
                 "%1  %2  %3  %4  %5  new %6 of %7",
                 QString::number(info.id).rightJustified(4),
                 QLocale().toString(info.createdAt.toLocalTime(), QStringLiteral("yyyy-MM-dd hh:mm:ss")),
                 info.sessionId,
                 triggerName(info.trigger),
                 info.label.isEmpty() ? QStringLiteral("-") : info.label,
                 format.formatByteSize(double(info.newBytes)),
                 format.formatByteSize(double(info.storedBytes)));
}

Result<qint64> snapshotId(const QString &text)
{
    bool ok = false;
    const qint64 id = text.toLongLong(&ok);
    if (!ok || id <= 0 || text.size() > 18) {
        return Error{i18n("'%1' is not a snapshot id. Snapshot ids are numbers; 'rewindctl list' shows them.", text.left(64))};
    }
    return id;
}

} // namespace

RewindCommands::RewindCommands(bool json)
    : m_json(json)
{
}

RewindCommands::~RewindCommands() = default;

QString RewindCommands::usage()
{
    return i18n(
        "Snapshots of desktop sessions.\n\n"
        "Commands:\n"
        "  session start SPEC         start a session of a session spec (demo, minimal)\n"
        "  session stop SESSION       stop a session\n"
        "  session list               list sessions and their states\n"
        "  session scan SESSION       name what would keep a session from being snapshotted\n"
        "  session ps SESSION         list a session's processes\n"
        "  session screenshot SESSION --output FILE\n"
        "  session recover SESSION    bring a crashed session back from its latest snapshot\n"
        "  snapshot SESSION [--label TEXT]\n"
        "  list [SESSION]             the timeline of snapshots, newest first\n"
        "  restore SNAPSHOT [--as-new]\n"
        "  delete SNAPSHOT\n"
        "  verify                     re-hash every stored chunk and name damaged snapshots\n"
        "  gc                         remove stored data no snapshot needs\n\n"
        "Exit codes: 0 success, 1 the operation failed, 2 wrong command line.");
}

Result<void> RewindCommands::openEngine()
{
    if (::geteuid() != 0) {
        return Error{i18n("rewindctl needs root for now: run it with sudo.")};
    }
    const RewindPaths paths = RewindPaths::system();
    // A cell left frozen by a process that died mid-snapshot is thawed first.
    const QStringList thawed = CgroupFreezer::thawLeftovers(paths.cgroupParent);
    for (const QString &name : thawed) {
        QTextStream(stderr) << i18n("Session %1 had been left frozen; it runs again.", name) << Qt::endl;
    }
    // So is what a killed snapshot left in the staging area.
    StagingDirectory::removeLeftovers(paths.stagingDirectory());
    auto store = SnapshotStore::open(paths.storeDirectory());
    if (!store) {
        return store.error();
    }
    m_store = std::move(*store);
    m_sessions = std::make_unique<SessionManager>(paths);
    m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    return {};
}

int RewindCommands::run(const QStringList &arguments, const CommandOptions &options)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    if (arguments.isEmpty()) {
        err << usage() << Qt::endl;
        return Usage;
    }
    if (auto opened = openEngine(); !opened) {
        err << opened.errorMessage() << Qt::endl;
        return Failed;
    }
    QString text;
    auto result = dispatch(arguments, options, &text);
    if (!result) {
        if (m_json) {
            out << QJsonDocument(QJsonObject{{QStringLiteral("error"), result.errorMessage()}}).toJson(QJsonDocument::Compact) << Qt::endl;
        } else {
            err << result.errorMessage() << Qt::endl;
        }
        return result.errorMessage().startsWith(QLatin1String("usage:")) ? Usage : Failed;
    }
    if (m_json) {
        const QJsonValue value = *result;
        const QJsonDocument document = value.isArray() ? QJsonDocument(value.toArray()) : QJsonDocument(value.toObject());
        out << document.toJson(QJsonDocument::Indented);
    } else if (!text.isEmpty()) {
        out << text << Qt::endl;
    }
    return Success;
}

Result<QJsonValue> RewindCommands::dispatch(const QStringList &arguments, const CommandOptions &options, QString *text)
{
    const QString command = arguments.value(0);
    const QString argument = arguments.value(1);
    const auto usageError = [](const QString &synopsis) {
        return Error{QStringLiteral("usage: rewindctl ") + synopsis};
    };
    const auto progress = [this](int percent, Stage stage) {
        if (!m_json) {
            QTextStream(stderr) << QStringLiteral("[%1%] ").arg(percent, 3) << stageName(stage) << Qt::endl;
        }
    };

    if (command == QLatin1String("session")) {
        const QString sessionId = arguments.value(2);
        if (argument == QLatin1String("start") && arguments.size() == 3) {
            auto spec = SessionSpec::named(sessionId);
            if (!spec) {
                return spec.error();
            }
            auto record = m_sessions->start(*spec, ::getuid());
            if (!record) {
                return record.error();
            }
            *text = i18n("Started session %1 (%2).", record->id, spec->name);
            return QJsonValue(toJson(*record, SessionState::Running));
        }
        if (argument == QLatin1String("stop") && arguments.size() == 3) {
            if (auto stopped = m_sessions->stop(sessionId); !stopped) {
                return stopped.error();
            }
            *text = i18n("Stopped session %1.", sessionId);
            return QJsonValue(QJsonObject{{QStringLiteral("stopped"), sessionId}});
        }
        if (argument == QLatin1String("list") && arguments.size() == 2) {
            QJsonArray list;
            QStringList lines;
            const auto sessions = m_sessions->sessions();
            for (const SessionRecord &record : sessions) {
                const SessionState state = m_sessions->state(record);
                list.append(toJson(record, state));
                lines.append(QStringLiteral("%1  %2  %3").arg(record.id, -24).arg(stateName(state), -8).arg(record.specName));
            }
            *text = lines.isEmpty() ? i18n("No sessions. Start one with 'rewindctl session start demo'.") : lines.join(QLatin1Char('\n'));
            return QJsonValue(list);
        }
        if (argument == QLatin1String("scan") && arguments.size() == 3) {
            auto record = m_sessions->session(sessionId);
            if (!record) {
                return record.error();
            }
            if (m_sessions->state(*record) != SessionState::Running) {
                return Error{i18n("Session %1 is not running.", sessionId)};
            }
            auto obstacles = CheckpointabilityScan::scan(record->initPid);
            if (!obstacles) {
                return obstacles.error();
            }
            QJsonArray list;
            for (const auto &obstacle : *obstacles) {
                list.append(QJsonObject{{QStringLiteral("pid"), qint64(obstacle.pid)},
                                        {QStringLiteral("process"), obstacle.processName},
                                        {QStringLiteral("resource"), obstacle.resource},
                                        {QStringLiteral("reason"), obstacle.reason}});
            }
            *text = obstacles->isEmpty() ? i18n("Session %1 can be snapshotted.", sessionId) : CheckpointabilityScan::describe(*obstacles);
            return QJsonValue(list);
        }
        if (argument == QLatin1String("ps") && arguments.size() == 3) {
            auto processes = m_sessions->processes(sessionId);
            if (!processes) {
                return processes.error();
            }
            QJsonArray list;
            QStringList lines;
            for (const SessionProcess &process : *processes) {
                list.append(QJsonObject{{QStringLiteral("pid"), qint64(process.pid)},
                                        {QStringLiteral("name"), process.name},
                                        {QStringLiteral("command"), process.commandLine}});
                lines.append(QStringLiteral("%1  %2").arg(process.pid, 7).arg(process.commandLine));
            }
            *text = lines.join(QLatin1Char('\n'));
            return QJsonValue(list);
        }
        if (argument == QLatin1String("screenshot") && arguments.size() == 3 && !options.output.isEmpty()) {
            auto record = m_sessions->session(sessionId);
            if (!record) {
                return record.error();
            }
            auto image = VncScreenshot::grabInCell(record->initPid, SessionManager::vncSocketInCell, std::chrono::seconds(5));
            if (!image) {
                return image.error();
            }
            if (!image->save(options.output, "PNG")) {
                return Error{i18n("Cannot write %1.", options.output)};
            }
            *text = options.output;
            return QJsonValue(QJsonObject{{QStringLiteral("screenshot"), options.output}});
        }
        if (argument == QLatin1String("recover") && arguments.size() == 3) {
            auto outcome = m_engine->recover(sessionId, progress);
            if (!outcome) {
                return outcome.error();
            }
            *text = i18n("Session %1 was recovered from its latest snapshot.", sessionId);
            return QJsonValue(toJson(outcome->session, SessionState::Running));
        }
        return usageError(
            QStringLiteral("session start SPEC | stop SESSION | list | scan SESSION | ps SESSION | screenshot SESSION --output FILE | recover SESSION"));
    }
    if (command == QLatin1String("snapshot") && arguments.size() == 2) {
        auto info = m_engine->snapshot(argument, options.label, SnapshotTrigger::Manual, progress);
        if (!info) {
            return info.error();
        }
        *text = i18n("Snapshot %1 of session %2 taken (frozen for %3 ms).",
                     QString::number(info->id),
                     argument,
                     QString::number(info->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0, 'f', 1));
        return QJsonValue(toJson(*info));
    }
    if (command == QLatin1String("list") && arguments.size() <= 2) {
        if (!argument.isEmpty() && !SessionRecord::isValidId(argument)) {
            return Error{i18n("'%1' is not a session id.", argument.left(64))};
        }
        auto snapshots = m_store->list(argument);
        if (!snapshots) {
            return snapshots.error();
        }
        QJsonArray list;
        QStringList lines;
        for (const SnapshotInfo &info : *snapshots) {
            list.append(toJson(info));
            lines.append(describe(info));
        }
        *text = lines.isEmpty() ? i18n("No snapshots yet.") : lines.join(QLatin1Char('\n'));
        return QJsonValue(list);
    }
    if (command == QLatin1String("restore") && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        auto outcome = m_engine->restore(*id, options.asNew ? RestoreMode::AsNewSession : RestoreMode::InPlace, progress);
        if (!outcome) {
            return outcome.error();
        }
        *text = options.asNew ? i18n("Snapshot %1 runs as the new session %2.", QString::number(*id), outcome->session.id)
                              : i18n("Session %1 is back at snapshot %2.", outcome->session.id, QString::number(*id));
        if (outcome->beforeRestore) {
            *text += QLatin1Char('\n') + i18n("What ran before was saved as snapshot %1.", QString::number(outcome->beforeRestore->id));
        }
        QJsonObject json = toJson(outcome->session, SessionState::Running);
        if (outcome->beforeRestore) {
            json.insert(QStringLiteral("beforeRestoreSnapshot"), outcome->beforeRestore->id);
        }
        return QJsonValue(json);
    }
    if (command == QLatin1String("delete") && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        if (auto removed = m_store->remove(*id); !removed) {
            return removed.error();
        }
        *text = i18n("Deleted snapshot %1. 'rewindctl gc' frees its space.", QString::number(*id));
        return QJsonValue(QJsonObject{{QStringLiteral("deleted"), *id}});
    }
    if (command == QLatin1String("verify") && arguments.size() == 1) {
        auto report = m_store->verify();
        if (!report) {
            return report.error();
        }
        QJsonArray damaged;
        QStringList ids;
        for (qint64 id : report->damagedSnapshots) {
            damaged.append(id);
            ids.append(QString::number(id));
        }
        if (!report->clean()) {
            return Error{i18n("Damaged snapshots: %1. Delete them; the others are intact.", ids.join(QStringLiteral(", ")))};
        }
        *text = i18n("All %1 stored chunks are intact.", report->chunksChecked);
        return QJsonValue(QJsonObject{{QStringLiteral("chunksChecked"), report->chunksChecked}, {QStringLiteral("damagedSnapshots"), damaged}});
    }
    if (command == QLatin1String("gc") && arguments.size() == 1) {
        auto stats = m_store->collectGarbage();
        if (!stats) {
            return stats.error();
        }
        *text = i18n("Removed %1 unused chunks, %2 freed.", stats->chunksRemoved, KFormat().formatByteSize(double(stats->bytesFreed)));
        return QJsonValue(QJsonObject{{QStringLiteral("chunksRemoved"), stats->chunksRemoved}, {QStringLiteral("bytesFreed"), stats->bytesFreed}});
    }
    return usageError(QStringLiteral("session ... | snapshot SESSION | list [SESSION] | restore SNAPSHOT [--as-new] | delete SNAPSHOT | verify | gc"));
}
