// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <sys/types.h>

/// The X display of a session, driven from a test the way a user at its
/// screen would: xdotool runs in the cell's mount namespace, where the
/// display's socket is (Xvnc listens on no abstract or TCP socket), and stays
/// outside the cell's cgroup and pid namespace, so a snapshot never sees it.
/// Only one program runs at a time and none while a snapshot is taken: a
/// client of the display from outside would make the cell undumpable.
class CellDisplay
{
public:
    /// The display :DISPLAY of the cell whose init is initPid.
    CellDisplay(pid_t initPid, int display);

    /// Runs xdotool with arguments and returns what it printed; empty and
    /// error() set if it failed or took longer than timeoutMs.
    QByteArray xdotool(const QStringList &arguments, int timeoutMs = 30000);
    QString error() const
    {
        return m_error;
    }

    /// Ids of the mapped windows whose WM_CLASS matches className (xdotool's regular expression).
    QStringList visibleWindows(const QString &className);
    /// The title of a window; empty if it has none or is gone.
    QString title(const QString &window);
    /// Makes window the active one and waits until it has the focus.
    bool activate(const QString &window);
    /// Types text into the focused window, key by key.
    bool type(const QString &text);
    /// Presses keys (xdotool's names: "ctrl+l", "Return", ...) one after the other.
    bool keys(const QStringList &keys);

private:
    pid_t m_initPid;
    int m_display;
    QString m_error;
};
