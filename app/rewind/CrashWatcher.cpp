// SPDX-License-Identifier: GPL-2.0-or-later
#include "CrashWatcher.h"

#include "HelperClient.h"
#include "HelperProtocol.h"

#include <QJsonArray>

using namespace Rewind;

CrashWatcher::CrashWatcher(HelperClient *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
{
    connect(&m_poll, &QTimer::timeout, this, &CrashWatcher::look);
}

void CrashWatcher::start(std::chrono::milliseconds interval)
{
    m_poll.start(interval);
    look();
}

void CrashWatcher::look()
{
    if (m_looking) {
        return; // the helper is busy (a long snapshot): the last question is still open
    }
    m_looking = true;
    m_client->call(HelperProtocol::listSessions, {}, this, [this](const Result<QJsonValue> &answer) {
        m_looking = false;
        if (!answer) {
            return; // the window and autosave say why the helper cannot be reached
        }
        QSet<QString> crashed;
        const QJsonArray sessions = answer->toArray();
        for (const QJsonValue &session : sessions) {
            if (session[QStringLiteral("state")].toString() == crashedState) {
                crashed.insert(session[QStringLiteral("id")].toString());
            }
        }
        for (const QString &session : std::as_const(crashed)) {
            if (!m_crashed.contains(session)) {
                Q_EMIT sessionCrashed(session);
            }
        }
        m_crashed = crashed; // a recovered session that crashes again is told of again
    });
}
