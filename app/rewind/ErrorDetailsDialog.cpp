// SPDX-License-Identifier: GPL-2.0-or-later
#include "ErrorDetailsDialog.h"

#include <KLocalizedString>

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QIcon>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

ErrorDetailsDialog::ErrorDetailsDialog(const Rewind::Error &error, const QString &logPath, QWidget *parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("errorDetails"));
    setWindowTitle(i18nc("@title:window", "Details"));

    auto *message = new QLabel(error.message, this);
    message->setObjectName(QStringLiteral("message"));
    message->setWordWrap(true);
    message->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *details = new QPlainTextEdit(error.details, this);
    details->setObjectName(QStringLiteral("details"));
    details->setReadOnly(true);
    details->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    details->setLineWrapMode(QPlainTextEdit::NoWrap);
    details->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

    auto *where = new QLabel(logPath.isEmpty() ? QString() : i18n("These lines are also in %1.", logPath), this);
    where->setObjectName(QStringLiteral("logPath"));
    where->setWordWrap(true);
    where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    where->setVisible(!logPath.isEmpty());

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton *copy = buttons->addButton(i18nc("@action:button", "Copy to Clipboard"), QDialogButtonBox::ActionRole);
    copy->setObjectName(QStringLiteral("copy"));
    copy->setIcon(QIcon::fromTheme(QStringLiteral("edit-copy")));
    connect(copy, &QPushButton::clicked, this, [text = error.fullText()] {
        QApplication::clipboard()->setText(text);
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(message);
    layout->addWidget(details, 1);
    layout->addWidget(where);
    layout->addWidget(buttons);
    resize(760, 360);
}
