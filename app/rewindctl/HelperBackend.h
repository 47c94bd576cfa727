// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "CommandBackend.h"

#include <QVariantMap>

/// rewindctl run by a user: every command is an action of rewind-helper,
/// reached through KAuth on the system bus; polkit decides. With
/// administer set, session and snapshot commands go through the
/// `administer` action and may touch other users' sessions.
class HelperBackend : public CommandBackend
{
public:
    explicit HelperBackend(bool administer);

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
    /// Runs ACTION, or `administer` with OPERATION when administering and OPERATION is set.
    Rewind::Result<QJsonValue> call(const QString &action, const QString &operation, QVariantMap arguments, const Progress &progress = {});
    Rewind::Result<QJsonValue> needsRoot(const QString &command) const;

    bool m_administer;
};
