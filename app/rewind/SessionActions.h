// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QObject>
#include <QString>

#include <functional>

class HelperClient;
class QAction;
class QMenu;
class QToolBar;
class QWidget;

/// What the window does with whole sessions: New Session…, Stop, Hibernate,
/// Wake and Recover, as actions with shortcuts and icons, enabled by the
/// selected session's state, each one call of the helper.
class SessionActions : public QObject
{
    Q_OBJECT

public:
    SessionActions(HelperClient *client, QWidget *window);

    /// Adds the actions to menu and toolBar, and to the window for their shortcuts.
    void addTo(QMenu *menu, QToolBar *toolBar);
    /// The selected session and its state (SessionListModel::StateRole);
    /// idle: no call of the helper under way.
    void update(const QString &session, const QString &state, bool idle);

    /// Asks the user a yes/no question; the window asks with a message box, a
    /// test answers without a modal one.
    using Confirmation = std::function<bool(const QString &title, const QString &question)>;
    void setConfirmation(Confirmation confirm);

    QAction *newSessionAction() const
    {
        return m_newSession;
    }

public Q_SLOTS:
    /// Lists the installed specs in a NewSessionDialog and starts the chosen one.
    void newSession();
    void stopSelected();
    void hibernateSelected();
    void wakeSelected();
    void recoverSelected();

Q_SIGNALS:
    /// A call went out; stage says what it does.
    void started(const QString &stage);
    void progressed(int percent, const QString &stage);
    /// event: a rewind.notifyrc event id for a notification, or empty.
    void failed(const QString &message, const QString &event);
    void succeeded(const QString &message, const QString &event);
    /// Sessions changed: the window lists them again and selects session.
    void sessionChanged(const QString &session);

private:
    void start(const QString &spec);
    /// recover, for Wake and Recover alike: the session comes back from its latest snapshot.
    void bringBack(const QString &session, bool waking);

    HelperClient *m_client;
    QWidget *m_window;
    Confirmation m_confirm;
    QString m_session;
    QString m_state;
    QAction *m_newSession = nullptr;
    QAction *m_stop = nullptr;
    QAction *m_hibernate = nullptr;
    QAction *m_wake = nullptr;
    QAction *m_recover = nullptr;
};
