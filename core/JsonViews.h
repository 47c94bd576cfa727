// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CheckpointabilityScan.h"
#include "SessionManager.h"
#include "SnapshotInfo.h"
#include "SnapshotStore.h"

#include "SnapshotEngine.h"

#include <QJsonArray>
#include <QJsonObject>

namespace Rewind
{

/// The JSON shapes Rewind answers with: `rewindctl --json` prints them and the
/// helper replies with them, so a client never needs to know which one ran.
namespace JsonViews
{
QJsonObject session(const SessionRecord &record, SessionState state);
QJsonObject snapshot(const SnapshotInfo &info);
QJsonArray obstacles(const QList<CheckpointabilityScan::Obstacle> &obstacles);
QList<CheckpointabilityScan::Obstacle> obstaclesFrom(const QJsonArray &array);
QJsonArray processes(const QList<SessionProcess> &processes);
/// A restored session, with the id of the snapshot taken just before if there is one.
QJsonObject restored(const SessionRecord &record, std::optional<qint64> beforeRestoreSnapshot);
QJsonObject verified(const VerifyReport &report);
QJsonObject collected(const GarbageStats &stats);
/// {"taken" (a snapshot or null), "pruned" (ids), "nextDue"}
QJsonObject autosaved(const AutosaveOutcome &outcome);
/// [{"name", "title", "description"}]: installed specs (SessionSpec::installed()), in language where translated.
QJsonArray specs(const QList<std::pair<QString, SessionSpec>> &specs, const QString &language);
/// {"sessions": [{"session", "bytes", "snapshots"}], "totalBytes", "totalSnapshots",
/// "quotaBytes" (null without a quota)}: what one user's snapshots take.
QJsonObject storage(const QList<SessionStorage> &sessions, const StoreUsage &total, qint64 quotaBytes);
} // namespace JsonViews

} // namespace Rewind
