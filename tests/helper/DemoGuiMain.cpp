// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-demo-gui [--output FILE]: the demo's window step. Run under
// with-system-bus (a private system bus, the real polkitd and the build
// tree's helper), it does what a user of the desktop does: rewind-user logs
// in (an emulated logind session, as in the helper's tests), starts the demo
// session, and uses Rewind's window as that user, never as root
// (rewind-demo-window): Snapshot Now, the snapshot's picture on the
// timeline, Go Back to This Point. A picture of the window goes to FILE.
// On $DISPLAY the window stays open until it is closed
// (REWIND_DEMO_GUI_SECONDS closes it after that many seconds); without a
// display it runs off screen and ends once the picture is taken.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QThread>

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

/// Going back asks for the user's password (polkit's "auth_self_keep"), and
/// the demo's private system bus has no authentication agent: the demo's
/// user may restore without it, as a rule of an administrator's could allow.
bool allowRestoreWithoutPassword(const TestUser &user)
{
    QFile rule(HelperTestEnvironment::workDirectory() + QStringLiteral("/rules.d/50-rewind-demo-restore.rules"));
    if (!rule.open(QIODevice::WriteOnly)) {
        return false;
    }
    rule.write("polkit.addRule(function(action, subject) {\n"
               "    if (action.id == \"org.rewind.helper.restore\" && subject.user == \""
               + user.name.toUtf8()
               + "\") {\n"
                 "        return polkit.Result.YES;\n"
                 "    }\n"
                 "});\n");
    rule.close();
    return rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("output"), QStringLiteral("Where the picture of the window goes."), QStringLiteral("file")});
    parser.process(app);
    if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
        say(QStringLiteral("The window cannot be shown here: %1").arg(why));
        return 1;
    }
    const QString display = qEnvironmentVariable("DISPLAY");

    const TestUser user = TestUser::owner();
    EmulatedLogin login(user, QStringLiteral("demo"), true);
    HelperClient client(user, &login);
    const QString runtime = userRuntimeDirectory(user);
    if (!login.valid() || !client.isRunning() || runtime.isEmpty()) {
        say(QStringLiteral("Could not log %1 in: %2").arg(user.name, client.startError()));
        return 1;
    }
    if (!allowRestoreWithoutPassword(user)) {
        say(QStringLiteral("Could not write the demo's polkit rule."));
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

    QProcess window;
    runAs(window, user, &login);
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("USER"), user.name);
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    if (display.isEmpty()) {
        environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    } else {
        environment.insert(QStringLiteral("DISPLAY"), display);
        environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
        if (const QString key = userCopyOfDisplayKey(user); !key.isEmpty()) {
            environment.insert(QStringLiteral("XAUTHORITY"), key);
        }
    }
    if (const int seconds = qEnvironmentVariableIntValue("REWIND_DEMO_GUI_SECONDS"); seconds > 0) {
        environment.insert(QStringLiteral("REWIND_DEMO_GUI_SECONDS"), QString::number(seconds));
    }
    window.setProcessEnvironment(environment);
    window.setWorkingDirectory(QStringLiteral("/"));
    window.setProcessChannelMode(QProcess::ForwardedChannels);
    // The user's own picture, copied to FILE as root afterwards.
    const QString picture = runtime + QStringLiteral("/rewind-demo-window.png");
    QFile::remove(picture);
    QStringList arguments{QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewind-demo-window"),
                          QStringLiteral("--screenshot"),
                          picture};
    if (!display.isEmpty()) {
        arguments.append(QStringLiteral("--stay"));
        say(QStringLiteral("Rewind's window opens on %1 as %2.").arg(display, user.name));
    } else {
        say(QStringLiteral("No display: Rewind's window runs off screen as %1.").arg(user.name));
    }
    // Its own session bus, for the tray icon and notifications.
    const QString sessionBus = QStandardPaths::findExecutable(QStringLiteral("dbus-run-session"));
    if (sessionBus.isEmpty()) {
        window.start(arguments.first(), arguments.mid(1));
    } else {
        window.start(sessionBus, QStringList{QStringLiteral("--")} + arguments);
    }
    if (!window.waitForStarted()) {
        say(QStringLiteral("Could not open Rewind's window: %1").arg(window.errorString()));
        return 1;
    }
    // The picture is copied as soon as it is there: on a display the window stays open afterwards.
    const QString output = parser.value(QStringLiteral("output"));
    bool copied = false;
    const auto copyPicture = [&] {
        if (copied || output.isEmpty() || !QFileInfo::exists(picture)) {
            return;
        }
        copied = true;
        QFile::remove(output);
        if (QFile::copy(picture, output)) {
            say(QStringLiteral("A picture of the window: %1").arg(QFileInfo(output).absoluteFilePath()));
        } else {
            say(QStringLiteral("Could not copy the picture of the window to %1.").arg(output));
        }
    };
    while (!window.waitForFinished(250)) {
        copyPicture(); // the window's program saves it whole, under its name at once
    }
    copyPicture();
    const bool worked = window.exitStatus() == QProcess::NormalExit && window.exitCode() == 0;
    QFile::remove(picture);
    if (!worked) {
        say(QStringLiteral("The window's part of the demo failed (exit code %1).").arg(window.exitCode()));
    }
    (void)client.call(HelperRequest::of(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}));
    return worked ? 0 : 1;
}
