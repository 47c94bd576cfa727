// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QAbstractListModel>
#include <QDate>
#include <QDateTime>
#include <QHash>
#include <QImage>
#include <QJsonArray>

#include <optional>

/// The snapshots of one session, newest first, as the timeline shows them:
/// grouped by the day they were taken (DayHeadingRole names the day on the
/// first entry of each), each with its time, label, trigger in words, the
/// bytes it added to the store and whether it is pinned.
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
        /// Stored bytes the snapshot brought into the store; null where unknown (older snapshots).
        AddedBytesRole,
        /// The trigger in words ("Manual", "Before restore", ...).
        TriggerTextRole,
        /// The local day the snapshot was taken (QDate).
        DayRole,
        /// "Today", "Yesterday" or the date, on the first entry of its day; empty on the others.
        DayHeadingRole,
        /// The time of day it was taken, as the locale writes it.
        TimeTextRole,
        /// "1.2 MiB added", empty where unknown.
        AddedTextRole,
    };
    Q_ENUM(Role)

    explicit TimelineModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// Replaces the timeline with these snapshots (any order).
    void setSnapshots(const QJsonArray &snapshots);
    /// Shows only these snapshots, in this order (a search's hits), until
    /// showAll(); ids not on the timeline are left out. Snapshots that
    /// setSnapshots() brings meanwhile stay hidden unless listed.
    void showOnly(const QList<qint64> &idsInOrder);
    /// Shows every snapshot again, newest first.
    void showAll();
    bool isFiltered() const
    {
        return m_shownIds.has_value();
    }

    /// The picture of the screen shown for a snapshot.
    void setThumbnail(qint64 snapshotId, const QImage &thumbnail);
    /// Snapshots on the timeline whose picture has not arrived yet.
    QList<qint64> withoutThumbnail() const;
    /// The row of a snapshot, -1 if it is not on the timeline.
    int rowOf(qint64 snapshotId) const;
    qint64 idAt(int row) const;

    /// How a day is headed on the timeline, seen on today.
    static QString dayHeading(const QDate &day, const QDate &today);
    /// A trigger as listsnapshots names it, in words.
    static QString triggerText(const QString &trigger);

private:
    struct Snapshot {
        qint64 id = 0;
        QDateTime createdAt;
        QString label;
        QString trigger;
        bool pinned = false;
        qint64 storedBytes = 0;
        qint64 newBytes = 0;
        std::optional<qint64> addedBytes;
        double frozenMs = 0;
        bool operator==(const Snapshot &) const = default;
    };
    static Snapshot fromJson(const QJsonObject &object);
    QString title(const Snapshot &snapshot) const;
    QString details(const Snapshot &snapshot) const;
    QString heading(int row) const;
    /// Makes the rows these snapshots, in this order, with the fewest changes.
    void showRows(const QList<Snapshot> &wanted);
    QList<Snapshot> wantedRows() const;

    QList<Snapshot> m_all; ///< every snapshot of the session, newest first
    QList<Snapshot> m_snapshots; ///< the rows
    std::optional<QList<qint64>> m_shownIds;
    QHash<qint64, QImage> m_thumbnails;
    QDate m_headingsDay; ///< the day "Today" stood for when the headings last changed
};
