// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QDialog>
#include <QJsonArray>

class QListWidget;
class QPushButton;

/// Asks which kind of session to start: the installed session specs
/// (the helper's listspecs), each with its title and description.
/// Start (the default button) is enabled once one is selected; Enter or a
/// double click starts it.
class NewSessionDialog : public QDialog
{
    Q_OBJECT

public:
    /// specs: [{"name", "title", "description"}] as listspecs answers.
    explicit NewSessionDialog(const QJsonArray &specs, QWidget *parent = nullptr);

    /// The name of the selected spec (what startsession takes); empty if none.
    QString selectedSpec() const;
    /// Selects the spec of that name, as a user would by clicking it.
    bool selectSpec(const QString &name);
    QPushButton *startButton() const
    {
        return m_start;
    }

private:
    QListWidget *m_list;
    QPushButton *m_start;
};
