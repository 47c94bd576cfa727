// SPDX-License-Identifier: GPL-2.0-or-later
#include "TrayApplication.h"

#include "AutosaveScheduler.h"
#include "CrashWatcher.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "Notifier.h"
#include "SettingsDialog.h"

#include <KLocalizedString>
#include <KStatusNotifierItem>

#include <QAction>
#include <QApplication>
#include <QJsonObject>
#include <QMenu>

using namespace Rewind;

TrayApplication::TrayApplication(HelperClient *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_window(std::make_unique<MainWindow>(client))
    , m_scheduler(new AutosaveScheduler(client, this))
    , m_crashWatcher(new CrashWatcher(client, this))
    , m_notifier(new Notifier(this))
    , m_quit(new QAction(QIcon::fromTheme(QStringLiteral("application-exit")), i18nc("@action", "&Quit"), this))
    , m_configure(new QAction(QIcon::fromTheme(QStringLiteral("configure")), i18nc("@action", "&Configure Rewind…"), this))
    , m_show(new QAction(QIcon::fromTheme(IconTheme::applicationIconName()), i18nc("@action", "&Open Rewind"), this))
    , m_tray(std::make_unique<KStatusNotifierItem>(QStringLiteral("rewind")))
{
    // Closing the window leaves Rewind in the tray, autosaving.
    QApplication::setQuitOnLastWindowClosed(false);

    m_quit->setShortcut(QKeySequence::Quit);
    connect(m_quit, &QAction::triggered, qApp, &QCoreApplication::quit);
    m_configure->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Comma));
    connect(m_configure, &QAction::triggered, this, &TrayApplication::showSettings);
    connect(m_show, &QAction::triggered, this, [this] {
        openTimeline(m_window->currentSession());
    });
    m_window->addApplicationActions(m_quit, m_configure);

    m_tray->setIconByName(IconTheme::applicationIconName());
    m_tray->setTitle(i18n("Rewind"));
    m_tray->setToolTip(IconTheme::applicationIconName(), i18n("Rewind"), i18n("Session snapshots"));
    m_tray->setCategory(KStatusNotifierItem::ApplicationStatus);
    // Its own Quit instead of the item's, which asks first: here Quit is Quit.
    m_tray->setStandardActionsEnabled(false);
    QMenu *menu = m_tray->contextMenu();
    menu->addAction(m_show);
    menu->addAction(m_window->snapshotAction());
    menu->addSeparator();
    menu->addAction(m_configure);
    menu->addSeparator();
    menu->addAction(m_quit);
    // A click on the icon shows or hides the window (setAssociatedWindow in start()).

    connect(m_window.get(), &MainWindow::operationFinished, this, [this](const QString &event, const QString &text) {
        m_notifier->operationFinished(event, text, m_window->currentSession());
    });
    connect(m_scheduler, &AutosaveScheduler::snapshotTaken, this, [this](const QString &session, const QJsonObject &snapshot) {
        m_notifier->snapshotTaken(session, snapshot.value(QStringLiteral("id")).toInteger(), true);
    });
    connect(m_scheduler, &AutosaveScheduler::autosaveFailed, this, [this](const QString &session, const QString &message) {
        m_notifier->snapshotFailed(session, message, true);
    });
    connect(m_scheduler, &AutosaveScheduler::sessionAutosaved, this, [this](const QString &session) {
        if (m_window->isVisible() && session == m_window->currentSession()) {
            m_window->refresh();
        }
    });
    connect(m_crashWatcher, &CrashWatcher::sessionCrashed, m_notifier, &Notifier::sessionCrashed);
    connect(m_crashWatcher, &CrashWatcher::sessionCrashed, m_window.get(), &MainWindow::refresh);
    connect(m_notifier, &Notifier::openTimelineRequested, this, &TrayApplication::openTimeline);
    connect(m_notifier, &Notifier::recoverRequested, this, &TrayApplication::recover);
}

TrayApplication::~TrayApplication()
{
    delete m_settings;
}

void TrayApplication::start(bool inTray)
{
    m_window->refresh(); // the tray's Snapshot Now acts on the window's session
    if (!inTray) {
        m_window->show();
    }
    m_tray->setAssociatedWindow(m_window->windowHandle());
    m_scheduler->start();
    m_crashWatcher->start();
}

void TrayApplication::openTimeline(const QString &session)
{
    m_window->showSession(session);
    m_window->show();
    m_window->raise();
    m_window->activateWindow();
}

SettingsDialog *TrayApplication::showSettings()
{
    if (!m_settings) {
        // Not the window's child: it opens from the tray with the window hidden.
        m_settings = new SettingsDialog(m_client);
        m_settings->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_settings, &SettingsDialog::settingsSaved, m_scheduler, &AutosaveScheduler::setSettings);
    }
    m_settings->show();
    m_settings->raise();
    m_settings->activateWindow();
    return m_settings;
}

void TrayApplication::recover(const QString &session)
{
    m_client->call(HelperProtocol::recover, {{HelperProtocol::sessionKey, session}}, this, [this, session](const Result<QJsonValue> &answer) {
        if (!answer) {
            m_notifier->recoverFailed(session, answer.errorMessage());
            Q_EMIT recovered(session, answer.errorMessage());
            return;
        }
        m_notifier->recoverFinished(session);
        m_window->refresh();
        Q_EMIT recovered(session, QString());
    });
}
