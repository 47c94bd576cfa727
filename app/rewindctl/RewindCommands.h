// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QStringList>

#include <memory>

class CommandBackend;

struct CommandOptions {
    QString label;
    bool asNew = false;
    QString output;
    bool administer = false; ///< through the helper's administer action: other users' sessions too
};

/// rewindctl's commands: on the core engine as root, through the privileged helper otherwise.
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
    Rewind::Result<void> openBackend(bool administer);

    bool m_json;
    bool m_outputTaken = false; ///< standard output carries an exported stream: messages go to standard error
    std::unique_ptr<CommandBackend> m_backend;
};
