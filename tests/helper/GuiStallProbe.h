// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QTimer>

#include <functional>

/// How long the GUI thread goes without answering, while it runs: made on
/// that thread, it measures from construction (or start()) to stop() (or
/// destruction) two figures.
///
/// - Busy stretches: from the moment the thread stops waiting for events to
///   the moment it waits again (the dispatcher's aboutToBlock). This is what
///   the application's own code decides: a slot that decodes a big picture,
///   reloads a whole model or makes a blocking D-Bus call shows up here, and
///   nothing else does. It is the figure the tests assert (at most
///   16 ms, one frame). A stretch starts at whichever comes first of the
///   dispatcher's awake and the first event delivered after aboutToBlock:
///   the glib dispatcher emits awake only after it has dispatched, the Unix
///   one before.
/// - Lateness of a 4 ms Qt::PreciseTimer: how much later than due each of
///   its ticks came (the gap between ticks minus 4 ms). That is what a person
///   at the window would feel, but it also holds the time the operating system
///   did not run the thread at all, which on a loaded machine with two cores
///   (a snapshot compresses on all of them) is the scheduler's doing, not
///   ours. It is reported, not asserted.
///
/// Both only mean something while the thread waits in a real event loop
/// (QEventLoop::exec(), QSignalSpy::wait(), waitFor() below): QTRY_* and
/// QTest::qWait() poll without blocking in the dispatcher and sleep between
/// polls, which would count as one long busy stretch and as late ticks.
class GuiStallProbe : public QObject
{
    Q_OBJECT

public:
    /// What the tests allow for the longest busy stretch: one frame at 60 Hz.
    static constexpr double busyLimitMs = 16.0;

    struct Figures {
        double maxMs = 0;
        double p99Ms = 0;
        qsizetype count = 0;
    };

    /// Starts measuring (on the thread of the application's dispatcher, which must be this one).
    explicit GuiStallProbe(QObject *parent = nullptr);
    ~GuiStallProbe() override;

    void start();
    void stop();
    bool isRunning() const
    {
        return m_running;
    }

    /// The stretches the thread was busy without waiting.
    Figures busy() const;
    /// How late the 4 ms timer's ticks came.
    Figures lateness() const;
    /// What the thread handled in its longest busy stretch: the first few
    /// events, as "receiver's class/event type", for finding the culprit.
    QString longestStretch() const;

    /// One line for people and scripts: "gui-stall: operation=OPERATION
    /// busy_max_ms=… busy_p99_ms=… busy_count=… late_max_ms=… late_p99_ms=…
    /// late_count=… duration_ms=…" (how long the probe ran). report() prints it with qInfo and, where the
    /// environment's REWIND_GUI_STALL_FILE names a file, appends it there.
    QString line(const QString &operation) const;
    void report(const QString &operation) const;

    /// Waits, in a real event loop (the thread blocks between events), until
    /// predicate holds, for at most timeoutMs. The predicate is checked every
    /// 10 ms; it must not change anything.
    static bool waitFor(const std::function<bool()> &predicate, int timeoutMs);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void wokeUp();
    void aboutToBlock();
    void tick();
    static Figures figuresOf(QList<double> values);

    QElapsedTimer m_clock;
    QTimer m_ticker;
    bool m_running = false;
    bool m_busy = false;
    qint64 m_busySinceNs = 0;
    qint64 m_lastTickNs = -1;
    qint64 m_durationNs = 0; ///< from start() to stop()
    QList<double> m_busyMs;
    QList<double> m_lateMs;
    struct Delivery {
        const char *className;
        int type;
    };
    static constexpr qsizetype deliveriesKept = 8;
    QList<Delivery> m_stretch; ///< the first events of the stretch under way
    QList<Delivery> m_longest; ///< those of the longest stretch
    double m_longestMs = -1;
    QList<QMetaObject::Connection> m_connections;
};
