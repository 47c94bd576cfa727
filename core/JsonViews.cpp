// SPDX-License-Identifier: GPL-2.0-or-later
#include "JsonViews.h"

namespace Rewind::JsonViews
{

QJsonObject session(const SessionRecord &record, SessionState state)
{
    return {
        {QStringLiteral("id"), record.id},
        {QStringLiteral("spec"), record.specName},
        {QStringLiteral("owner"), qint64(record.ownerUid)},
        {QStringLiteral("state"), stateKey(state)},
        {QStringLiteral("pid"), qint64(record.initPid)},
        {QStringLiteral("createdAt"), record.createdAt.toString(Qt::ISODate)},
    };
}

QJsonObject snapshot(const SnapshotInfo &info)
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
        {QStringLiteral("addedBytes"), info.addedBytes ? QJsonValue(*info.addedBytes) : QJsonValue()},
        {QStringLiteral("frozenMs"), info.metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0},
        // The snapshot whose pages this one's dump left out (an incremental dump), stored whole all the same.
        {QStringLiteral("incrementalOf"),
         info.metadata.contains(QStringLiteral("incrementalOf")) ? QJsonValue(info.metadata.value(QStringLiteral("incrementalOf")).toLongLong())
                                                                 : QJsonValue()},
    };
}

QJsonArray obstacles(const QList<CheckpointabilityScan::Obstacle> &obstacles)
{
    QJsonArray list;
    for (const auto &obstacle : obstacles) {
        list.append(QJsonObject{{QStringLiteral("pid"), qint64(obstacle.pid)},
                                {QStringLiteral("process"), obstacle.processName},
                                {QStringLiteral("resource"), obstacle.resource},
                                {QStringLiteral("reason"), obstacle.reason}});
    }
    return list;
}

QList<CheckpointabilityScan::Obstacle> obstaclesFrom(const QJsonArray &array)
{
    QList<CheckpointabilityScan::Obstacle> list;
    for (const QJsonValue &value : array) {
        const QJsonObject object = value.toObject();
        list.append({pid_t(object.value(QStringLiteral("pid")).toInteger()),
                     object.value(QStringLiteral("process")).toString(),
                     object.value(QStringLiteral("resource")).toString(),
                     object.value(QStringLiteral("reason")).toString()});
    }
    return list;
}

QJsonArray processes(const QList<SessionProcess> &processes)
{
    QJsonArray list;
    for (const SessionProcess &process : processes) {
        list.append(QJsonObject{{QStringLiteral("pid"), qint64(process.pid)},
                                {QStringLiteral("name"), process.name},
                                {QStringLiteral("command"), process.commandLine}});
    }
    return list;
}

QJsonObject restored(const SessionRecord &record, std::optional<qint64> beforeRestoreSnapshot)
{
    QJsonObject json = session(record, SessionState::Running);
    if (beforeRestoreSnapshot) {
        json.insert(QStringLiteral("beforeRestoreSnapshot"), *beforeRestoreSnapshot);
    }
    return json;
}

QJsonObject verified(const VerifyReport &report)
{
    QJsonArray damaged;
    for (qint64 id : report.damagedSnapshots) {
        damaged.append(id);
    }
    return {{QStringLiteral("chunksChecked"), report.chunksChecked}, {QStringLiteral("damagedSnapshots"), damaged}};
}

QJsonObject collected(const GarbageStats &stats)
{
    return {{QStringLiteral("chunksRemoved"), stats.chunksRemoved}, {QStringLiteral("bytesFreed"), stats.bytesFreed}};
}

QJsonObject autosaved(const AutosaveOutcome &outcome)
{
    QJsonArray pruned;
    for (qint64 id : outcome.pruned) {
        pruned.append(id);
    }
    return {
        {QStringLiteral("taken"), outcome.taken ? QJsonValue(snapshot(*outcome.taken)) : QJsonValue()},
        {QStringLiteral("pruned"), pruned},
        {QStringLiteral("nextDue"), outcome.nextDue.toString(Qt::ISODate)},
    };
}

QJsonArray specs(const QList<std::pair<QString, SessionSpec>> &specs, const QString &language)
{
    QJsonArray list;
    for (const auto &[name, spec] : specs) {
        list.append(QJsonObject{{QStringLiteral("name"), name},
                                {QStringLiteral("title"), spec.title(language)},
                                {QStringLiteral("description"), spec.descriptionIn(language)}});
    }
    return list;
}

QJsonObject storage(const QList<SessionStorage> &sessions, const StoreUsage &total, qint64 quotaBytes)
{
    QJsonArray list;
    for (const SessionStorage &session : sessions) {
        list.append(QJsonObject{{QStringLiteral("session"), session.sessionId},
                                {QStringLiteral("bytes"), session.storedBytes},
                                {QStringLiteral("snapshots"), session.snapshots}});
    }
    return {
        {QStringLiteral("sessions"), list},
        {QStringLiteral("totalBytes"), total.storedBytes},
        {QStringLiteral("totalSnapshots"), total.snapshots},
        {QStringLiteral("quotaBytes"), quotaBytes > 0 ? QJsonValue(quotaBytes) : QJsonValue()},
    };
}

QJsonArray screenTextMatches(const QList<ScreenTextMatch> &matches)
{
    QJsonArray array;
    for (const ScreenTextMatch &match : matches) {
        array.append(QJsonObject{{QStringLiteral("snapshot"), match.snapshot},
                                 {QStringLiteral("session"), match.session},
                                 {QStringLiteral("rank"), match.rank},
                                 {QStringLiteral("snippet"), match.snippet}});
    }
    return array;
}

} // namespace Rewind::JsonViews
