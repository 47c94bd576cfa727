// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QString>

#include <functional>

/// What rewindctl's commands run on: the engine itself (as root,
/// EngineBackend) or the privileged helper through KAuth (HelperBackend).
/// Every answer is JSON in the shapes of `rewindctl --json`.
class CommandBackend
{
public:
    using Progress = std::function<void(int percent, const QString &stage)>;

    virtual ~CommandBackend() = default;

    virtual Rewind::Result<QJsonValue> startSession(const QString &spec) = 0;
    virtual Rewind::Result<QJsonValue> stopSession(const QString &session) = 0;
    virtual Rewind::Result<QJsonValue> listSessions() = 0;
    virtual Rewind::Result<QJsonValue> scan(const QString &session) = 0;
    virtual Rewind::Result<QJsonValue> processes(const QString &session) = 0;
    virtual Rewind::Result<QJsonValue> screenshot(const QString &session, const QString &output) = 0;
    /// {"session", "socket"}: a socket only the caller can reach that leads to
    /// the session's display (HelperProtocol::liveView).
    virtual Rewind::Result<QJsonValue> liveView(const QString &session) = 0;
    /// Restores the latest snapshot of a session that no longer runs (crashed, stopped, hibernated) in place: the session.
    virtual Rewind::Result<QJsonValue> recover(const QString &session, const Progress &progress) = 0;
    /// A snapshot (trigger "hibernate"), then the session stops: the snapshot.
    virtual Rewind::Result<QJsonValue> hibernate(const QString &session, const Progress &progress) = 0;
    /// [{"name", "title", "description"}]: the installed session specs.
    virtual Rewind::Result<QJsonValue> listSpecs() = 0;
    virtual Rewind::Result<QJsonValue> snapshot(const QString &session, const QString &label, const Progress &progress) = 0;
    /// All snapshots if session is empty.
    virtual Rewind::Result<QJsonValue> listSnapshots(const QString &session) = 0;
    virtual Rewind::Result<QJsonValue> restore(qint64 snapshot, bool asNew, const Progress &progress) = 0;
    virtual Rewind::Result<QJsonValue> remove(qint64 snapshot) = 0;
    virtual Rewind::Result<QJsonValue> setLabel(qint64 snapshot, const QString &label) = 0;
    virtual Rewind::Result<QJsonValue> setPinned(qint64 snapshot, bool pinned) = 0;
    /// A scheduled snapshot if one is due, then retention (the system's schedule and policy).
    virtual Rewind::Result<QJsonValue> autosave(const QString &session, const Progress &progress) = 0;
    /// {"chunksChecked", "damagedSnapshots"}; damage is not an Error here.
    virtual Rewind::Result<QJsonValue> verify() = 0;
    virtual Rewind::Result<QJsonValue> collectGarbage() = 0;
    /// Writes the snapshot to fd as one stream (SnapshotStream): {"snapshot", "bytes", "chunks"}.
    virtual Rewind::Result<QJsonValue> exportSnapshot(qint64 snapshot, int fd) = 0;
    /// Reads a stream from fd and stores it as a new snapshot of the caller: its JSON.
    virtual Rewind::Result<QJsonValue> importSnapshot(int fd) = 0;
};
