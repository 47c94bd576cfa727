// SPDX-License-Identifier: GPL-2.0-or-later
#include "LiveViewWindow.h"

#include "HelperClient.h"
#include "HelperProtocol.h"
#include "VncScreenshot.h"

#include <KLocalizedString>
#include <KMessageWidget>

#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QLocale>
#include <QProcess>
#include <QPushButton>
#include <QStandardPaths>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrentRun>

#include <unistd.h>

using namespace Rewind;

namespace
{
/// Between two pictures: about four a second, and room for the GUI.
constexpr int pictureIntervalMs = 250;
constexpr auto pictureTimeout = std::chrono::seconds(10);
/// Asking again for the hand-off before giving up, some time apart.
constexpr int maximumRenewals = 5;
constexpr int renewalDelayMs = 2000;

/// A viewer that connects to a unix socket given as its path (TigerVNC's).
QString vncViewerProgram()
{
    return QStandardPaths::findExecutable(QStringLiteral("vncviewer"));
}
}

LiveViewWindow::LiveViewWindow(HelperClient *client, const QString &session, QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_client(client)
    , m_session(session)
    , m_screen(new QLabel(this))
    , m_status(new QLabel(this))
    , m_message(new KMessageWidget(this))
    , m_retry(new QPushButton(QIcon::fromTheme(QStringLiteral("view-refresh")), i18n("&Reconnect"), this))
    , m_openInViewer(new QPushButton(QIcon::fromTheme(QStringLiteral("krdc")), i18n("&Open in VNC Viewer"), this))
{
    setAttribute(Qt::WA_DeleteOnClose);
    setWindowTitle(i18nc("@title:window", "%1 — Live View", session));

    m_screen->setObjectName(QStringLiteral("screen"));
    m_screen->setAlignment(Qt::AlignCenter);
    m_screen->setMinimumSize(320, 200);
    m_screen->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
    m_screen->setAccessibleName(i18n("Screen of session %1", session));
    m_screen->setText(i18n("Connecting to session %1…", session));

    m_status->setObjectName(QStringLiteral("status"));
    m_message->setObjectName(QStringLiteral("message"));
    m_message->setWordWrap(true);
    m_message->setCloseButtonVisible(false);
    m_message->hide();

    m_retry->setObjectName(QStringLiteral("reconnect"));
    m_retry->hide();
    connect(m_retry, &QPushButton::clicked, this, [this] {
        m_retry->hide();
        m_message->animatedHide();
        askForHandOff();
    });

    m_openInViewer->setObjectName(QStringLiteral("openInViewer"));
    m_openInViewer->setEnabled(false);
    if (vncViewerProgram().isEmpty()) {
        m_openInViewer->setToolTip(i18n("Install a VNC viewer that connects to unix sockets (TigerVNC's vncviewer) to use the session here."));
    } else {
        m_openInViewer->setToolTip(i18n("Use the session with keyboard and mouse in a VNC viewer."));
    }
    connect(m_openInViewer, &QPushButton::clicked, this, &LiveViewWindow::openInViewer);

    auto buttons = new QHBoxLayout;
    buttons->addWidget(m_status, 1);
    buttons->addWidget(m_retry);
    buttons->addWidget(m_openInViewer);
    auto layout = new QVBoxLayout(this);
    layout->addWidget(m_message);
    layout->addWidget(m_screen, 1);
    layout->addLayout(buttons);

    connect(&m_grab, &QFutureWatcher<Result<QImage>>::finished, this, &LiveViewWindow::pictureTaken);
    resize(900, 640);
    askForHandOff();
}

LiveViewWindow::~LiveViewWindow()
{
    // rewind-screenshot ends within its timeout; the picture is not waited for by a closed window.
    m_grab.disconnect(this);
    m_grab.waitForFinished();
}

void LiveViewWindow::askForHandOff()
{
    m_status->setText(m_renewals > 0 ? i18n("Reconnecting…") : i18n("Connecting…"));
    m_client->call(HelperProtocol::liveView, {{HelperProtocol::sessionKey, m_session}}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            // While reconnecting, the session may still be busy (a snapshot by another program).
            if (m_renewals > 0 && m_renewals < maximumRenewals) {
                renewHandOff();
                return;
            }
            showFailure(answer.errorMessage());
            return;
        }
        // Only a socket in this user's own hand-off directory is used: the reply is broadcast.
        const QString socket = answer->toObject().value(QStringLiteral("socket")).toString();
        if (!socket.startsWith(HelperProtocol::handOffDirectory(::getuid()) + QLatin1Char('/'))) {
            showFailure(i18n("The helper handed over an unexpected place for the live view of %1.", m_session));
            return;
        }
        m_socket = socket;
        m_openInViewer->setEnabled(!vncViewerProgram().isEmpty());
        grabNext();
    });
}

void LiveViewWindow::grabNext()
{
    if (m_grab.isRunning() || m_socket.isEmpty()) {
        return;
    }
    const QString socket = m_socket;
    m_grab.setFuture(QtConcurrent::run([socket] {
        return VncScreenshot::grab(socket, pictureTimeout);
    }));
}

void LiveViewWindow::pictureTaken()
{
    const Result<QImage> picture = m_grab.result();
    if (!picture) {
        // A snapshot ends every live view of the session (its connections
        // cannot be dumped); a new hand-off continues the view.
        if (m_renewals < maximumRenewals) {
            renewHandOff();
            return;
        }
        showFailure(picture.errorMessage());
        return;
    }
    m_renewals = 0;
    m_picture = *picture;
    showPicture();
    m_status->setText(i18n("Live, view only · %1", QLocale().toString(QTime::currentTime(), QLocale::LongFormat)));
    Q_EMIT pictureChanged();
    QTimer::singleShot(pictureIntervalMs, this, &LiveViewWindow::grabNext);
}

void LiveViewWindow::renewHandOff()
{
    m_socket.clear();
    m_status->setText(i18n("Reconnecting…"));
    // At once the first time (after a snapshot); then give what holds the session time.
    QTimer::singleShot(m_renewals == 0 ? 0 : renewalDelayMs, this, &LiveViewWindow::askForHandOff);
    ++m_renewals;
}

void LiveViewWindow::showFailure(const QString &message)
{
    m_socket.clear();
    m_renewals = 0;
    m_openInViewer->setEnabled(false);
    m_status->setText(i18n("Not connected"));
    m_message->setMessageType(KMessageWidget::Error);
    m_message->setText(i18n("The live view of session %1 stopped: %2", m_session, message));
    m_message->animatedShow();
    m_retry->show();
}

void LiveViewWindow::showPicture()
{
    if (m_picture.isNull()) {
        return;
    }
    m_screen->setPixmap(QPixmap::fromImage(m_picture.scaled(m_screen->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation)));
}

void LiveViewWindow::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    showPicture();
}

void LiveViewWindow::openInViewer()
{
    const QString viewer = vncViewerProgram();
    if (viewer.isEmpty() || m_socket.isEmpty() || !QProcess::startDetached(viewer, {m_socket})) {
        m_message->setMessageType(KMessageWidget::Warning);
        m_message->setText(i18n("The VNC viewer %1 could not be started.", viewer));
        m_message->animatedShow();
    }
}
