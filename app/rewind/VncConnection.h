// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QImage>
#include <QMutex>
#include <QObject>
#include <QPoint>
#include <QString>

#include <atomic>

class QThread;
class VncWorker;

/// One RFB (VNC) connection to a session's display through a unix socket,
/// spoken by libvncclient on a thread of its own: the GUI thread never waits
/// for the display. The latest framebuffer is kept here, whole; input and
/// clipboard text go out in the order they are given.
class VncConnection : public QObject
{
    Q_OBJECT

public:
    explicit VncConnection(QObject *parent = nullptr);
    ~VncConnection() override;

    /// Connects to the VNC server behind socketPath, ending any connection
    /// there was. Answers with connected() or disconnected().
    void open(const QString &socketPath);
    /// Ends the connection; no signal follows.
    void close();
    bool isOpen() const
    {
        return m_thread != nullptr;
    }

    /// A copy of the framebuffer as last updated; null before the first update.
    QImage frame() const;

    /// X keysym pressed (down) or released.
    void sendKey(quint32 keysym, bool down);
    /// The pointer at position (framebuffer pixels) with the RFB button mask
    /// (1 left, 2 middle, 4 right, 8/16 wheel up/down, 32/64 wheel left/right).
    void sendPointer(QPoint position, int buttonMask);
    /// The client's clipboard text, for the display's selections.
    void sendClipboard(const QString &text);
    /// Key, pointer and clipboard messages written to the display so far.
    qint64 inputMessagesSent() const
    {
        return m_inputMessagesSent.load();
    }

Q_SIGNALS:
    /// The handshake is done; the display is size pixels large.
    void connected(QSize size);
    /// New pixels in frame().
    void frameChanged();
    /// The display's selection changed to text.
    void clipboardReceived(const QString &text);
    /// The connection could not be made or ended; message says why.
    void disconnected(const QString &message);

private:
    friend class VncWorker;

    QThread *m_thread = nullptr;
    VncWorker *m_worker = nullptr;
    mutable QMutex m_frameMutex;
    QImage m_frame; ///< guarded by m_frameMutex; written by the worker
    std::atomic<bool> m_frameSignalPending = false; ///< frameChanged() is on its way
    quint64 m_generation = 0; ///< of the open connection; GUI thread only
    std::atomic<qint64> m_inputMessagesSent = 0;
};
