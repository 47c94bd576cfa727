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
    // Snapshots stored before the store recorded it have null (or, from older helpers, nothing).
    if (const QJsonValue added = object.value(QStringLiteral("addedBytes")); added.isDouble()) {
        snapshot.addedBytes = added.toInteger();
    }
    snapshot.frozenMs = object.value(QStringLiteral("frozenMs")).toDouble();
    return snapshot;
}

QString TimelineModel::triggerText(const QString &trigger)
{
    if (trigger == QLatin1String("manual")) {
        return i18nc("snapshot trigger", "Manual");
    }
    if (trigger == QLatin1String("scheduled")) {
        return i18nc("snapshot trigger", "Scheduled");
    }
    if (trigger == QLatin1String("before-restore")) {
        return i18nc("snapshot trigger", "Before restore");
    }
    if (trigger == QLatin1String("imported")) {
        return i18nc("snapshot trigger", "Imported");
    }
    if (trigger == QLatin1String("hibernate")) {
        return i18nc("snapshot trigger", "Hibernate");
    }
    // A newer helper's: its own name says more than nothing.
    return trigger.isEmpty() ? i18nc("snapshot trigger", "Unknown") : i18nc("snapshot trigger not known to this version: its name", "Other (%1)", trigger);
}

QString TimelineModel::dayHeading(const QDate &day, const QDate &today)
{
    if (day == today) {
        return i18nc("timeline day heading", "Today");
    }
    if (day == today.addDays(-1)) {
        return i18nc("timeline day heading", "Yesterday");
    }
    return QLocale().toString(day, QLocale::LongFormat);
}

QString TimelineModel::title(const Snapshot &snapshot) const
{
    const QString time = QLocale().toString(snapshot.createdAt.toLocalTime().time(), QLocale::ShortFormat);
    if (!snapshot.label.isEmpty()) {
        return i18nc("timeline entry: time, label, trigger", "%1 – %2 · %3", time, snapshot.label, triggerText(snapshot.trigger));
    }
    return i18nc("timeline entry: time, trigger", "%1 · %2", time, triggerText(snapshot.trigger));
}

QString TimelineModel::details(const Snapshot &snapshot) const
{
    KFormat format;
    QString text = i18n("Snapshot %1, taken %2.\nStored: %3, of which %4 new.\nThe session was paused for %5 ms.",
                        QString::number(snapshot.id),
                        QLocale().toString(snapshot.createdAt.toLocalTime(), QLocale::LongFormat),
                        format.formatByteSize(double(snapshot.storedBytes)),
                        format.formatByteSize(double(snapshot.newBytes)),
                        QString::number(snapshot.frozenMs, 'f', 0));
    if (snapshot.addedBytes) {
        text += QLatin1Char('\n') + i18n("It added %1 to the store when it was taken.", format.formatByteSize(double(*snapshot.addedBytes)));
    }
    return text;
}

QString TimelineModel::heading(int row) const
{
    const QDate day = m_snapshots.at(row).createdAt.toLocalTime().date();
    if (row > 0 && m_snapshots.at(row - 1).createdAt.toLocalTime().date() == day) {
        return {};
    }
    return dayHeading(day, QDate::currentDate());
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
    case Qt::AccessibleTextRole: {
        const QString added = data(index, AddedTextRole).toString();
        return added.isEmpty() ? title(snapshot) : i18nc("accessible timeline entry: title, size added", "%1, %2", title(snapshot), added);
    }
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
    case AddedBytesRole:
        return snapshot.addedBytes ? QVariant(*snapshot.addedBytes) : QVariant();
    case TriggerTextRole:
        return triggerText(snapshot.trigger);
    case DayRole:
        return snapshot.createdAt.toLocalTime().date();
    case DayHeadingRole:
        return heading(index.row());
    case TimeTextRole:
        return QLocale().toString(snapshot.createdAt.toLocalTime().time(), QLocale::ShortFormat);
    case AddedTextRole:
        return snapshot.addedBytes ? i18nc("bytes a snapshot added to the store", "%1 added", KFormat().formatByteSize(double(*snapshot.addedBytes)))
                                   : QString();
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
    names.insert(AddedBytesRole, "addedBytes");
    names.insert(TriggerTextRole, "triggerText");
    names.insert(DayRole, "day");
    names.insert(DayHeadingRole, "dayHeading");
    names.insert(TimeTextRole, "timeText");
    names.insert(AddedTextRole, "addedText");
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
    m_all = incoming;
    for (auto it = m_thumbnails.begin(); it != m_thumbnails.end();) {
        const qint64 id = it.key();
        const bool kept = std::any_of(m_all.cbegin(), m_all.cend(), [id](const Snapshot &s) {
            return s.id == id;
        });
        it = kept ? std::next(it) : m_thumbnails.erase(it);
    }
    showRows(wantedRows());
}

void TimelineModel::showOnly(const QList<qint64> &idsInOrder)
{
    m_shownIds = idsInOrder;
    showRows(wantedRows());
}

void TimelineModel::showAll()
{
    m_shownIds.reset();
    showRows(wantedRows());
}

QList<TimelineModel::Snapshot> TimelineModel::wantedRows() const
{
    if (!m_shownIds) {
        return m_all;
    }
    QList<Snapshot> rows;
    for (const qint64 id : *m_shownIds) {
        const auto found = std::find_if(m_all.cbegin(), m_all.cend(), [id](const Snapshot &s) {
            return s.id == id;
        });
        const bool twice = std::any_of(rows.cbegin(), rows.cend(), [id](const Snapshot &s) {
            return s.id == id;
        });
        if (found != m_all.cend() && !twice) {
            rows.append(*found);
        }
    }
    return rows;
}

void TimelineModel::showRows(const QList<Snapshot> &wanted)
{
    const auto indexIn = [](const QList<Snapshot> &list, qint64 id, qsizetype from = 0) {
        for (qsizetype i = from; i < list.size(); ++i) {
            if (list[i].id == id) {
                return i;
            }
        }
        return qsizetype(-1);
    };
    bool moved = false;
    // Rows that are gone go first, then each wanted one is moved or inserted into its place.
    for (int row = int(m_snapshots.size()) - 1; row >= 0; --row) {
        if (indexIn(wanted, m_snapshots[row].id) < 0) {
            beginRemoveRows({}, row, row);
            m_snapshots.removeAt(row);
            endRemoveRows();
            moved = true;
        }
    }
    for (int row = 0; row < wanted.size(); ++row) {
        if (row < m_snapshots.size() && m_snapshots[row].id == wanted[row].id) {
            if (!(m_snapshots[row] == wanted[row])) {
                m_snapshots[row] = wanted[row];
                Q_EMIT dataChanged(index(row), index(row));
            }
            continue;
        }
        moved = true;
        if (const qsizetype from = indexIn(m_snapshots, wanted[row].id, row + 1); from > 0) {
            beginMoveRows({}, int(from), int(from), {}, row);
            m_snapshots.move(from, row);
            endMoveRows();
            if (!(m_snapshots[row] == wanted[row])) {
                m_snapshots[row] = wanted[row];
                Q_EMIT dataChanged(index(row), index(row));
            }
            continue;
        }
        beginInsertRows({}, row, row);
        m_snapshots.insert(row, wanted[row]);
        endInsertRows();
    }
    // A day's heading sits on its first entry, which may be another one now;
    // and after midnight, today is yesterday (the window refreshes often).
    const QDate today = QDate::currentDate();
    if (today != m_headingsDay) {
        m_headingsDay = today;
        moved = true;
    }
    if (moved && !m_snapshots.isEmpty()) {
        Q_EMIT dataChanged(index(0), index(int(m_snapshots.size()) - 1), {DayHeadingRole});
    }
}

void TimelineModel::setThumbnail(qint64 snapshotId, const QImage &thumbnail)
{
    if (std::none_of(m_all.cbegin(), m_all.cend(), [snapshotId](const Snapshot &s) {
            return s.id == snapshotId;
        })) {
        return;
    }
    m_thumbnails.insert(snapshotId, thumbnail);
    if (const int row = rowOf(snapshotId); row >= 0) {
        Q_EMIT dataChanged(index(row), index(row), {Qt::DecorationRole});
    }
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
