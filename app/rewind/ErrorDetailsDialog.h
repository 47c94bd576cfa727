// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QDialog>

/// A failure's details (CRIU's log lines, the scan's list) under its
/// message, selectable and with a button that copies them, for a bug report
/// or a closer look.
class ErrorDetailsDialog : public QDialog
{
    Q_OBJECT

public:
    ErrorDetailsDialog(const Rewind::Error &error, const QString &logPath, QWidget *parent = nullptr);
};
