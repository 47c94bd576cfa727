// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QObject>

class KMessageWidget;
class QAction;

/// Shows failures in a window's message bar: the message, and where the
/// failure has details (CRIU's log lines), a "Details…" action that opens
/// them in a dialog. Every failure shown also goes to the user's log
/// (FailureLog), with its details.
class FailureMessage : public QObject
{
    Q_OBJECT

public:
    explicit FailureMessage(KMessageWidget *widget);

    /// operation: the helper action that failed ("snapshot"), for the log.
    void show(const QString &operation, const Rewind::Error &error);
    /// Takes the "Details…" action away, before the bar shows something else.
    void forget();

private:
    void showDetails();

    KMessageWidget *m_widget;
    QAction *m_details;
    Rewind::Error m_shown;
};
