// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestDisplay.h"

#include <QDir>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QStandardPaths>

#include <algorithm>

TestDisplay::TestDisplay(pid_t initPid)
{
    // rewind-session's Xvnc listens on /tmp/.X11-unix/X<n> of the cell only;
    // Xlib takes the path of a socket as the display's name.
    const QDir sockets(QStringLiteral("/proc/%1/root/tmp/.X11-unix").arg(initPid));
    const QStringList names = sockets.entryList({QStringLiteral("X*")}, QDir::System);
    if (!names.isEmpty()) {
        m_socket = sockets.filePath(names.first());
    }
}

bool TestDisplay::toolsAvailable()
{
    return !QStandardPaths::findExecutable(QStringLiteral("xdotool")).isEmpty();
}

bool TestDisplay::run(const QStringList &arguments, QByteArray *output) const
{
    if (m_socket.isEmpty()) {
        return false;
    }
    QProcess xdotool;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("DISPLAY"), m_socket);
    xdotool.setProcessEnvironment(environment);
    xdotool.setProcessChannelMode(QProcess::SeparateChannels);
    xdotool.start(QStringLiteral("xdotool"), arguments);
    // An X server that does not answer (a frozen cell) must not hang the test.
    if (!xdotool.waitForFinished(20000)) {
        xdotool.kill();
        xdotool.waitForFinished();
        return false;
    }
    if (output) {
        *output = xdotool.readAllStandardOutput();
    }
    return xdotool.exitStatus() == QProcess::NormalExit && xdotool.exitCode() == 0;
}

QStringList TestDisplay::visibleWindows(const QString &windowClass) const
{
    QByteArray output;
    // xdotool's exit code is 1 when nothing matched.
    run({QStringLiteral("search"),
         QStringLiteral("--onlyvisible"),
         QStringLiteral("--classname"),
         QStringLiteral("--class"),
         QLatin1Char('^') + QRegularExpression::escape(windowClass) + QLatin1Char('$')},
        &output);
    return QString::fromUtf8(output).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

QStringList TestDisplay::titles(const QString &windowClass) const
{
    QStringList titles;
    const QStringList windows = visibleWindows(windowClass);
    for (const QString &window : windows) {
        QByteArray title;
        if (run({QStringLiteral("getwindowname"), window}, &title)) {
            titles.append(QString::fromUtf8(title).trimmed());
        }
    }
    return titles;
}

bool TestDisplay::hasTitle(const QString &windowClass, const QString &fragment) const
{
    const QStringList all = titles(windowClass);
    return std::any_of(all.begin(), all.end(), [&fragment](const QString &title) {
        return title.contains(fragment);
    });
}

QRect TestDisplay::geometry(const QString &window) const
{
    QByteArray output;
    if (!run({QStringLiteral("getwindowgeometry"), QStringLiteral("--shell"), window}, &output)) {
        return {};
    }
    QRect rect;
    const QList<QByteArray> lines = output.split('\n');
    for (const QByteArray &line : lines) {
        const QList<QByteArray> pair = line.split('=');
        if (pair.size() != 2) {
            continue;
        }
        const int value = pair[1].toInt();
        if (pair[0] == "X") {
            rect.moveLeft(value);
        } else if (pair[0] == "Y") {
            rect.moveTop(value);
        } else if (pair[0] == "WIDTH") {
            rect.setWidth(value);
        } else if (pair[0] == "HEIGHT") {
            rect.setHeight(value);
        }
    }
    return rect;
}

bool TestDisplay::activate(const QString &window) const
{
    return run({QStringLiteral("windowactivate"), QStringLiteral("--sync"), window});
}

bool TestDisplay::key(const QString &keys) const
{
    return run({QStringLiteral("key"), QStringLiteral("--clearmodifiers"), keys});
}

bool TestDisplay::type(const QString &text) const
{
    // Return as a key of its own: a newline typed right after text can get
    // lost in an entry that completes what was typed (Thunar's location bar).
    const QStringList lines = text.split(QLatin1Char('\n'));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (i > 0 && !key(QStringLiteral("Return"))) {
            return false;
        }
        if (!lines[i].isEmpty() && !run({QStringLiteral("type"), QStringLiteral("--delay"), QStringLiteral("30"), lines[i]})) {
            return false;
        }
    }
    return true;
}

bool TestDisplay::click(QPoint position) const
{
    return run({QStringLiteral("mousemove"),
                QStringLiteral("--sync"),
                QString::number(position.x()),
                QString::number(position.y()),
                QStringLiteral("click"),
                QStringLiteral("1")});
}
