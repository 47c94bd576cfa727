// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QMap>
#include <QString>

#include <functional>

class CellDisplay;

/// How an app of Debian starts in a session and how to tell it is up:
/// shared by the app matrix (tests/apps) and rewind-bench (--apps).
struct AppLaunch {
    QString package; ///< the Debian package, for its version
    QString program; ///< must be installed
    QString windowClass; ///< WM_CLASS of its main window (xdotool's regular expression)
    QString command; ///< started in the session's home, filled from the seed directory
    QString readyTitle; ///< its main window's title once it takes input (a page or document loaded)
};

/// The apps by name: firefox, kate, konsole, dolphin, okular, writer.
QMap<QString, AppLaunch> appLaunches();

/// Copies into seed the files the apps expect in their home (tests/apps/data):
/// a page and a fresh profile that shows it at once for Firefox, LibreOffice
/// without its tip of the day. False if a copy failed.
bool seedAppFiles(const QString &seed);

/// The shell command of an app's session entry: copies the seed directory
/// into the home, then runs the app's command (for `sh -c`).
QString appShellCommand(const QString &seed, const AppLaunch &app);

/// The app's main window, once it is shown with titlePart in its title
/// (case-insensitive); empty after timeoutMs or as soon as giveUp() is true.
QString waitForMainWindow(CellDisplay &display, const AppLaunch &app, const QString &titlePart, int timeoutMs, const std::function<bool()> &giveUp = {});
