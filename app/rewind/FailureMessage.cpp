// SPDX-License-Identifier: GPL-2.0-or-later
#include "FailureMessage.h"

#include "ErrorDetailsDialog.h"
#include "FailureLog.h"

#include <KLocalizedString>
#include <KMessageWidget>

#include <QAction>
#include <QIcon>

FailureMessage::FailureMessage(KMessageWidget *widget)
    : QObject(widget)
    , m_widget(widget)
    , m_details(new QAction(QIcon::fromTheme(QStringLiteral("documentinfo")), i18nc("@action:button", "Details…"), this))
{
    m_details->setObjectName(QStringLiteral("showErrorDetails"));
    connect(m_details, &QAction::triggered, this, &FailureMessage::showDetails);
}

void FailureMessage::show(const QString &operation, const Rewind::Error &error)
{
    m_shown = error;
    if (auto logged = FailureLog::append(operation, error); !logged) {
        qWarning("%s", qPrintable(logged.errorMessage()));
    }
    m_widget->removeAction(m_details);
    if (!error.details.isEmpty()) {
        m_widget->addAction(m_details);
    }
    m_widget->setMessageType(KMessageWidget::Error);
    m_widget->setText(error.message);
    m_widget->animatedShow();
}

void FailureMessage::forget()
{
    m_widget->removeAction(m_details);
    m_shown = Rewind::Error{};
}

void FailureMessage::showDetails()
{
    auto *dialog = new ErrorDetailsDialog(m_shown, FailureLog::path(), m_widget->window());
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}
