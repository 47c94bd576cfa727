// SPDX-License-Identifier: GPL-2.0-or-later
#include "TimelineModel.h"

#include <KFormat>
#include <KLocalizedString>

#include <QJsonObject>
#include <QLocale>

#include <algorithm>

TimelineModel::TimelineModel(QObject *parent)
    : QAbstractListModel(parent)
{
}

int TimelineModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_snapshots.size());
}

TimelineModel::Snapshot TimelineModel::fromJson(const QJsonObject &object)
{
    Snapshot snapshot;
    snapshot.id = object.value(QStringLiteral("id")).toInteger();
    snapshot.createdAt = QDateTime::fromString(object.value(QStringLiteral("createdAt")).toString(), Qt::ISODateWithMs);
    snapshot.label = object.value(QStringLiteral("label")).toString();
    snapshot.trigger = object.value(QStringLiteral("trigger")).toString();
    snapshot.pinned = object.value(QStringLiteral("pinned")).toBool();
    snapshot.storedBytes = object.value(QStringLiteral("storedBytes")).toInteger();
    snapshot.newBytes = object.value(QStringLiteral("newBytes")).toInteger();
    snapshot.frozenMs = object.value(QStringLiteral("frozenMs")).toDouble();
    return snapshot;
}

QString TimelineModel::title(const Snapshot &snapshot) const
{
    const QString time = QLocale().toString(snapshot.createdAt.toLocalTime(), QLocale::ShortFormat);
    if (!snapshot.label.isEmpty()) {
        return i18nc("timeline entry: time, label", "%1 – %2", time, snapshot.label);
    }
    if (snapshot.trigger == QLatin1String("scheduled")) {
        return i18nc("timeline entry: time", "%1 (autosave)", time);
    }
    if (snapshot.trigger == QLatin1String("before-restore")) {
        return i18nc("timeline entry: time", "%1 (before a restore)", time);
    }
    if (snapshot.trigger == QLatin1String("imported")) {
        return i18nc("timeline entry: time", "%1 (imported)", time);
    }
    return time;
}

QString TimelineModel::details(const Snapshot &snapshot) const
{
    KFormat format;
    return i18n("Snapshot %1, taken %2.\nStored: %3, of which %4 new.\nThe session was paused for %5 ms.",
                QString::number(snapshot.id),
                QLocale().toString(snapshot.createdAt.toLocalTime(), QLocale::LongFormat),
                format.formatByteSize(double(snapshot.storedBytes)),
                format.formatByteSize(double(snapshot.newBytes)),
                QString::number(snapshot.frozenMs, 'f', 0));
}

QVariant TimelineModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Snapshot &snapshot = m_snapshots.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return title(snapshot);
    case Qt::ToolTipRole:
        return details(snapshot);
    case Qt::DecorationRole:
        return m_thumbnails.value(snapshot.id);
    case Qt::AccessibleTextRole:
        return title(snapshot);
    case IdRole:
        return snapshot.id;
    case CreatedAtRole:
        return snapshot.createdAt;
    case LabelRole:
        return snapshot.label;
    case TriggerRole:
        return snapshot.trigger;
    case PinnedRole:
        return snapshot.pinned;
    case StoredBytesRole:
        return snapshot.storedBytes;
    case NewBytesRole:
        return snapshot.newBytes;
    case FrozenMsRole:
        return snapshot.frozenMs;
    default:
        return {};
    }
}

QHash<int, QByteArray> TimelineModel::roleNames() const
{
    auto names = QAbstractListModel::roleNames();
    names.insert(IdRole, "snapshotId");
    names.insert(CreatedAtRole, "createdAt");
    names.insert(LabelRole, "label");
    names.insert(TriggerRole, "trigger");
    names.insert(PinnedRole, "pinned");
    names.insert(StoredBytesRole, "storedBytes");
    names.insert(NewBytesRole, "newBytes");
    names.insert(FrozenMsRole, "frozenMs");
    return names;
}

void TimelineModel::setSnapshots(const QJsonArray &snapshots)
{
    QList<Snapshot> incoming;
    for (const QJsonValue &value : snapshots) {
        const Snapshot snapshot = fromJson(value.toObject());
        if (snapshot.id > 0) {
            incoming.append(snapshot);
        }
    }
    std::sort(incoming.begin(), incoming.end(), [](const Snapshot &a, const Snapshot &b) {
        return a.createdAt != b.createdAt ? a.createdAt > b.createdAt : a.id > b.id;
    });

    // Rows that are gone go first, then the new ones come in at their place.
    for (int row = int(m_snapshots.size()) - 1; row >= 0; --row) {
        const qint64 id = m_snapshots[row].id;
        const bool kept = std::any_of(incoming.cbegin(), incoming.cend(), [id](const Snapshot &s) {
            return s.id == id;
        });
        if (!kept) {
            beginRemoveRows({}, row, row);
            m_snapshots.removeAt(row);
            m_thumbnails.remove(id);
            endRemoveRows();
        }
    }
    for (int row = 0; row < incoming.size(); ++row) {
        if (row < m_snapshots.size() && m_snapshots[row].id == incoming[row].id) {
            if (!(m_snapshots[row] == incoming[row])) {
                m_snapshots[row] = incoming[row];
                Q_EMIT dataChanged(index(row), index(row));
            }
            continue;
        }
        beginInsertRows({}, row, row);
        m_snapshots.insert(row, incoming[row]);
        endInsertRows();
    }
}

void TimelineModel::setThumbnail(qint64 snapshotId, const QImage &thumbnail)
{
    const int row = rowOf(snapshotId);
    if (row < 0) {
        return;
    }
    m_thumbnails.insert(snapshotId, thumbnail);
    Q_EMIT dataChanged(index(row), index(row), {Qt::DecorationRole});
}

QList<qint64> TimelineModel::withoutThumbnail() const
{
    QList<qint64> ids;
    for (const Snapshot &snapshot : m_snapshots) {
        if (!m_thumbnails.contains(snapshot.id)) {
            ids.append(snapshot.id);
        }
    }
    return ids;
}

int TimelineModel::rowOf(qint64 snapshotId) const
{
    for (int row = 0; row < m_snapshots.size(); ++row) {
        if (m_snapshots[row].id == snapshotId) {
            return row;
        }
    }
    return -1;
}

qint64 TimelineModel::idAt(int row) const
{
    return row >= 0 && row < m_snapshots.size() ? m_snapshots[row].id : 0;
}
