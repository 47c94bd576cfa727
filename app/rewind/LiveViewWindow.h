// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QImage>
#include <QWidget>

class HelperClient;
class KMessageWidget;
class QAction;
class QLabel;
class QScrollArea;
class SessionView;

/// A running session in a window of its own: its screen as it changes,
/// and, with Interact, its keyboard, mouse and clipboard. The helper hands
/// over a socket only this user can reach (HelperProtocol::liveView); the
/// view speaks VNC through it (SessionView). Live View opens it read-only.
/// A snapshot ends every connection to the display; the window then asks
/// for a new hand-off by itself, a few times, showing the last picture
/// meanwhile, before it says the view stopped.
class LiveViewWindow : public QWidget
{
    Q_OBJECT

public:
    LiveViewWindow(HelperClient *client, const QString &session, QWidget *parent = nullptr);
    ~LiveViewWindow() override;

    QString session() const
    {
        return m_session;
    }
    /// The last picture of the screen, full size; null until the first arrives.
    QImage picture() const;
    /// The socket handed over, empty until then.
    QString socketPath() const
    {
        return m_socket;
    }
    SessionView *view() const
    {
        return m_view;
    }
    bool isInteractive() const;
    void setInteractive(bool interactive);

Q_SIGNALS:
    /// A new picture of the screen arrived.
    void pictureChanged();

private:
    void askForHandOff();
    void connectionLost(const QString &message);
    void renewHandOff();
    void showFailure(const QString &message);
    void showLive();
    void setFitToWindow(bool fit);

    HelperClient *m_client;
    QString m_session;
    QString m_socket;
    SessionView *m_view;
    QScrollArea *m_scrollArea;
    QLabel *m_status;
    KMessageWidget *m_message;
    QAction *m_interact;
    QAction *m_fitToWindow;
    QAction *m_reconnect;
    int m_renewals = 0; ///< new hand-offs asked for since the last picture
};
