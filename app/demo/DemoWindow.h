// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>
#include <QTimer>
#include <QWidget>

class QLabel;
class QPlainTextEdit;

/// A big counter that goes up every 100 ms above a text editor. When
/// stateFile is set, every new count is also written there.
class DemoWindow : public QWidget
{
    Q_OBJECT

public:
    explicit DemoWindow(const QString &stateFile, QWidget *parent = nullptr);

    qint64 count() const
    {
        return m_count;
    }

private:
    void tick();
    void writeState();

    QString m_stateFile;
    qint64 m_count = 0;
    QTimer m_timer;
    QLabel *m_counterLabel = nullptr;
    QPlainTextEdit *m_editor = nullptr;
};
