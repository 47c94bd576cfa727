// SPDX-License-Identifier: GPL-2.0-or-later
#include "GuiStallProbe.h"

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEvent>
#include <QEventLoop>
#include <QFile>
#include <QMetaEnum>
#include <QThread>

#include <algorithm>
#include <cmath>

namespace
{
constexpr int tickMs = 4;

QString milliseconds(double value)
{
    return QString::number(value, 'f', 2);
}
} // namespace

GuiStallProbe::GuiStallProbe(QObject *parent)
    : QObject(parent)
{
    m_ticker.setTimerType(Qt::PreciseTimer);
    m_ticker.setInterval(tickMs);
    connect(&m_ticker, &QTimer::timeout, this, &GuiStallProbe::tick);
    start();
}

GuiStallProbe::~GuiStallProbe()
{
    stop();
}

void GuiStallProbe::start()
{
    Q_ASSERT(QThread::currentThread() == QCoreApplication::instance()->thread());
    if (m_running) {
        return;
    }
    m_busyMs.clear();
    m_lateMs.clear();
    m_lastTickNs = -1;
    m_stretch.clear();
    m_stretch.reserve(deliveriesKept);
    m_longest.clear();
    m_longestMs = -1;
    m_clock.start();
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
    m_connections = {connect(dispatcher, &QAbstractEventDispatcher::awake, this, &GuiStallProbe::wokeUp),
                     connect(dispatcher, &QAbstractEventDispatcher::aboutToBlock, this, &GuiStallProbe::aboutToBlock)};
    QCoreApplication::instance()->installEventFilter(this);
    // Started from code that runs on the thread: it is busy now.
    m_busy = true;
    m_busySinceNs = m_clock.nsecsElapsed();
    m_running = true;
    m_ticker.start();
}

void GuiStallProbe::stop()
{
    if (!m_running) {
        return;
    }
    // The stretch under way ends here (what a wait ran last, such as the
    // callback that ended it, belongs to it), and so does the tick under way.
    aboutToBlock();
    if (const double overdue = double(m_clock.nsecsElapsed() - m_lastTickNs) / 1e6 - tickMs; m_lastTickNs >= 0 && overdue > 0) {
        m_lateMs.append(overdue);
    }
    m_durationNs = m_clock.nsecsElapsed();
    m_ticker.stop();
    QCoreApplication::instance()->removeEventFilter(this);
    for (const QMetaObject::Connection &connection : std::as_const(m_connections)) {
        disconnect(connection);
    }
    m_connections.clear();
    m_running = false;
}

void GuiStallProbe::wokeUp()
{
    if (!m_busy) {
        m_busy = true;
        m_busySinceNs = m_clock.nsecsElapsed();
        m_stretch.clear();
    }
}

void GuiStallProbe::aboutToBlock()
{
    if (m_busy) {
        const double stretch = double(m_clock.nsecsElapsed() - m_busySinceNs) / 1e6;
        if (stretch > m_longestMs) {
            m_longestMs = stretch;
            m_longest = m_stretch;
        }
        m_busyMs.append(stretch);
        m_busy = false;
    }
}

bool GuiStallProbe::eventFilter(QObject *watched, QEvent *event)
{
    // The first event after the thread waited: it is awake (the glib dispatcher says so only afterwards).
    wokeUp();
    if (m_stretch.size() < deliveriesKept) {
        m_stretch.append(Delivery{watched->metaObject()->className(), int(event->type())});
    }
    return QObject::eventFilter(watched, event);
}

void GuiStallProbe::tick()
{
    const qint64 now = m_clock.nsecsElapsed();
    if (m_lastTickNs >= 0) {
        m_lateMs.append(std::max(0.0, double(now - m_lastTickNs) / 1e6 - tickMs));
    }
    m_lastTickNs = now;
}

GuiStallProbe::Figures GuiStallProbe::figuresOf(QList<double> values)
{
    Figures figures;
    figures.count = values.size();
    if (values.isEmpty()) {
        return figures;
    }
    std::sort(values.begin(), values.end());
    figures.maxMs = values.constLast();
    // The nearest-rank 99th percentile.
    const auto rank = qsizetype(std::ceil(0.99 * double(values.size())));
    figures.p99Ms = values.at(std::clamp<qsizetype>(rank - 1, 0, values.size() - 1));
    return figures;
}

GuiStallProbe::Figures GuiStallProbe::busy() const
{
    return figuresOf(m_busyMs);
}

GuiStallProbe::Figures GuiStallProbe::lateness() const
{
    return figuresOf(m_lateMs);
}

QString GuiStallProbe::longestStretch() const
{
    QStringList deliveries;
    for (const Delivery &delivery : m_longest) {
        const char *type = QMetaEnum::fromType<QEvent::Type>().valueToKey(delivery.type);
        deliveries.append(QLatin1String(delivery.className) + QLatin1Char('/') + (type ? QLatin1String(type) : QString::number(delivery.type)));
    }
    return deliveries.join(QLatin1Char(','));
}

QString GuiStallProbe::line(const QString &operation) const
{
    const Figures stretches = busy();
    const Figures late = lateness();
    return QStringLiteral("gui-stall: operation=%1 busy_max_ms=%2 busy_p99_ms=%3 busy_count=%4 late_max_ms=%5 late_p99_ms=%6 late_count=%7 duration_ms=%8")
        .arg(operation,
             milliseconds(stretches.maxMs),
             milliseconds(stretches.p99Ms),
             QString::number(stretches.count),
             milliseconds(late.maxMs),
             milliseconds(late.p99Ms),
             QString::number(late.count),
             QString::number((m_running ? m_clock.nsecsElapsed() : m_durationNs) / 1000000));
}

void GuiStallProbe::report(const QString &operation) const
{
    const QString text = line(operation);
    qInfo("%s", qPrintable(text));
    qInfo("gui-stall-longest: operation=%s events=%s", qPrintable(operation), qPrintable(longestStretch()));
    if (const QString fileName = qEnvironmentVariable("REWIND_GUI_STALL_FILE"); !fileName.isEmpty()) {
        QFile file(fileName);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Text) || file.write(text.toUtf8() + '\n') < 0) {
            qWarning("could not append to %s: %s", qPrintable(fileName), qPrintable(file.errorString()));
        }
    }
}

bool GuiStallProbe::waitFor(const std::function<bool()> &predicate, int timeoutMs)
{
    if (predicate()) {
        return true;
    }
    QEventLoop loop;
    QTimer check;
    check.setInterval(10);
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (predicate()) {
            loop.quit();
        }
    });
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    check.start();
    deadline.start(timeoutMs);
    loop.exec();
    return predicate();
}
