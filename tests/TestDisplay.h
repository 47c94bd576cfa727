// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QList>
#include <QPoint>
#include <QRect>
#include <QString>
#include <QStringList>

#include <sys/types.h>

/// The X display of a running session, reached from outside its cell through
/// the display's socket in the cell's /tmp, and driven with xdotool: real
/// input through XTEST, as from a keyboard and a mouse. Nothing of it stays
/// in the cell (xdotool runs here and ends), so it never gets into a snapshot.
class TestDisplay
{
public:
    /// The display of the cell whose init is initPid.
    explicit TestDisplay(pid_t initPid);

    /// Whether xdotool is installed.
    static bool toolsAvailable();
    /// Whether the cell has a display socket.
    bool isValid() const
    {
        return !m_socket.isEmpty();
    }

    /// Ids of the mapped windows whose WM_CLASS class is windowClass (exactly, any case).
    QStringList visibleWindows(const QString &windowClass) const;
    /// The titles of those windows.
    QStringList titles(const QString &windowClass) const;
    /// Whether one of those windows has a title containing fragment.
    bool hasTitle(const QString &windowClass, const QString &fragment) const;
    /// Where the window is on the screen; empty if it is gone.
    QRect geometry(const QString &window) const;

    /// Raises and focuses the window, and waits until the window manager has made it active.
    bool activate(const QString &window) const;
    /// Key combinations such as "ctrl+l" or "Escape", to the focused window.
    bool key(const QString &keys) const;
    /// Types text into the focused window ('\n' is Return).
    bool type(const QString &text) const;
    /// A click of the left button at position of the screen.
    bool click(QPoint position) const;

private:
    /// Runs xdotool with arguments on this display; whether it succeeded, and its standard output.
    bool run(const QStringList &arguments, QByteArray *output = nullptr) const;

    QString m_socket;
};
