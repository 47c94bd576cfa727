// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionActions.h"

#include "HelperClient.h"
#include "HelperProtocol.h"
#include "NewSessionDialog.h"

#include <KLocalizedString>

#include <QAction>
#include <QIcon>
#include <QJsonArray>
#include <QJsonObject>
#include <QMenu>
#include <QMessageBox>
#include <QToolBar>
#include <QWidget>

using namespace Rewind;

SessionActions::SessionActions(HelperClient *client, QWidget *window)
    : QObject(window)
    , m_client(client)
    , m_window(window)
{
    m_confirm = [this](const QString &title, const QString &question) {
        return QMessageBox::question(m_window, title, question) == QMessageBox::Yes;
    };
    const auto make =
        [this](const QString &icon, const QString &text, const QString &toolBarText, const QKeySequence &shortcut, void (SessionActions::*slot)()) {
            auto action = new QAction(QIcon::fromTheme(icon), text, this);
            action->setIconText(toolBarText);
            action->setShortcut(shortcut);
            action->setToolTip(QStringLiteral("%1 (%2)").arg(QString(text).remove(QLatin1Char('&')), shortcut.toString(QKeySequence::NativeText)));
            connect(action, &QAction::triggered, this, slot);
            return action;
        };
    m_newSession = make(QStringLiteral("list-add"),
                        i18n("&New Session…"),
                        i18nc("@action:intoolbar", "New"),
                        QKeySequence(QKeySequence::New),
                        &SessionActions::newSession);
    m_stop = make(QStringLiteral("media-playback-stop"),
                  i18n("S&top Session"),
                  i18nc("@action:intoolbar", "Stop"),
                  QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X),
                  &SessionActions::stopSelected);
    m_hibernate = make(QStringLiteral("system-suspend-hibernate"),
                       i18n("&Hibernate Session"),
                       i18nc("@action:intoolbar", "Hibernate"),
                       QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_H),
                       &SessionActions::hibernateSelected);
    m_wake = make(QStringLiteral("media-playback-start"),
                  i18n("&Wake Session"),
                  i18nc("@action:intoolbar", "Wake"),
                  QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_W),
                  &SessionActions::wakeSelected);
    m_recover = make(QStringLiteral("system-reboot"),
                     i18n("Re&cover Session"),
                     i18nc("@action:intoolbar", "Recover"),
                     QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C),
                     &SessionActions::recoverSelected);
    update({}, {}, true);
}

void SessionActions::addTo(QMenu *menu, QToolBar *toolBar)
{
    for (QAction *action : {m_newSession, m_stop, m_hibernate, m_wake, m_recover}) {
        menu->addAction(action);
        toolBar->addAction(action);
        m_window->addAction(action);
    }
}

void SessionActions::update(const QString &session, const QString &state, bool idle)
{
    m_session = session;
    m_state = state;
    const bool running = state == QLatin1String("running");
    m_newSession->setEnabled(idle);
    m_stop->setEnabled(idle && running);
    m_hibernate->setEnabled(idle && running);
    m_wake->setEnabled(idle && state == QLatin1String("hibernated"));
    // A stopped session comes back from its latest snapshot too, if it has one.
    m_recover->setEnabled(idle && (state == QLatin1String("crashed") || state == QLatin1String("stopped")));
}

void SessionActions::setConfirmation(Confirmation confirm)
{
    m_confirm = std::move(confirm);
}

void SessionActions::newSession()
{
    Q_EMIT started(i18nc("@info progress", "Listing session types"));
    m_client->call(HelperProtocol::listSpecs, {}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            Q_EMIT failed(answer.errorMessage(), {});
            return;
        }
        Q_EMIT progressed(100, {});
        auto dialog = new NewSessionDialog(answer->toArray(), m_window);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, this, [this, dialog] {
            start(dialog->selectedSpec());
        });
        dialog->open();
    });
}

void SessionActions::start(const QString &spec)
{
    if (spec.isEmpty()) {
        return;
    }
    Q_EMIT started(i18nc("@info progress", "Starting the session"));
    m_client->call(HelperProtocol::startSession, {{HelperProtocol::specKey, spec}}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            Q_EMIT failed(answer.errorMessage(), {});
            return;
        }
        const QString session = answer->toObject().value(QStringLiteral("id")).toString();
        Q_EMIT succeeded(i18n("Session %1 runs.", session), {});
        Q_EMIT sessionChanged(session);
    });
}

void SessionActions::stopSelected()
{
    const QString session = m_session;
    if (session.isEmpty()
        || !m_confirm(i18nc("@title:window", "Stop Session"),
                      i18n("Stop session %1?\nWhat runs in it and is not in a snapshot is lost. Hibernate keeps it.", session))) {
        return;
    }
    Q_EMIT started(i18nc("@info progress", "Stopping"));
    m_client->call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}, this, [this, session](const Result<QJsonValue> &answer) {
        if (!answer) {
            Q_EMIT failed(answer.errorMessage(), {});
            return;
        }
        Q_EMIT succeeded(i18n("Session %1 was stopped.", session), {});
        Q_EMIT sessionChanged(session);
    });
}

void SessionActions::hibernateSelected()
{
    const QString session = m_session;
    if (session.isEmpty()) {
        return;
    }
    Q_EMIT started(i18nc("@info progress", "Starting"));
    m_client->call(
        HelperProtocol::hibernate,
        {{HelperProtocol::sessionKey, session}},
        this,
        [this, session](const Result<QJsonValue> &answer) {
            if (!answer) {
                Q_EMIT failed(answer.errorMessage(), QStringLiteral("snapshotFailed"));
                return;
            }
            const qint64 id = answer->toObject().value(QStringLiteral("id")).toInteger();
            Q_EMIT succeeded(
                i18n("Session %1 hibernates: it was saved as snapshot %2 and stopped. Wake it to go on where it was.", session, QString::number(id)),
                QStringLiteral("snapshotTaken"));
            Q_EMIT sessionChanged(session);
        },
        [this](int percent, const QString &stage) {
            Q_EMIT progressed(percent, stage);
        });
}

void SessionActions::wakeSelected()
{
    bringBack(m_session, true);
}

void SessionActions::recoverSelected()
{
    bringBack(m_session, false);
}

void SessionActions::bringBack(const QString &session, bool waking)
{
    if (session.isEmpty()) {
        return;
    }
    Q_EMIT started(i18nc("@info progress", "Starting"));
    m_client->call(
        HelperProtocol::recover,
        {{HelperProtocol::sessionKey, session}},
        this,
        [this, session, waking](const Result<QJsonValue> &answer) {
            if (!answer) {
                Q_EMIT failed(answer.errorMessage(), QStringLiteral("restoreFailed"));
                return;
            }
            Q_EMIT succeeded(waking ? i18n("Session %1 is awake again.", session) : i18n("Session %1 was recovered from its latest snapshot.", session),
                             QStringLiteral("restoreFinished"));
            Q_EMIT sessionChanged(session);
        },
        [this](int percent, const QString &stage) {
            Q_EMIT progressed(percent, stage);
        });
}
