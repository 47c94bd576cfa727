// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QObject>

class KNotification;
class KNotificationAction;

/// Rewind's notifications: the events of rewind.notifyrc, with the actions
/// that lead on from them. What an action does is for others to decide; the
/// notifier only asks for it (openTimelineRequested, recoverRequested).
class Notifier : public QObject
{
    Q_OBJECT

public:
    explicit Notifier(QObject *parent = nullptr);

    void snapshotTaken(const QString &session, qint64 snapshot, bool automatic);
    void snapshotFailed(const QString &session, const QString &message, bool automatic);
    /// A finished operation of the window (a MainWindow::operationFinished event).
    void operationFinished(const QString &event, const QString &text, const QString &session);
    void sessionCrashed(const QString &session);
    void recoverFinished(const QString &session);
    void recoverFailed(const QString &session, const QString &message);

    /// The event ids of rewind.notifyrc.
    static inline const QString snapshotTakenEvent = QStringLiteral("snapshotTaken");
    static inline const QString snapshotFailedEvent = QStringLiteral("snapshotFailed");
    static inline const QString restoreFinishedEvent = QStringLiteral("restoreFinished");
    static inline const QString restoreFailedEvent = QStringLiteral("restoreFailed");
    static inline const QString sessionCrashedEvent = QStringLiteral("sessionCrashed");

Q_SIGNALS:
    /// "Open Timeline": show the window with session selected.
    void openTimelineRequested(const QString &session);
    /// "Restore Latest Snapshot" of a crashed session.
    void recoverRequested(const QString &session);
    /// A notification is about to be sent, with its actions.
    void notified(KNotification *notification, const QList<KNotificationAction *> &actions);

private:
    KNotification *notify(const QString &event, const QString &title, const QString &text);
    KNotificationAction *addOpenTimeline(KNotification *notification, const QString &session);
    void send(KNotification *notification, const QList<KNotificationAction *> &actions);
};
