// SPDX-License-Identifier: GPL-2.0-or-later
#include "LiveViewWindow.h"

#include "HelperClient.h"
#include "HelperProtocol.h"
#include "SessionView.h"
#include "VncConnection.h"

#include <KLocalizedString>
#include <KMessageWidget>

#include <QAction>
#include <QDir>
#include <QJsonObject>
#include <QLabel>
#include <QScrollArea>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <unistd.h>

namespace
{
/// Asking again for the hand-off before giving up, some time apart.
constexpr int maximumRenewals = 5;
constexpr int renewalDelayMs = 2000;
}

LiveViewWindow::LiveViewWindow(HelperClient *client, const QString &session, QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_client(client)
    , m_session(session)
    , m_view(new SessionView)
    , m_scrollArea(new QScrollArea(this))
    , m_status(new QLabel(this))
    , m_message(new KMessageWidget(this))
{
    setAttribute(Qt::WA_DeleteOnClose);
    setWindowTitle(i18nc("@title:window", "%1 — Live View", session));

    m_view->setObjectName(QStringLiteral("screen"));
    m_view->setAccessibleName(i18n("Screen of session %1", session));
    m_view->setNote(i18n("Connecting to session %1…", session));
    m_scrollArea->setObjectName(QStringLiteral("screenArea"));
    m_scrollArea->setFrameShape(QFrame::NoFrame);
    m_scrollArea->setAlignment(Qt::AlignCenter);
    m_scrollArea->setWidget(m_view);
    m_scrollArea->setWidgetResizable(true);

    m_status->setObjectName(QStringLiteral("status"));
    m_message->setObjectName(QStringLiteral("message"));
    m_message->setWordWrap(true);
    m_message->setCloseButtonVisible(false);
    m_message->hide();

    auto toolBar = new QToolBar(this);
    toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_interact = toolBar->addAction(QIcon::fromTheme(QStringLiteral("input-mouse")), i18n("&Interact"));
    m_interact->setObjectName(QStringLiteral("interact"));
    m_interact->setCheckable(true);
    m_interact->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_I));
    m_interact->setToolTip(i18n("Use the session's keyboard, mouse and clipboard here (%1); off, the view only looks.",
                                m_interact->shortcut().toString(QKeySequence::NativeText)));
    connect(m_interact, &QAction::toggled, this, &LiveViewWindow::setInteractive);

    m_fitToWindow = toolBar->addAction(QIcon::fromTheme(QStringLiteral("zoom-fit-best")), i18n("&Fit to Window"));
    m_fitToWindow->setObjectName(QStringLiteral("fitToWindow"));
    m_fitToWindow->setCheckable(true);
    m_fitToWindow->setChecked(true);
    m_fitToWindow->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_F));
    m_fitToWindow->setToolTip(i18n("Scale the screen to the window; off, show it at 100% with scroll bars."));
    connect(m_fitToWindow, &QAction::toggled, this, &LiveViewWindow::setFitToWindow);

    m_reconnect = toolBar->addAction(QIcon::fromTheme(QStringLiteral("view-refresh")), i18n("&Reconnect"));
    m_reconnect->setObjectName(QStringLiteral("reconnect"));
    m_reconnect->setShortcut(QKeySequence(Qt::Key_F5));
    m_reconnect->setVisible(false);
    connect(m_reconnect, &QAction::triggered, this, [this] {
        m_reconnect->setVisible(false);
        m_message->animatedHide();
        askForHandOff();
    });
    // The window's shortcuts work while the keyboard is the session's.
    m_view->setReservedShortcuts({m_interact->shortcut(), m_fitToWindow->shortcut()});

    auto layout = new QVBoxLayout(this);
    layout->addWidget(toolBar);
    layout->addWidget(m_message);
    layout->addWidget(m_scrollArea, 1);
    layout->addWidget(m_status);

    connect(m_view, &SessionView::frameChanged, this, [this] {
        if (m_renewals > 0 || !m_view->note().isEmpty()) {
            m_renewals = 0;
            showLive();
        }
        Q_EMIT pictureChanged();
    });
    connect(m_view->connection(), &VncConnection::disconnected, this, &LiveViewWindow::connectionLost);
    resize(900, 640);
    showLive();
    askForHandOff();
}

LiveViewWindow::~LiveViewWindow() = default;

QImage LiveViewWindow::picture() const
{
    return m_view->frame();
}

bool LiveViewWindow::isInteractive() const
{
    return m_view->isInteractive();
}

void LiveViewWindow::setInteractive(bool interactive)
{
    m_interact->setChecked(interactive);
    m_view->setInteractive(interactive);
    if (m_view->note().isEmpty()) {
        showLive();
    }
}

void LiveViewWindow::setFitToWindow(bool fit)
{
    m_fitToWindow->setChecked(fit);
    m_scrollArea->setWidgetResizable(fit);
    m_view->setFitToWindow(fit);
}

void LiveViewWindow::askForHandOff()
{
    m_status->setText(m_renewals > 0 ? i18n("Reconnecting…") : i18n("Connecting…"));
    m_client->call(HelperProtocol::liveView, {{HelperProtocol::sessionKey, m_session}}, this, [this](const Rewind::Result<QJsonValue> &answer) {
        if (!answer) {
            // While reconnecting, the session may still be busy (a snapshot by another program).
            if (m_renewals > 0 && m_renewals < maximumRenewals) {
                renewHandOff();
                return;
            }
            showFailure(answer.errorMessage());
            return;
        }
        // Only a socket in this user's own hand-off directory is used.
        const QString socket = QDir::cleanPath(answer->toObject().value(QStringLiteral("socket")).toString());
        if (!socket.startsWith(HelperProtocol::handOffDirectory(::getuid()) + QLatin1Char('/'))) {
            showFailure(i18n("The helper handed over an unexpected place for the live view of %1.", m_session));
            return;
        }
        m_socket = socket;
        m_view->connection()->open(socket);
    });
}

void LiveViewWindow::connectionLost(const QString &message)
{
    // A snapshot ends every connection to the session's display (they cannot
    // be dumped); a new hand-off continues the view.
    if (m_renewals < maximumRenewals) {
        renewHandOff();
        return;
    }
    showFailure(message);
}

void LiveViewWindow::renewHandOff()
{
    m_socket.clear();
    m_view->connection()->close();
    m_status->setText(i18n("Reconnecting…"));
    m_view->setNote(i18n("Reconnecting…"));
    // At once the first time (after a snapshot); then give what holds the session time.
    QTimer::singleShot(m_renewals == 0 ? 0 : renewalDelayMs, this, &LiveViewWindow::askForHandOff);
    ++m_renewals;
}

void LiveViewWindow::showFailure(const QString &message)
{
    m_socket.clear();
    m_renewals = 0;
    m_view->connection()->close();
    m_view->setNote(i18n("Not connected"));
    m_status->setText(i18n("Not connected"));
    m_message->setMessageType(KMessageWidget::Error);
    m_message->setText(i18n("The live view of session %1 stopped: %2", m_session, message));
    m_message->animatedShow();
    m_reconnect->setVisible(true);
}

void LiveViewWindow::showLive()
{
    if (m_view->frame().isNull()) {
        return;
    }
    m_view->setNote({});
    m_message->animatedHide();
    m_status->setText(m_view->isInteractive() ? i18n("Live · keyboard, mouse and clipboard go to the session")
                                              : i18n("Live · view only (Interact to use the session)"));
}
