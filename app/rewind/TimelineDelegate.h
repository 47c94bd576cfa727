// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QStyledItemDelegate>

/// Draws a TimelineModel entry in a list: the day's heading above the first
/// entry of each day, then the picture of the screen, the time, the label,
/// the trigger in words, the bytes the snapshot added and a pin when pinned.
class TimelineDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    explicit TimelineDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    /// The size the picture of the screen is drawn in (it keeps its aspect ratio).
    static QSize thumbnailSize();

private:
    int headingHeight(const QStyleOptionViewItem &option) const;
};
