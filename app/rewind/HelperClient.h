// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QObject>
#include <QVariantMap>

#include <functional>

/// Calls rewind-helper's actions through KAuth without blocking the GUI.
/// Answers arrive as the JSON the helper sends; failures as messages a user
/// can act on.
class HelperClient : public QObject
{
    Q_OBJECT

public:
    using Done = std::function<void(const Rewind::Result<QJsonValue> &answer)>;
    using Progress = std::function<void(int percent, const QString &stage)>;

    explicit HelperClient(QObject *parent = nullptr);

    /// Runs the helper action `action` (a HelperProtocol name) with arguments.
    /// done and progress run in receiver's context, and not at all once
    /// receiver is gone (a window closed while its calls were under way).
    void call(const QString &action, const QVariantMap &arguments, const QObject *receiver, Done done, Progress progress = {});

    /// How many calls are running.
    int running() const
    {
        return m_running;
    }

Q_SIGNALS:
    void runningChanged(int running);

private:
    int m_running = 0;
};
