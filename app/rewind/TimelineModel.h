// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QAbstractListModel>
#include <QDateTime>
#include <QHash>
#include <QImage>
#include <QJsonArray>

/// The snapshots of one session, newest first, as the timeline shows them.
/// Fed with the JSON the helper (or rewindctl --json list) answers; updates
/// keep rows that did not change, so a view keeps its selection and scroll
/// position while autosave adds snapshots.
class TimelineModel : public QAbstractListModel
{
    Q_OBJECT

public:
    enum Role {
        IdRole = Qt::UserRole + 1,
        CreatedAtRole,
        LabelRole,
        TriggerRole,
        PinnedRole,
        StoredBytesRole,
        NewBytesRole,
        FrozenMsRole,
    };
    Q_ENUM(Role)

    explicit TimelineModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// Replaces the timeline with these snapshots (any order).
    void setSnapshots(const QJsonArray &snapshots);
    /// The picture of the screen shown for a snapshot.
    void setThumbnail(qint64 snapshotId, const QImage &thumbnail);
    /// Snapshots on the timeline whose picture has not arrived yet.
    QList<qint64> withoutThumbnail() const;
    /// The row of a snapshot, -1 if it is not on the timeline.
    int rowOf(qint64 snapshotId) const;
    qint64 idAt(int row) const;

private:
    struct Snapshot {
        qint64 id = 0;
        QDateTime createdAt;
        QString label;
        QString trigger;
        bool pinned = false;
        qint64 storedBytes = 0;
        qint64 newBytes = 0;
        double frozenMs = 0;
        bool operator==(const Snapshot &) const = default;
    };
    static Snapshot fromJson(const QJsonObject &object);
    QString title(const Snapshot &snapshot) const;
    QString details(const Snapshot &snapshot) const;

    QList<Snapshot> m_snapshots;
    QHash<qint64, QImage> m_thumbnails;
};
