// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QObject>
#include <QPointer>
#include <QQueue>
#include <QVariantMap>

#include <functional>

/// Calls rewind-helper's actions through KAuth without blocking the GUI.
/// Answers arrive as the JSON the helper sends; failures as messages a user
/// can act on. Calls run one after the other: the helper answers one action
/// at a time, and KAuth would hand a second call's client the first's reply.
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

    /// How many calls are waiting or running.
    int running() const
    {
        return int(m_queue.size()) + (m_busy ? 1 : 0);
    }

Q_SIGNALS:
    void runningChanged(int running);

private:
    struct Call {
        QString action;
        QVariantMap arguments;
        QPointer<const QObject> receiver;
        Done done;
        Progress progress;
        bool retried = false;
    };
    void startNext();

    QQueue<Call> m_queue;
    bool m_busy = false;
};
