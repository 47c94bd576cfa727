// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonValue>
#include <QObject>
#include <QPointer>
#include <QQueue>
#include <QVariantMap>

#include <functional>
#include <optional>

class KAuthCaller;

/// Calls rewind-helper's actions through KAuth without blocking the GUI.
/// Answers arrive as the JSON the helper sends; failures as messages a user
/// can act on. Calls run one after the other: the helper answers one action
/// at a time, and KAuth would hand a second call's client the first's reply.
///
/// KAuth itself runs on a thread of its own: creating a KAuth::Action asks
/// polkitd, and executing one asks the bus to start the helper, both with
/// blocking D-Bus calls (tens of milliseconds while a snapshot keeps the
/// machine busy, the helper's start-up time when it has to be started).
/// done and progress run on the thread of the client, which must be the
/// thread of its receivers.
class HelperClient : public QObject
{
    Q_OBJECT

public:
    using Done = std::function<void(const Rewind::Result<QJsonValue> &answer)>;
    using Progress = std::function<void(int percent, const QString &stage)>;

    explicit HelperClient(QObject *parent = nullptr);
    ~HelperClient() override;

    /// Runs the helper action `action` (a HelperProtocol name) with arguments.
    /// done and progress run in receiver's context, and not at all once
    /// receiver is gone (a window closed while its calls were under way).
    void call(const QString &action, const QVariantMap &arguments, const QObject *receiver, Done done, Progress progress = {});

    /// How many calls are waiting or running.
    int running() const
    {
        return int(m_queue.size()) + (m_current ? 1 : 0);
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
    void progressed(quint64 serial, int percent, const QString &stage);
    void answered(quint64 serial, const Rewind::Result<QJsonValue> &answer, bool unanswered);

    QQueue<Call> m_queue;
    std::optional<Call> m_current; ///< the call KAuth runs
    quint64 m_serial = 0; ///< of m_current
    KAuthCaller *m_caller; ///< on KAuth's thread
};
