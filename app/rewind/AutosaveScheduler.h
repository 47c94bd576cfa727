// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "AutosaveSettings.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <chrono>

class HelperClient;

/// Autosave, whether the window is open or not: asks the helper's autosave
/// action for each of the user's running sessions, with the user's settings.
/// The helper decides whether a snapshot is due and what to prune; this
/// only asks again when the helper says the next one is due, and at least
/// once a minute (new sessions).
class AutosaveScheduler : public QObject
{
    Q_OBJECT

public:
    explicit AutosaveScheduler(HelperClient *client, QObject *parent = nullptr);

    AutosaveSettings settings() const
    {
        return m_settings;
    }
    /// Applies new settings at once: an earlier snapshot or none at all.
    void setSettings(const AutosaveSettings &settings);

    /// Starts asking (at once), if autosave is enabled.
    void start();
    bool isActive() const;

    /// The longest wait between two rounds.
    static constexpr std::chrono::seconds longestWait{60};

Q_SIGNALS:
    /// The helper took a scheduled snapshot of session (snapshot as listsnapshots shows it).
    void snapshotTaken(const QString &session, const QJsonObject &snapshot);
    /// A round for session failed, with a message a user can act on. Said once
    /// until the message changes or a round succeeds, not every minute.
    void autosaveFailed(const QString &session, const QString &message);
    /// A round for session is done: snapshots may have come or gone.
    void sessionAutosaved(const QString &session);

private:
    void round();
    void roundDone();
    void reportFailure(const QString &session, const QString &message);

    HelperClient *m_client;
    AutosaveSettings m_settings;
    QTimer m_next;
    int m_pending = 0; ///< answers the current round still waits for
    bool m_inRound = false;
    QDateTime m_earliestDue;
    QHash<QString, QString> m_lastFailure; ///< by session: what was last said
};
