// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QFutureWatcher>
#include <QImage>
#include <QWidget>

class HelperClient;
class KMessageWidget;
class QLabel;
class QPushButton;

/// What a running session shows, as it changes: the helper hands over a
/// socket only this user can reach (HelperProtocol::liveView), and the
/// window takes a picture of the session's screen through it, again and
/// again. View only; "Open in VNC Viewer" gives a viewer that also takes the
/// keyboard and mouse. A snapshot ends the hand-off; the window then asks
/// for a new one by itself, a few times, before it says the view stopped.
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
    QImage picture() const
    {
        return m_picture;
    }
    /// The socket handed over, empty until then.
    QString socketPath() const
    {
        return m_socket;
    }

Q_SIGNALS:
    /// A new picture of the screen arrived.
    void pictureChanged();

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void askForHandOff();
    void grabNext();
    void pictureTaken();
    void renewHandOff();
    void showFailure(const QString &message);
    void showPicture();
    void openInViewer();

    HelperClient *m_client;
    QString m_session;
    QString m_socket;
    QImage m_picture;
    QLabel *m_screen;
    QLabel *m_status;
    KMessageWidget *m_message;
    QPushButton *m_retry;
    QPushButton *m_openInViewer;
    QFutureWatcher<Rewind::Result<QImage>> m_grab;
    int m_renewals = 0; ///< new hand-offs asked for since the last picture
};
