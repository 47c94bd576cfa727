// SPDX-License-Identifier: GPL-2.0-or-later
#include "RewindCommands.h"

#include "CheckpointabilityScan.h"
#include "EngineBackend.h"
#include "HelperBackend.h"
#include "JsonViews.h"
#include "SessionRecord.h"
#include "UniqueFd.h"

#include <KFormat>
#include <KLocalizedString>

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QTextStream>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
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

QString describe(const QJsonObject &info)
{
    KFormat format;
    const auto createdAt = QDateTime::fromString(info.value(QStringLiteral("createdAt")).toString(), Qt::ISODateWithMs);
    const QString label = info.value(QStringLiteral("label")).toString();
    return i18nc("snapshot line: id, time, session, trigger, label, new size, total size",
                 "%1  %2  %3  %4  %5  new %6 of %7",
                 QString::number(info.value(QStringLiteral("id")).toInteger()).rightJustified(4),
                 QLocale().toString(createdAt.toLocalTime(), QStringLiteral("yyyy-MM-dd hh:mm:ss")),
                 info.value(QStringLiteral("session")).toString(),
                 info.value(QStringLiteral("trigger")).toString(),
                 label.isEmpty() ? QStringLiteral("-") : label,
                 format.formatByteSize(double(info.value(QStringLiteral("newBytes")).toInteger())),
                 format.formatByteSize(double(info.value(QStringLiteral("storedBytes")).toInteger())));
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

/// Where an export goes: FILE (created, or replaced), or standard output
/// for "-" or nothing, as long as that is not a terminal.
Result<UniqueFd> openExportTarget(const QString &output)
{
    if (output.isEmpty() || output == QLatin1String("-")) {
        if (::isatty(STDOUT_FILENO)) {
            return Error{i18n("An exported snapshot is binary: write it to a file (-o FILE) or a pipe, not to the terminal.")};
        }
        return UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
    }
    UniqueFd file(::open(QFile::encodeName(output).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600));
    if (!file) {
        return Error{i18n("Could not write %1: %2", output, QString::fromLocal8Bit(strerror(errno)))};
    }
    return file;
}

/// Where an import comes from: FILE, or standard input for "-" or nothing.
Result<UniqueFd> openImportSource(const QString &input)
{
    if (input.isEmpty() || input == QLatin1String("-")) {
        if (::isatty(STDIN_FILENO)) {
            return Error{i18n("Give the exported snapshot as a file, or pipe it in; not from the terminal.")};
        }
        return UniqueFd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
    }
    UniqueFd file(::open(QFile::encodeName(input).constData(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!file) {
        return Error{i18n("Could not read %1: %2", input, QString::fromLocal8Bit(strerror(errno)))};
    }
    return file;
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
        "  session view SESSION       a socket to connect a VNC viewer to the session's display\n"
        "  session recover SESSION    bring a crashed or stopped session back from its latest snapshot\n"
        "  session hibernate SESSION  take a snapshot, then stop the session until it is woken\n"
        "  session wake SESSION       bring a hibernated session back (the same as recover)\n"
        "  specs                      list the session specs a session can be started from\n"
        "  snapshot SESSION [--label TEXT]\n"
        "  list [SESSION]             the timeline of snapshots, newest first\n"
        "  restore SNAPSHOT [--as-new]\n"
        "  delete SNAPSHOT\n"
        "  label SNAPSHOT TEXT        give a snapshot a label\n"
        "  pin SNAPSHOT | unpin SNAPSHOT  keep a snapshot from automatic pruning, or not\n"
        "  autosave SESSION           a scheduled snapshot if one is due, then pruning\n"
        "  export SNAPSHOT [-o FILE]  write a snapshot as one stream, to standard output without -o\n"
        "  import [FILE]              store an exported snapshot as yours, from standard input without FILE\n"
        "  verify                     re-hash every stored chunk and name damaged snapshots\n"
        "  gc                         remove stored data no snapshot needs\n\n"
        "Exit codes: 0 success, 1 the operation failed, 2 wrong command line.");
}

Result<void> RewindCommands::openBackend(bool administer)
{
    if (::geteuid() != 0) {
        // Everything else goes through the privileged helper; polkit decides.
        m_backend = std::make_unique<HelperBackend>(administer);
        return {};
    }
    auto engine = EngineBackend::open();
    if (!engine) {
        return engine.error();
    }
    m_backend = std::move(*engine);
    return {};
}

int RewindCommands::run(const QStringList &arguments, const CommandOptions &options)
{
    QTextStream err(stderr);
    if (arguments.isEmpty()) {
        err << usage() << Qt::endl;
        return Usage;
    }
    if (auto opened = openBackend(options.administer); !opened) {
        err << opened.errorMessage() << Qt::endl;
        return Failed;
    }
    QString text;
    auto result = dispatch(arguments, options, &text);
    QTextStream out(m_outputTaken ? stderr : stdout);
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
    const auto progress = [this](int percent, const QString &stage) {
        if (!m_json) {
            QTextStream(stderr) << QStringLiteral("[%1%] ").arg(percent, 3) << stage << Qt::endl;
        }
    };

    if (command == QLatin1String("session")) {
        const QString sessionId = arguments.value(2);
        if (argument == QLatin1String("start") && arguments.size() == 3) {
            auto record = m_backend->startSession(sessionId);
            if (record) {
                const QJsonObject json = record->toObject();
                *text = i18n("Started session %1 (%2).", json.value(QStringLiteral("id")).toString(), json.value(QStringLiteral("spec")).toString());
            }
            return record;
        }
        if (argument == QLatin1String("stop") && arguments.size() == 3) {
            *text = i18n("Stopped session %1.", sessionId);
            return m_backend->stopSession(sessionId);
        }
        if (argument == QLatin1String("list") && arguments.size() == 2) {
            auto list = m_backend->listSessions();
            if (list) {
                QStringList lines;
                const QJsonArray sessions = list->toArray();
                for (const QJsonValue &value : sessions) {
                    const QJsonObject session = value.toObject();
                    lines.append(QStringLiteral("%1  %2  %3")
                                     .arg(session.value(QStringLiteral("id")).toString(), -24)
                                     .arg(session.value(QStringLiteral("state")).toString(), -8)
                                     .arg(session.value(QStringLiteral("spec")).toString()));
                }
                *text = lines.isEmpty() ? i18n("No sessions. Start one with 'rewindctl session start demo'.") : lines.join(QLatin1Char('\n'));
            }
            return list;
        }
        if (argument == QLatin1String("scan") && arguments.size() == 3) {
            auto obstacles = m_backend->scan(sessionId);
            if (obstacles) {
                const auto list = JsonViews::obstaclesFrom(obstacles->toArray());
                *text = list.isEmpty() ? i18n("Session %1 can be snapshotted.", sessionId) : CheckpointabilityScan::describe(list);
            }
            return obstacles;
        }
        if (argument == QLatin1String("ps") && arguments.size() == 3) {
            auto processes = m_backend->processes(sessionId);
            if (processes) {
                QStringList lines;
                const QJsonArray list = processes->toArray();
                for (const QJsonValue &value : list) {
                    const QJsonObject process = value.toObject();
                    lines.append(QStringLiteral("%1  %2")
                                     .arg(process.value(QStringLiteral("pid")).toInteger(), 7)
                                     .arg(process.value(QStringLiteral("command")).toString()));
                }
                *text = lines.join(QLatin1Char('\n'));
            }
            return processes;
        }
        if (argument == QLatin1String("screenshot") && arguments.size() == 3 && !options.output.isEmpty()) {
            *text = options.output;
            return m_backend->screenshot(sessionId, options.output);
        }
        if (argument == QLatin1String("view") && arguments.size() == 3) {
            auto view = m_backend->liveView(sessionId);
            if (view) {
                const QString socket = view->toObject().value(QStringLiteral("socket")).toString();
                *text = i18n(
                    "The display of session %1 is at %2 for you alone. Connect a VNC viewer that takes a unix socket to it, for example: vncviewer %2\n"
                    "It closes after a minute without a viewer, and before each snapshot of the session.",
                    sessionId,
                    socket);
            }
            return view;
        }
        if (argument == QLatin1String("recover") && arguments.size() == 3) {
            *text = i18n("Session %1 was recovered from its latest snapshot.", sessionId);
            return m_backend->recover(sessionId, progress);
        }
        if (argument == QLatin1String("wake") && arguments.size() == 3) {
            *text = i18n("Session %1 woke up from its latest snapshot.", sessionId);
            return m_backend->recover(sessionId, progress);
        }
        if (argument == QLatin1String("hibernate") && arguments.size() == 3) {
            auto info = m_backend->hibernate(sessionId, progress);
            if (info) {
                *text = i18n("Session %1 was saved as snapshot %2 and stopped; 'rewindctl session wake %1' brings it back.",
                             sessionId,
                             QString::number(info->toObject().value(QStringLiteral("id")).toInteger()));
            }
            return info;
        }
        return usageError(
            QStringLiteral("session start SPEC | stop SESSION | list | scan SESSION | ps SESSION | screenshot SESSION --output FILE | view SESSION | "
                           "recover SESSION | hibernate SESSION | wake SESSION"));
    }
    if (command == QLatin1String("specs") && arguments.size() == 1) {
        auto specs = m_backend->listSpecs();
        if (specs) {
            QStringList lines;
            const QJsonArray list = specs->toArray();
            for (const QJsonValue &value : list) {
                const QJsonObject spec = value.toObject();
                lines.append(QStringLiteral("%1  %2  %3")
                                 .arg(spec.value(QStringLiteral("name")).toString(), -12)
                                 .arg(spec.value(QStringLiteral("title")).toString(), -12)
                                 .arg(spec.value(QStringLiteral("description")).toString()));
            }
            *text = lines.isEmpty() ? i18n("No session specs are installed.") : lines.join(QLatin1Char('\n'));
        }
        return specs;
    }
    if (command == QLatin1String("snapshot") && arguments.size() == 2) {
        if (!SessionRecord::isValidId(argument)) {
            return Error{i18n("'%1' is not a session id.", argument.left(64))};
        }
        auto info = m_backend->snapshot(argument, options.label, progress);
        if (info) {
            *text = i18n("Snapshot %1 of session %2 taken (frozen for %3 ms).",
                         QString::number(info->toObject().value(QStringLiteral("id")).toInteger()),
                         argument,
                         QString::number(info->toObject().value(QStringLiteral("frozenMs")).toDouble(), 'f', 1));
        }
        return info;
    }
    if (command == QLatin1String("list") && arguments.size() <= 2) {
        if (!argument.isEmpty() && !SessionRecord::isValidId(argument)) {
            return Error{i18n("'%1' is not a session id.", argument.left(64))};
        }
        auto snapshots = m_backend->listSnapshots(argument);
        if (snapshots) {
            QStringList lines;
            const QJsonArray list = snapshots->toArray();
            for (const QJsonValue &info : list) {
                lines.append(describe(info.toObject()));
            }
            *text = lines.isEmpty() ? i18n("No snapshots yet.") : lines.join(QLatin1Char('\n'));
        }
        return snapshots;
    }
    if (command == QLatin1String("restore") && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        auto outcome = m_backend->restore(*id, options.asNew, progress);
        if (outcome) {
            const QJsonObject json = outcome->toObject();
            const QString session = json.value(QStringLiteral("id")).toString();
            *text = options.asNew ? i18n("Snapshot %1 runs as the new session %2.", QString::number(*id), session)
                                  : i18n("Session %1 is back at snapshot %2.", session, QString::number(*id));
            if (json.contains(QStringLiteral("beforeRestoreSnapshot"))) {
                *text += QLatin1Char('\n')
                    + i18n("What ran before was saved as snapshot %1.", QString::number(json.value(QStringLiteral("beforeRestoreSnapshot")).toInteger()));
            }
        }
        return outcome;
    }
    if (command == QLatin1String("delete") && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        auto removed = m_backend->remove(*id);
        if (removed) {
            *text = i18n("Deleted snapshot %1; %2 freed.",
                         QString::number(*id),
                         QLocale().formattedDataSize(removed->toObject().value(QStringLiteral("bytesFreed")).toInteger()));
        }
        return removed;
    }
    if (command == QLatin1String("label") && arguments.size() == 3) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        auto labelled = m_backend->setLabel(*id, arguments.value(2));
        if (labelled) {
            *text = i18n("Snapshot %1 is labelled \u201c%2\u201d.", QString::number(*id), arguments.value(2));
        }
        return labelled;
    }
    if ((command == QLatin1String("pin") || command == QLatin1String("unpin")) && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        const bool pin = command == QLatin1String("pin");
        auto changed = m_backend->setPinned(*id, pin);
        if (changed) {
            *text = pin ? i18n("Snapshot %1 is pinned: automatic pruning keeps it.", QString::number(*id))
                        : i18n("Snapshot %1 is no longer pinned.", QString::number(*id));
        }
        return changed;
    }
    if (command == QLatin1String("autosave") && arguments.size() == 2) {
        if (!SessionRecord::isValidId(argument)) {
            return Error{i18n("'%1' is not a session id.", argument.left(64))};
        }
        auto outcome = m_backend->autosave(argument, progress);
        if (outcome) {
            const QJsonObject json = outcome->toObject();
            const QString nextDue =
                QLocale().toString(QDateTime::fromString(json.value(QStringLiteral("nextDue")).toString(), Qt::ISODate).toLocalTime(), QLocale::ShortFormat);
            *text = json.value(QStringLiteral("taken")).isObject()
                ? i18n("Took snapshot %1 of session %2; the next is due at %3.",
                       QString::number(json.value(QStringLiteral("taken")).toObject().value(QStringLiteral("id")).toInteger()),
                       argument,
                       nextDue)
                : i18n("No snapshot of session %1 is due before %2.", argument, nextDue);
            const QJsonArray pruned = json.value(QStringLiteral("pruned")).toArray();
            if (!pruned.isEmpty()) {
                *text += QLatin1Char('\n') + i18np("Pruned one automatic snapshot.", "Pruned %1 automatic snapshots.", pruned.size());
            }
        }
        return outcome;
    }
    if (command == QLatin1String("export") && arguments.size() == 2) {
        auto id = snapshotId(argument);
        if (!id) {
            return id.error();
        }
        auto target = openExportTarget(options.output);
        if (!target) {
            return target.error();
        }
        // The stream may be standard output: everything else goes to standard error.
        m_outputTaken = options.output.isEmpty() || options.output == QLatin1String("-");
        auto exported = m_backend->exportSnapshot(*id, target->get());
        if (exported) {
            *text = i18n("Exported snapshot %1 (%2).",
                         QString::number(*id),
                         KFormat().formatByteSize(double(exported->toObject().value(QStringLiteral("bytes")).toInteger())));
        }
        return exported;
    }
    if (command == QLatin1String("import") && arguments.size() <= 2) {
        auto source = openImportSource(argument);
        if (!source) {
            return source.error();
        }
        auto imported = m_backend->importSnapshot(source->get());
        if (imported) {
            const QJsonObject json = imported->toObject();
            *text = i18n("Imported as snapshot %1 of session %2.",
                         QString::number(json.value(QStringLiteral("id")).toInteger()),
                         json.value(QStringLiteral("session")).toString());
        }
        return imported;
    }
    if (command == QLatin1String("verify") && arguments.size() == 1) {
        auto report = m_backend->verify();
        if (!report) {
            return report;
        }
        const QJsonObject json = report->toObject();
        QStringList ids;
        const QJsonArray damaged = json.value(QStringLiteral("damagedSnapshots")).toArray();
        for (const QJsonValue &id : damaged) {
            ids.append(QString::number(id.toInteger()));
        }
        if (!ids.isEmpty()) {
            return Error{i18n("Damaged snapshots: %1. Delete them; the others are intact.", ids.join(QStringLiteral(", ")))};
        }
        *text = i18n("All %1 stored chunks are intact.", json.value(QStringLiteral("chunksChecked")).toInteger());
        return report;
    }
    if (command == QLatin1String("gc") && arguments.size() == 1) {
        auto stats = m_backend->collectGarbage();
        if (stats) {
            const QJsonObject json = stats->toObject();
            *text = i18n("Removed %1 unused chunks, %2 freed.",
                         json.value(QStringLiteral("chunksRemoved")).toInteger(),
                         KFormat().formatByteSize(double(json.value(QStringLiteral("bytesFreed")).toInteger())));
        }
        return stats;
    }
    return usageError(
        QStringLiteral("session ... | snapshot SESSION | list [SESSION] | restore SNAPSHOT [--as-new] | delete SNAPSHOT | label SNAPSHOT TEXT | pin SNAPSHOT | "
                       "unpin SNAPSHOT | autosave SESSION | export SNAPSHOT [-o FILE] | import [FILE] | verify | gc"));
}
