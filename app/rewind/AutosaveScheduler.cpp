// SPDX-License-Identifier: GPL-2.0-or-later
#include "AutosaveScheduler.h"

#include "HelperClient.h"
#include "HelperProtocol.h"

#include <KLocalizedString>

#include <QJsonArray>

#include <algorithm>

using namespace Rewind;

AutosaveScheduler::AutosaveScheduler(HelperClient *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_settings(AutosaveSettings::load())
{
    m_next.setSingleShot(true);
    connect(&m_next, &QTimer::timeout, this, &AutosaveScheduler::round);
}

void AutosaveScheduler::setSettings(const AutosaveSettings &settings)
{
    m_settings = settings;
    m_next.stop();
    if (!m_inRound) {
        start();
    } // else the round under way schedules the next one with the new settings
}

void AutosaveScheduler::start()
{
    if (m_settings.enabled && !m_inRound) {
        m_next.start(0);
    }
}

bool AutosaveScheduler::isActive() const
{
    return m_inRound || m_next.isActive();
}

void AutosaveScheduler::round()
{
    if (!m_settings.enabled) {
        return;
    }
    m_inRound = true;
    m_earliestDue = {};
    m_client->call(HelperProtocol::listSessions, {}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            reportFailure(QString(), answer.errorMessage());
            roundDone();
            return;
        }
        m_lastFailure.remove(QString());
        const QJsonArray sessions = answer->toArray();
        for (const QJsonValue &session : sessions) {
            if (session[QStringLiteral("state")].toString() != QLatin1String("running")) {
                continue;
            }
            const QString id = session[QStringLiteral("id")].toString();
            ++m_pending;
            m_client->call(HelperProtocol::autosave, m_settings.arguments(id), this, [this, id](const Result<QJsonValue> &saved) {
                if (!saved) {
                    reportFailure(id, saved.errorMessage());
                } else {
                    m_lastFailure.remove(id);
                    const QJsonObject outcome = saved->toObject();
                    if (const QJsonValue taken = outcome.value(QStringLiteral("taken")); taken.isObject()) {
                        Q_EMIT snapshotTaken(id, taken.toObject());
                    }
                    const QDateTime due = QDateTime::fromString(outcome.value(QStringLiteral("nextDue")).toString(), Qt::ISODate);
                    if (due.isValid() && (!m_earliestDue.isValid() || due < m_earliestDue)) {
                        m_earliestDue = due;
                    }
                    Q_EMIT sessionAutosaved(id);
                }
                if (--m_pending == 0) {
                    roundDone();
                }
            });
        }
        if (m_pending == 0) {
            roundDone();
        }
    });
}

void AutosaveScheduler::roundDone()
{
    m_inRound = false;
    if (!m_settings.enabled) {
        return;
    }
    // A second after the helper's next due time (it counts from the snapshot's
    // start), at least a second and at most longestWait from now.
    auto wait = std::chrono::milliseconds(longestWait);
    if (m_earliestDue.isValid()) {
        const auto untilDue = std::chrono::milliseconds(QDateTime::currentDateTimeUtc().msecsTo(m_earliestDue)) + std::chrono::seconds(1);
        wait = std::clamp<std::chrono::milliseconds>(untilDue, std::chrono::seconds(1), longestWait);
    }
    m_next.start(wait);
}

void AutosaveScheduler::reportFailure(const QString &session, const QString &message)
{
    if (m_lastFailure.value(session) == message) {
        return;
    }
    m_lastFailure.insert(session, message);
    Q_EMIT autosaveFailed(session, message);
}
