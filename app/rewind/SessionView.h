// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QHash>
#include <QImage>
#include <QKeySequence>
#include <QWidget>

class VncConnection;

/// A session's screen as its VNC connection shows it, and, when
/// interactive, the session's keyboard, mouse and clipboard: keys become X
/// keysyms, the pointer is mapped to the display's pixels, and the
/// clipboard goes both ways. Read-only sends nothing. The last picture stays
/// when the connection ends, with a note over it (say, "Reconnecting…").
class SessionView : public QWidget
{
    Q_OBJECT

public:
    explicit SessionView(QWidget *parent = nullptr);
    ~SessionView() override;

    VncConnection *connection() const
    {
        return m_connection;
    }

    bool isInteractive() const
    {
        return m_interactive;
    }
    void setInteractive(bool interactive);

    /// Scaled to the widget, keeping the aspect ratio; otherwise 100%, the widget as large as the display.
    bool fitsToWindow() const
    {
        return m_fitToWindow;
    }
    void setFitToWindow(bool fit);

    /// A line shown over the picture; empty for none.
    void setNote(const QString &note);
    QString note() const
    {
        return m_note;
    }

    /// Keys that stay with the window (its actions' shortcuts) while interactive.
    void setReservedShortcuts(const QList<QKeySequence> &shortcuts)
    {
        m_reservedShortcuts = shortcuts;
    }

    /// The picture shown: the display's framebuffer as last received.
    QImage frame() const
    {
        return m_frame;
    }
    /// Where frame() is drawn in the widget.
    QRect pictureRect() const;

    QSize sizeHint() const override;

Q_SIGNALS:
    /// frame() changed.
    void frameChanged();

protected:
    bool event(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void keyReleaseEvent(QKeyEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void focusOutEvent(QFocusEvent *event) override;
    bool focusNextPrevChild(bool next) override;

private:
    void takeFrame();
    void sendPointer(QPointF position, Qt::MouseButtons buttons);
    void sendKey(quint32 keysym, bool down);
    void syncModifiers(Qt::KeyboardModifiers modifiers);
    void releaseEverything();
    void sendClipboard();
    void clipboardReceived(const QString &text);

    VncConnection *m_connection;
    QImage m_frame;
    QString m_note;
    QList<QKeySequence> m_reservedShortcuts;
    bool m_interactive = false;
    bool m_fitToWindow = true;
    QPoint m_pointer; ///< in the display's pixels, as last sent
    int m_buttonMask = 0;
    QPoint m_wheelRest; ///< wheel movement not sent yet, in eighths of a degree
    QHash<int, quint32> m_pressedKeys; ///< Qt key to the keysym sent for its press
    Qt::KeyboardModifiers m_sentModifiers; ///< modifiers held down on the display by syncModifiers()
    QString m_clipboardFromDisplay; ///< not sent back
};
