// SPDX-License-Identifier: GPL-2.0-or-later
#include "TimelineDelegate.h"

#include "TimelineModel.h"

#include <KLocalizedString>

#include <QApplication>
#include <QIcon>
#include <QImage>
#include <QPainter>

namespace
{
constexpr int margin = 6;
constexpr int pinSize = 16;

QFont headingFont(const QFont &base)
{
    QFont font = base;
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.1);
    return font;
}
}

TimelineDelegate::TimelineDelegate(QObject *parent)
    : QStyledItemDelegate(parent)
{
}

QSize TimelineDelegate::thumbnailSize()
{
    return {160, 100};
}

int TimelineDelegate::headingHeight(const QStyleOptionViewItem &option) const
{
    return QFontMetrics(headingFont(option.font)).height() + 3 * margin;
}

QSize TimelineDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const bool headed = !index.data(TimelineModel::DayHeadingRole).toString().isEmpty();
    const int lines = 3 * option.fontMetrics.height() + 2 * margin;
    const int entry = std::max(thumbnailSize().height(), lines) + 2 * margin;
    return {thumbnailSize().width() + 300, entry + (headed ? headingHeight(option) : 0)};
}

void TimelineDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    painter->save();
    QRect entry = option.rect;
    const QPalette &palette = option.palette;

    // The day's heading, above its first entry, with a line under it.
    const QString heading = index.data(TimelineModel::DayHeadingRole).toString();
    if (!heading.isEmpty()) {
        const int height = headingHeight(option);
        const QRect headingRect(entry.left() + margin, entry.top() + margin, entry.width() - 2 * margin, height - 2 * margin);
        painter->setFont(headingFont(option.font));
        painter->setPen(palette.color(QPalette::WindowText));
        painter->drawText(headingRect, Qt::AlignLeft | Qt::AlignVCenter, heading);
        painter->setPen(palette.color(QPalette::Mid));
        painter->drawLine(headingRect.bottomLeft(), headingRect.bottomRight());
        entry.setTop(entry.top() + height);
    }

    // The entry itself, highlighted as the style does it when selected.
    QStyleOptionViewItem item = option;
    initStyleOption(&item, index);
    item.rect = entry;
    item.text.clear();
    item.icon = QIcon();
    item.features &= ~QStyleOptionViewItem::HasDecoration;
    QStyle *style = option.widget ? option.widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &item, painter, option.widget);

    const QRect pictureRect(entry.left() + margin, entry.top() + margin, thumbnailSize().width(), thumbnailSize().height());
    const QImage picture = index.data(Qt::DecorationRole).value<QImage>();
    if (!picture.isNull()) {
        const QImage scaled = picture.scaled(pictureRect.size(), Qt::KeepAspectRatio, Qt::SmoothTransformation);
        painter->drawImage(pictureRect.topLeft() + QPoint((pictureRect.width() - scaled.width()) / 2, (pictureRect.height() - scaled.height()) / 2), scaled);
    } else {
        painter->setPen(palette.color(QPalette::Mid));
        painter->drawRect(pictureRect.adjusted(0, 0, -1, -1));
    }

    const bool selected = option.state & QStyle::State_Selected;
    const QColor text = palette.color(selected ? QPalette::HighlightedText : QPalette::Text);
    QColor dim = text;
    dim.setAlphaF(0.7);
    const int left = pictureRect.right() + 2 * margin;
    const int width = entry.right() - margin - left;
    const int lineHeight = option.fontMetrics.height();
    int top = entry.top() + margin;

    QFont bold = option.font;
    bold.setBold(true);
    painter->setFont(bold);
    painter->setPen(text);
    const QString time = index.data(TimelineModel::TimeTextRole).toString();
    painter->drawText(QRect(left, top, width, lineHeight), Qt::AlignLeft | Qt::AlignVCenter, time);
    // The pin goes right after the time, where the eye already is.
    const QRect pinRect(left + QFontMetrics(bold).horizontalAdvance(time) + margin, top + (lineHeight - pinSize) / 2, pinSize, pinSize);
    top += lineHeight + margin / 2;

    painter->setFont(option.font);
    const QString label = index.data(TimelineModel::LabelRole).toString();
    if (!label.isEmpty()) {
        painter->drawText(QRect(left, top, width, lineHeight), Qt::AlignLeft | Qt::AlignVCenter, option.fontMetrics.elidedText(label, Qt::ElideRight, width));
        top += lineHeight + margin / 2;
    }

    QStringList facts{index.data(TimelineModel::TriggerTextRole).toString()};
    if (const QString added = index.data(TimelineModel::AddedTextRole).toString(); !added.isEmpty()) {
        facts.append(added);
    }
    const bool pinned = index.data(TimelineModel::PinnedRole).toBool();
    const QIcon pin = QIcon::fromTheme(QStringLiteral("pin"), QIcon::fromTheme(QStringLiteral("window-pin")));
    // Without an icon theme, the word says it.
    if (pinned && pin.isNull()) {
        facts.append(i18nc("a snapshot that is pinned", "Pinned"));
    }
    painter->setPen(dim);
    painter->drawText(QRect(left, top, width, lineHeight),
                      Qt::AlignLeft | Qt::AlignVCenter,
                      option.fontMetrics.elidedText(facts.join(QStringLiteral(" · ")), Qt::ElideRight, width));

    if (pinned && !pin.isNull()) {
        pin.paint(painter, pinRect, Qt::AlignCenter, selected ? QIcon::Selected : QIcon::Normal);
    }

    if (option.state & QStyle::State_HasFocus) {
        QStyleOptionFocusRect focus;
        focus.QStyleOption::operator=(option);
        focus.rect = entry;
        focus.backgroundColor = palette.color(selected ? QPalette::Highlight : QPalette::Base);
        style->drawPrimitive(QStyle::PE_FrameFocusRect, &focus, painter, option.widget);
    }
    painter->restore();
}
