// SPDX-License-Identifier: GPL-2.0-or-later
#include "AppLaunch.h"

#include "CellDisplay.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QThread>

QMap<QString, AppLaunch> appLaunches()
{
    QMap<QString, AppLaunch> apps;
    apps.insert(QStringLiteral("firefox"),
                {.package = QStringLiteral("firefox-esr"),
                 .program = QStringLiteral("firefox-esr"),
                 .windowClass = QStringLiteral("^(firefox-esr|Firefox-esr|Navigator)$"),
                 .command = QStringLiteral("firefox-esr --profile \"$HOME/firefox\" \"file://$HOME/page.html\""),
                 .readyTitle = QStringLiteral("Notes")});
    apps.insert(QStringLiteral("kate"),
                {.package = QStringLiteral("kate"),
                 .program = QStringLiteral("kate"),
                 .windowClass = QStringLiteral("^kate$"),
                 .command = QStringLiteral("kate \"$HOME/notes.txt\""),
                 .readyTitle = QStringLiteral("notes.txt")});
    apps.insert(QStringLiteral("konsole"),
                {.package = QStringLiteral("konsole"),
                 .program = QStringLiteral("konsole"),
                 .windowClass = QStringLiteral("^konsole$"),
                 .command = QStringLiteral("konsole"),
                 .readyTitle = {}}); // what is typed early waits in its terminal
    apps.insert(QStringLiteral("dolphin"),
                {.package = QStringLiteral("dolphin"),
                 .program = QStringLiteral("dolphin"),
                 .windowClass = QStringLiteral("^dolphin$"),
                 .command = QStringLiteral("dolphin \"$HOME\""),
                 .readyTitle = QStringLiteral("home")}); // "Home — Dolphin"
    apps.insert(QStringLiteral("okular"),
                {.package = QStringLiteral("okular"),
                 .program = QStringLiteral("okular"),
                 .windowClass = QStringLiteral("^okular$"),
                 .command = QStringLiteral("okular \"$HOME/pages.pdf\""),
                 .readyTitle = QStringLiteral("pages.pdf")});
    apps.insert(QStringLiteral("writer"),
                {.package = QStringLiteral("libreoffice-writer"),
                 .program = QStringLiteral("soffice"),
                 .windowClass = QStringLiteral("^(libreoffice-writer|soffice)$"),
                 .command = QStringLiteral("soffice --writer --norestore"),
                 .readyTitle = QStringLiteral("Untitled 1")});
    return apps;
}

namespace
{

/// A file of tests/apps/data, copied to path.
bool copyData(const QString &name, const QString &path)
{
    QDir().mkpath(QFileInfo(path).path());
    return QFile::copy(QStringLiteral(APP_DATA_DIR "/") + name, path);
}

} // namespace

bool seedAppFiles(const QString &seed)
{
    return copyData(QStringLiteral("page.html"), seed + QStringLiteral("/page.html"))
        && copyData(QStringLiteral("user.js"), seed + QStringLiteral("/firefox/user.js"))
        && copyData(QStringLiteral("registrymodifications.xcu"), seed + QStringLiteral("/.config/libreoffice/4/user/registrymodifications.xcu"));
}

QString appShellCommand(const QString &seed, const AppLaunch &app)
{
    return QStringLiteral("cp -R %1/. \"$HOME\" && exec %2").arg(seed, app.command);
}

QString waitForMainWindow(CellDisplay &display, const AppLaunch &app, const QString &titlePart, int timeoutMs, const std::function<bool()> &giveUp)
{
    const QDeadlineTimer deadline(timeoutMs);
    for (;;) {
        const QStringList windows = display.visibleWindows(app.windowClass);
        QString window;
        for (const QString &candidate : windows) {
            if (display.title(candidate).contains(titlePart, Qt::CaseInsensitive)) {
                window = candidate;
            }
        }
        if (!window.isEmpty() || deadline.hasExpired() || (giveUp && giveUp())) {
            return window;
        }
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        QThread::msleep(50);
    }
}
