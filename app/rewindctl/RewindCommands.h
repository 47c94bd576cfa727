// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QStringList>

#include <memory>

namespace Rewind
{
class SessionManager;
class SnapshotStore;
class SnapshotEngine;
}

struct CommandOptions {
    QString label;
    bool asNew = false;
    QString output;
};

/// rewindctl's commands, run directly on the core engine (as root).
class RewindCommands
{
public:
    explicit RewindCommands(bool json);
    ~RewindCommands();

    static QString usage();
    /// Returns the process exit code.
    int run(const QStringList &arguments, const CommandOptions &options);

private:
    Rewind::Result<QJsonValue> dispatch(const QStringList &arguments, const CommandOptions &options, QString *text);
    Rewind::Result<void> openEngine();

    bool m_json;
    std::unique_ptr<Rewind::SessionManager> m_sessions;
    std::unique_ptr<Rewind::SnapshotStore> m_store;
    std::unique_ptr<Rewind::SnapshotEngine> m_engine;
};
