// SPDX-License-Identifier: GPL-2.0-or-later
#include "SearchFilterModel.h"

#include "TimelineModel.h"

SearchFilterModel::SearchFilterModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    // Rows the timeline adds or changes are filtered and placed at once.
    setDynamicSortFilter(true);
}

void SearchFilterModel::setMatches(const std::optional<QList<qint64>> &bestFirst)
{
    m_filtering = bestFirst.has_value();
    m_positions.clear();
    if (bestFirst) {
        for (int i = 0; i < bestFirst->size(); ++i) {
            m_positions.insert(bestFirst->at(i), i);
        }
    }
    invalidateRowsFilter();
    // Sorted by the search's order while it is on, else in the timeline's.
    sort(m_filtering ? 0 : -1);
}

qint64 SearchFilterModel::idOf(const QModelIndex &sourceIndex) const
{
    return sourceIndex.data(TimelineModel::IdRole).toLongLong();
}

bool SearchFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    return !m_filtering || m_positions.contains(idOf(sourceModel()->index(sourceRow, 0, sourceParent)));
}

bool SearchFilterModel::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    return m_positions.value(idOf(left)) < m_positions.value(idOf(right));
}
