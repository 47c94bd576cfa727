// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionListModel.h"

#include <KLocalizedString>

#include <QIcon>
#include <QJsonObject>
#include <QSet>

SessionListModel::SessionListModel(QObject *parent)
    : QAbstractListModel(parent)
{
}

int SessionListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_sessions.size());
}

namespace
{
QString stateText(const QString &state)
{
    if (state == QLatin1String("running")) {
        return i18nc("@info session state", "Running");
    }
    if (state == QLatin1String("frozen")) {
        return i18nc("@info session state", "Paused for a snapshot");
    }
    if (state == QLatin1String("crashed")) {
        return i18nc("@info session state", "Crashed — can be recovered");
    }
    if (state == QLatin1String("hibernated")) {
        return i18nc("@info session state", "Hibernated");
    }
    if (state == SessionListModel::snapshotsOnlyState) {
        return i18nc("@info session state", "Snapshots only");
    }
    return i18nc("@info session state", "Stopped");
}
}

QVariant SessionListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Session &session = m_sessions.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return i18nc("session list entry: id, state", "%1\n%2", session.id, stateText(session.state));
    case Qt::AccessibleTextRole:
        return i18nc("session list entry: id, state", "%1, %2", session.id, stateText(session.state));
    case Qt::DecorationRole:
        return QIcon::fromTheme(session.state == QLatin1String("running")          ? QStringLiteral("media-playback-start")
                                    : session.state == QLatin1String("crashed")    ? QStringLiteral("dialog-warning")
                                    : session.state == QLatin1String("hibernated") ? QStringLiteral("system-suspend-hibernate")
                                    : session.state == snapshotsOnlyState          ? QStringLiteral("document-open-recent")
                                                                                   : QStringLiteral("media-playback-stop"));
    case IdRole:
        return session.id;
    case SpecRole:
        return session.spec;
    case StateRole:
        return session.state;
    default:
        return {};
    }
}

QHash<int, QByteArray> SessionListModel::roleNames() const
{
    auto names = QAbstractListModel::roleNames();
    names.insert(IdRole, "sessionId");
    names.insert(SpecRole, "spec");
    names.insert(StateRole, "state");
    return names;
}

void SessionListModel::setSessions(const QJsonArray &sessions)
{
    QList<Session> incoming;
    for (const QJsonValue &value : sessions) {
        const QJsonObject object = value.toObject();
        incoming.append(
            {object.value(QStringLiteral("id")).toString(), object.value(QStringLiteral("spec")).toString(), object.value(QStringLiteral("state")).toString()});
    }
    const auto ids = [](const QList<Session> &list) {
        QStringList result;
        for (const Session &session : list) {
            result.append(session.id);
        }
        return result;
    };
    if (ids(incoming) != ids(m_sessions)) {
        beginResetModel();
        m_sessions = incoming;
        endResetModel();
        return;
    }
    for (int row = 0; row < incoming.size(); ++row) {
        if (!(incoming[row] == m_sessions[row])) {
            m_sessions[row] = incoming[row];
            Q_EMIT dataChanged(index(row), index(row));
        }
    }
}

QJsonArray SessionListModel::withSessionsOfSnapshots(const QJsonArray &sessions, const QJsonArray &snapshots)
{
    QSet<QString> listed;
    for (const QJsonValue &session : sessions) {
        listed.insert(session.toObject().value(QStringLiteral("id")).toString());
    }
    QJsonArray result = sessions;
    for (const QJsonValue &snapshot : snapshots) {
        const QString id = snapshot.toObject().value(QStringLiteral("session")).toString();
        if (!id.isEmpty() && !listed.contains(id)) {
            listed.insert(id);
            result.append(QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("state"), snapshotsOnlyState}});
        }
    }
    return result;
}

int SessionListModel::rowOf(const QString &sessionId) const
{
    for (int row = 0; row < m_sessions.size(); ++row) {
        if (m_sessions[row].id == sessionId) {
            return row;
        }
    }
    return -1;
}
