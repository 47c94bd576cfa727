// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QObject>
#include <QSet>
#include <QTimer>

#include <chrono>

class HelperClient;

/// Notices the user's sessions that crashed: it asks the helper's
/// listsessions every few seconds and tells of each session the first time
/// it is listed as crashed (its cell died without being stopped), also one
/// that crashed while Rewind was not running.
class CrashWatcher : public QObject
{
    Q_OBJECT

public:
    explicit CrashWatcher(HelperClient *client, QObject *parent = nullptr);

    /// Starts watching, with a first look at once.
    void start(std::chrono::milliseconds interval = std::chrono::seconds(10));

    /// The state listsessions gives a session whose cell died without a stop.
    static inline const QString crashedState = QStringLiteral("crashed");

Q_SIGNALS:
    void sessionCrashed(const QString &session);

private:
    void look();

    HelperClient *m_client;
    QTimer m_poll;
    bool m_looking = false;
    QSet<QString> m_crashed; ///< told of, until listed otherwise (recovered)
};
