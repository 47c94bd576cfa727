// SPDX-License-Identifier: GPL-2.0-or-later
//
// rewind-session PLAN: the desktop session inside a cell. Started by
// rewind-cell-init as the cell's main command, it reads the session plan
// (JSON written by the engine), starts Xvnc with its VNC on a unix socket in
// the cell's private /tmp, the session's D-Bus bus, the window manager and
// the apps, and lives as long as the display server does.
//
// Nothing here listens on an abstract socket or TCP port: two cells restored
// from one snapshot must not collide on names in a shared network namespace.

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace
{

struct Child {
    pid_t pid = -1;
    QByteArray name;
};

std::vector<Child> children;

void logLine(const char *format, const QByteArray &what, const char *detail = "")
{
    std::fprintf(stderr, "rewind-session: ");
    std::fprintf(stderr, format, what.constData(), detail);
    std::fprintf(stderr, "\n");
}

pid_t spawn(const QByteArray &name, const QList<QByteArray> &argv, const QList<QByteArray> &extraEnvironment)
{
    std::vector<QByteArray> storage(argv.begin(), argv.end());
    std::vector<char *> arguments;
    for (QByteArray &argument : storage) {
        arguments.push_back(argument.data());
    }
    arguments.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid == 0) {
        for (const QByteArray &assignment : extraEnvironment) {
            ::putenv(strdup(assignment.constData()));
        }
        ::execvp(arguments[0], arguments.data());
        logLine("cannot run %s: %s", arguments[0], std::strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        logLine("cannot start %s: %s", name, std::strerror(errno));
        return -1;
    }
    children.push_back({pid, name});
    return pid;
}

/// Waits for a program to create its socket; false after the timeout.
bool waitForPath(const char *path, int timeoutMs)
{
    const timespec tick{0, 10 * 1000 * 1000};
    for (int waited = 0; waited < timeoutMs; waited += 10) {
        struct stat info;
        if (::stat(path, &info) == 0) {
            return true;
        }
        nanosleep(&tick, nullptr);
    }
    return false;
}

QList<QByteArray> toArgv(const QJsonValue &value)
{
    QList<QByteArray> argv;
    const auto array = value.toArray();
    for (const QJsonValue &argument : array) {
        argv.append(argument.toString().toUtf8());
    }
    return argv;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-session PLAN\n");
        return 2;
    }
    QFile planFile(QString::fromLocal8Bit(argv[1]));
    if (!planFile.open(QIODevice::ReadOnly) || planFile.size() > 1024 * 1024) {
        std::fprintf(stderr, "rewind-session: cannot read the session plan %s\n", argv[1]);
        return 1;
    }
    const QJsonObject plan = QJsonDocument::fromJson(planFile.readAll()).object();
    planFile.close(); // no fd may lead outside the cell

    const QByteArray display = ":" + QByteArray::number(plan.value(QStringLiteral("display")).toInt(1));
    const QByteArray runtime = "/tmp/.rewind";
    const QByteArray home = plan.value(QStringLiteral("home")).toString(QStringLiteral("/tmp/home")).toUtf8();
    ::mkdir(runtime.constData(), 0700);
    ::mkdir(home.constData(), 0700);

    const QList<QByteArray> sessionEnvironment = {
        "DISPLAY=" + display,
        "HOME=" + home,
        "XDG_RUNTIME_DIR=" + runtime,
        "DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtime + "/bus",
        "QT_QPA_PLATFORM=xcb",
        "TERM=xterm",
    };
    for (const QByteArray &assignment : sessionEnvironment) {
        ::putenv(strdup(assignment.constData()));
    }

    const pid_t server = spawn("Xvnc",
                               {"Xvnc",
                                display,
                                "-geometry",
                                plan.value(QStringLiteral("geometry")).toString(QStringLiteral("1280x800")).toUtf8(),
                                "-depth",
                                QByteArray::number(plan.value(QStringLiteral("depth")).toInt(24)),
                                "-rfbunixpath",
                                runtime + "/vnc",
                                "-rfbport",
                                "-1",
                                "-SecurityTypes",
                                "None",
                                "-nolisten",
                                "tcp",
                                "-nolisten",
                                "local",
                                "-desktop",
                                plan.value(QStringLiteral("name")).toString(QStringLiteral("Rewind")).toUtf8()},
                               {});
    if (server < 0 || !waitForPath(("/tmp/.X11-unix/X" + display.mid(1)).constData(), 15000)) {
        std::fprintf(stderr, "rewind-session: the display server did not start\n");
        return 1;
    }
    spawn("dbus-daemon", {"dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path=" + runtime + "/bus"}, {});
    waitForPath((runtime + "/bus").constData(), 10000);

    const QList<QByteArray> windowManager = toArgv(plan.value(QStringLiteral("windowManager")));
    if (!windowManager.isEmpty()) {
        spawn("window manager", windowManager, {});
    }
    const auto apps = plan.value(QStringLiteral("apps")).toArray();
    for (const QJsonValue &app : apps) {
        const QJsonObject object = app.toObject();
        QList<QByteArray> environment;
        const QJsonObject env = object.value(QStringLiteral("env")).toObject();
        for (auto it = env.begin(); it != env.end(); ++it) {
            environment.append(it.key().toUtf8() + '=' + it.value().toString().toUtf8());
        }
        spawn(object.value(QStringLiteral("name")).toString().toUtf8(), toArgv(object.value(QStringLiteral("argv"))), environment);
    }
    std::fprintf(stderr, "rewind-session: session running on display %s\n", display.constData());
    std::fflush(stderr);

    // The session lives as long as its display server.
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) {
            continue;
        }
        if (pid < 0 || pid == server) {
            break;
        }
    }
    for (const Child &child : children) {
        ::kill(child.pid, SIGTERM);
    }
    return 0;
}
