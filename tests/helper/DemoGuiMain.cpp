// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-demo-gui: the demo's last part, where a display is available. Run
// under with-system-bus (a private system bus, the real polkitd and the
// build tree's helper), it does what a user of the desktop does: rewind-user
// logs in (an emulated logind session, as in the helper's tests), starts the
// demo session, takes a snapshot, and opens Rewind's window on $DISPLAY.
// The window runs as that user, never as root. Closing it ends the demo;
// REWIND_DEMO_GUI_SECONDS closes it after that many seconds instead.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

namespace
{

void say(const QString &line)
{
    std::printf("%s\n", qPrintable(line));
    std::fflush(stdout);
}

/// A copy of the display's key (XAUTHORITY) the user can read; empty if there is none.
QString userCopyOfDisplayKey(const TestUser &user)
{
    const QString key = qEnvironmentVariable("XAUTHORITY");
    if (key.isEmpty() || !QFileInfo(key).isReadable()) {
        return {};
    }
    const QString copy = HelperTestEnvironment::workDirectory() + QStringLiteral("/xauthority");
    QFile::remove(copy);
    if (!QFile::copy(key, copy) || ::chown(QFile::encodeName(copy).constData(), user.uid, user.uid) != 0
        || ::chmod(QFile::encodeName(copy).constData(), 0600) != 0) {
        return {};
    }
    return copy;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
        say(QStringLiteral("The window cannot be shown here: %1").arg(why));
        return 1;
    }
    const QString display = qEnvironmentVariable("DISPLAY");
    if (display.isEmpty()) {
        say(QStringLiteral("No display: the window is not shown."));
        return 0;
    }

    const TestUser user = TestUser::owner();
    EmulatedLogin login(user, QStringLiteral("demo"), true);
    HelperClient client(user, &login);
    if (!login.valid() || !client.isRunning()) {
        say(QStringLiteral("Could not log %1 in: %2").arg(user.name, client.startError()));
        return 1;
    }
    const HelperReply started = client.call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("demo")}}));
    if (!started.ok()) {
        say(QStringLiteral("Could not start the demo session as %1: %2").arg(user.name, started.errorText));
        return 1;
    }
    const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
    say(QStringLiteral("%1 started the demo session %2 through the helper.").arg(user.name, session));
    // The snapshot's picture shows the demo app once it counts (its state file in the cell).
    const QString state = QStringLiteral("/proc/%1/root/tmp/rewind-demo-state").arg(started.json().toObject().value(QStringLiteral("pid")).toInteger());
    QDeadlineTimer counting(20000);
    while (!QFileInfo::exists(state) && !counting.hasExpired()) {
        QThread::msleep(100); // nothing notifies about a file inside the cell
    }
    const HelperReply snapshot = client.call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}}));
    if (snapshot.ok()) {
        say(QStringLiteral("Snapshot %1 is on its timeline.").arg(snapshot.json().toObject().value(QStringLiteral("id")).toInteger()));
    } else {
        say(QStringLiteral("The snapshot failed: %1").arg(snapshot.errorText));
    }

    QProcess window;
    runAs(window, user, &login);
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("USER"), user.name);
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    environment.insert(QStringLiteral("DISPLAY"), display);
    environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
    if (const QString runtime = userRuntimeDirectory(user); !runtime.isEmpty()) {
        environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    }
    if (const QString key = userCopyOfDisplayKey(user); !key.isEmpty()) {
        environment.insert(QStringLiteral("XAUTHORITY"), key);
    }
    window.setProcessEnvironment(environment);
    window.setWorkingDirectory(QStringLiteral("/"));
    window.setProcessChannelMode(QProcess::ForwardedChannels);
    const QString rewind = QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewind");
    // Its own session bus, for the tray icon and notifications.
    const QString sessionBus = QStandardPaths::findExecutable(QStringLiteral("dbus-run-session"));
    if (sessionBus.isEmpty()) {
        window.start(rewind, {});
    } else {
        window.start(sessionBus, {QStringLiteral("--"), rewind});
    }
    if (!window.waitForStarted()) {
        say(QStringLiteral("Could not open Rewind's window: %1").arg(window.errorString()));
        return 1;
    }
    say(QStringLiteral("Rewind's window is open on %1 as %2. Close it to end the demo.").arg(display, user.name));
    // The window's process ends when it is closed; what it leaves (its session bus) ends with the namespace.
    bool timeUp = false;
    if (const int seconds = qEnvironmentVariableIntValue("REWIND_DEMO_GUI_SECONDS"); seconds > 0) {
        QTimer::singleShot(seconds * 1000, &window, [&] {
            timeUp = window.state() == QProcess::Running;
            window.terminate();
        });
    }
    QObject::connect(&window, &QProcess::finished, &app, &QCoreApplication::quit);
    app.exec();
    const bool closed = timeUp || (window.exitStatus() == QProcess::NormalExit && window.exitCode() == 0);
    say(closed ? QStringLiteral("The window was closed.") : QStringLiteral("Rewind's window ended unexpectedly (exit code %1).").arg(window.exitCode()));

    (void)client.call(HelperRequest::of(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}));
    return closed ? 0 : 1;
}
