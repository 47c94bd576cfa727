// SPDX-License-Identifier: GPL-2.0-or-later
#include "Notifier.h"

#include "IconTheme.h"

#include <KLocalizedString>
#include <KNotification>

Notifier::Notifier(QObject *parent)
    : QObject(parent)
{
}

KNotification *Notifier::notify(const QString &event, const QString &title, const QString &text)
{
    // Not parented: KNotification deletes itself once closed.
    auto notification = new KNotification(event);
    // Rewind's events, also when run by a program of another name (the tests).
    notification->setComponentName(QStringLiteral("rewind"));
    notification->setTitle(title);
    notification->setText(text);
    notification->setIconName(IconTheme::applicationIconName());
    return notification;
}

void Notifier::send(KNotification *notification, const QList<KNotificationAction *> &actions)
{
    QList<KNotificationAction *> added = actions;
    added.removeAll(nullptr);
    Q_EMIT notified(notification, added);
    notification->sendEvent();
}

KNotificationAction *Notifier::addOpenTimeline(KNotification *notification, const QString &session)
{
    if (session.isEmpty()) {
        return nullptr;
    }
    KNotificationAction *open = notification->addAction(i18nc("@action:button in a notification", "Open Timeline"));
    connect(open, &KNotificationAction::activated, this, [this, session] {
        Q_EMIT openTimelineRequested(session);
    });
    return open;
}

void Notifier::snapshotTaken(const QString &session, qint64 snapshot, bool automatic)
{
    KNotification *notification = notify(snapshotTakenEvent,
                                         automatic ? i18n("Automatic snapshot taken") : i18n("Snapshot taken"),
                                         i18n("Snapshot %1 of %2 is stored.", QString::number(snapshot), session));
    send(notification, {addOpenTimeline(notification, session)});
}

void Notifier::snapshotFailed(const QString &session, const QString &message, bool automatic)
{
    const QString title = automatic ? i18n("Automatic snapshot failed") : i18n("Snapshot failed");
    KNotification *notification = notify(snapshotFailedEvent, title, session.isEmpty() ? message : i18n("%1: %2", session, message));
    send(notification, {addOpenTimeline(notification, session)});
}

void Notifier::operationFinished(const QString &event, const QString &text, const QString &session)
{
    const QString title = event == snapshotTakenEvent ? i18n("Snapshot taken")
        : event == snapshotFailedEvent                ? i18n("Snapshot failed")
        : event == restoreFinishedEvent               ? i18n("Session restored")
        : event == restoreFailedEvent                 ? i18n("Restore failed")
                                                      : i18n("Rewind");
    KNotification *notification = notify(event, title, text);
    send(notification, {addOpenTimeline(notification, session)});
}

void Notifier::sessionCrashed(const QString &session)
{
    // It stays until the user answers: the session is lost until restored.
    KNotification *notification =
        notify(sessionCrashedEvent, i18n("Session crashed"), i18n("Session %1 ended without being stopped. Its newest snapshot can bring it back.", session));
    notification->setFlags(KNotification::Persistent);
    KNotificationAction *recover = notification->addAction(i18nc("@action:button in a notification", "Restore Latest Snapshot"));
    connect(recover, &KNotificationAction::activated, this, [this, session] {
        Q_EMIT recoverRequested(session);
    });
    send(notification, {recover, addOpenTimeline(notification, session)});
}

void Notifier::recoverFinished(const QString &session)
{
    KNotification *notification = notify(restoreFinishedEvent, i18n("Session restored"), i18n("Session %1 runs again from its newest snapshot.", session));
    send(notification, {addOpenTimeline(notification, session)});
}

void Notifier::recoverFailed(const QString &session, const QString &message)
{
    KNotification *notification = notify(restoreFailedEvent, i18n("Restore failed"), i18n("Session %1 could not be brought back: %2", session, message));
    send(notification, {addOpenTimeline(notification, session)});
}
