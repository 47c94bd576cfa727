// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CommandBackend.h"

#include <memory>

namespace Rewind
{
class SessionManager;
class SnapshotStore;
class SnapshotEngine;
}

/// rewindctl run as root: straight on the core engine.
class EngineBackend : public CommandBackend
{
public:
    /// Thaws cells a killed snapshot left frozen (saying so on stderr),
    /// clears the staging area and opens the store.
    static Rewind::Result<std::unique_ptr<EngineBackend>> open();
    ~EngineBackend() override;

    Rewind::Result<QJsonValue> startSession(const QString &spec) override;
    Rewind::Result<QJsonValue> stopSession(const QString &session) override;
    Rewind::Result<QJsonValue> listSessions() override;
    Rewind::Result<QJsonValue> scan(const QString &session) override;
    Rewind::Result<QJsonValue> processes(const QString &session) override;
    Rewind::Result<QJsonValue> screenshot(const QString &session, const QString &output) override;
    Rewind::Result<QJsonValue> liveView(const QString &session) override;
    Rewind::Result<QJsonValue> recover(const QString &session, const Progress &progress) override;
    Rewind::Result<QJsonValue> hibernate(const QString &session, const Progress &progress) override;
    Rewind::Result<QJsonValue> listSpecs() override;
    Rewind::Result<QJsonValue> snapshot(const QString &session, const QString &label, const Progress &progress) override;
    Rewind::Result<QJsonValue> listSnapshots(const QString &session) override;
    Rewind::Result<QJsonValue> restore(qint64 snapshot, bool asNew, const Progress &progress) override;
    Rewind::Result<QJsonValue> remove(qint64 snapshot) override;
    Rewind::Result<QJsonValue> setLabel(qint64 snapshot, const QString &label) override;
    Rewind::Result<QJsonValue> setPinned(qint64 snapshot, bool pinned) override;
    Rewind::Result<QJsonValue> autosave(const QString &session, const Progress &progress) override;
    Rewind::Result<QJsonValue> verify() override;
    Rewind::Result<QJsonValue> collectGarbage() override;
    Rewind::Result<QJsonValue> exportSnapshot(qint64 snapshot, int fd) override;
    Rewind::Result<QJsonValue> importSnapshot(int fd) override;

private:
    EngineBackend() = default;

    std::unique_ptr<Rewind::SessionManager> m_sessions;
    std::unique_ptr<Rewind::SnapshotStore> m_store;
    std::unique_ptr<Rewind::SnapshotEngine> m_engine;
};
