// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QAbstractListModel>
#include <QJsonArray>

/// The user's sessions and their states, fed with the helper's JSON.
class SessionListModel : public QAbstractListModel
{
    Q_OBJECT

public:
    enum Role {
        IdRole = Qt::UserRole + 1,
        SpecRole,
        StateRole, ///< "running", "frozen", "stopped", "crashed", "hibernated" or snapshotsOnlyState, untranslated
    };
    Q_ENUM(Role)

    explicit SessionListModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// The state of a session known only by its snapshots: imported ones,
    /// or those of a session that is gone.
    static inline const QString snapshotsOnlyState = QStringLiteral("snapshots-only");

    void setSessions(const QJsonArray &sessions);
    /// sessions (the helper's list), followed by one entry in
    /// snapshotsOnlyState for each other session that snapshots belong to.
    static QJsonArray withSessionsOfSnapshots(const QJsonArray &sessions, const QJsonArray &snapshots);
    int rowOf(const QString &sessionId) const;

private:
    struct Session {
        QString id;
        QString spec;
        QString state;
        bool operator==(const Session &) const = default;
    };
    QList<Session> m_sessions;
};
