// SPDX-License-Identifier: GPL-2.0-or-later
#include "DemoWindow.h"

#include <KLocalizedString>

#include <QFont>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSaveFile>
#include <QVBoxLayout>

using namespace std::chrono_literals;

DemoWindow::DemoWindow(const QString &stateFile, QWidget *parent)
    : QWidget(parent)
    , m_stateFile(stateFile)
    , m_counterLabel(new QLabel(this))
    , m_editor(new QPlainTextEdit(this))
{
    setWindowTitle(i18nc("@title:window", "Rewind demo"));

    QFont counterFont = m_counterLabel->font();
    counterFont.setPointSize(48);
    counterFont.setBold(true);
    m_counterLabel->setFont(counterFont);
    m_counterLabel->setAlignment(Qt::AlignCenter);
    m_counterLabel->setText(QString::number(m_count));

    m_editor->setPlaceholderText(i18n("Type something, take a snapshot, and bring it back later."));

    auto layout = new QVBoxLayout(this);
    layout->addWidget(m_counterLabel);
    layout->addWidget(m_editor, 1);
    resize(480, 360);

    m_timer.setInterval(100ms);
    connect(&m_timer, &QTimer::timeout, this, &DemoWindow::tick);
    m_timer.start();
    writeState();
}

void DemoWindow::tick()
{
    ++m_count;
    m_counterLabel->setText(QString::number(m_count));
    writeState();
}

void DemoWindow::writeState()
{
    if (m_stateFile.isEmpty()) {
        return;
    }
    // Written whole and renamed into place: a reader never sees half a number.
    QSaveFile file(m_stateFile);
    if (!file.open(QIODevice::WriteOnly)) {
        return;
    }
    file.write(QByteArray::number(m_count) + '\n');
    file.commit();
}
