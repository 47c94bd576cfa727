// SPDX-License-Identifier: GPL-2.0-or-later
#include "NewSessionDialog.h"

#include <KLocalizedString>

#include <QDialogButtonBox>
#include <QIcon>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace
{
constexpr int specNameRole = Qt::UserRole + 1;
}

NewSessionDialog::NewSessionDialog(const QJsonArray &specs, QWidget *parent)
    : QDialog(parent)
    , m_list(new QListWidget(this))
{
    setWindowTitle(i18nc("@title:window", "New Session"));
    auto label = new QLabel(i18n("What should the new session run?"), this);
    label->setBuddy(m_list);

    m_list->setObjectName(QStringLiteral("specs"));
    m_list->setAccessibleName(i18n("Session types"));
    m_list->setIconSize(QSize(32, 32));
    m_list->setWordWrap(true);
    m_list->setSpacing(2);
    for (const QJsonValue &value : specs) {
        const QJsonObject spec = value.toObject();
        const QString title = spec.value(QStringLiteral("title")).toString();
        const QString description = spec.value(QStringLiteral("description")).toString();
        auto item = new QListWidgetItem(QIcon::fromTheme(QStringLiteral("preferences-desktop")),
                                        description.isEmpty() ? title : i18nc("@item spec title, description", "%1\n%2", title, description),
                                        m_list);
        item->setData(specNameRole, spec.value(QStringLiteral("name")).toString());
        item->setData(Qt::AccessibleTextRole, description.isEmpty() ? title : i18nc("@item spec title, description", "%1, %2", title, description));
        item->setToolTip(description);
    }

    auto buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_start = buttons->button(QDialogButtonBox::Ok);
    m_start->setText(i18nc("@action:button", "&Start"));
    m_start->setIcon(QIcon::fromTheme(QStringLiteral("media-playback-start")));
    m_start->setEnabled(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    // Focus makes an item current without selecting it; only a selection starts.
    connect(m_list, &QListWidget::itemSelectionChanged, this, [this] {
        m_start->setEnabled(!selectedSpec().isEmpty());
    });
    // Enter reaches Start, the default button; a double click starts too.
    m_start->setDefault(true);
    connect(m_list, &QListWidget::itemDoubleClicked, this, [this] {
        if (!selectedSpec().isEmpty()) {
            accept();
        }
    });

    auto layout = new QVBoxLayout(this);
    layout->addWidget(label);
    layout->addWidget(m_list);
    layout->addWidget(buttons);
    m_list->setFocus();
    resize(520, 380);
}

QString NewSessionDialog::selectedSpec() const
{
    const QListWidgetItem *item = m_list->currentItem();
    return item && item->isSelected() ? item->data(specNameRole).toString() : QString();
}

bool NewSessionDialog::selectSpec(const QString &name)
{
    for (int row = 0; row < m_list->count(); ++row) {
        if (m_list->item(row)->data(specNameRole).toString() == name) {
            m_list->setCurrentRow(row);
            return true;
        }
    }
    return false;
}
