// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QHash>
#include <QSortFilterProxyModel>

#include <optional>

/// The timeline as a search shows it: only the snapshots a search found, in
/// the order it found them (best match first), or every snapshot in the
/// timeline's own order while no search is on. Reads TimelineModel::IdRole.
class SearchFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit SearchFilterModel(QObject *parent = nullptr);

    /// Shows only these snapshots, best first; std::nullopt shows every one.
    void setMatches(const std::optional<QList<qint64>> &bestFirst);
    bool isFiltering() const
    {
        return m_filtering;
    }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    qint64 idOf(const QModelIndex &sourceIndex) const;

    bool m_filtering = false;
    QHash<qint64, int> m_positions; ///< snapshot id → its place among the matches
};
