// SPDX-License-Identifier: GPL-2.0-or-later
//
// REWIND_SESSION_PLAN=JSON rewind-session: the desktop session inside a
// cell. Started by rewind-cell-init as the cell's main command, it takes the
// session plan (JSON made by the engine) from its environment, prepares the session's directories, drops to
// the session's owner ("uid" and "gid" of the plan, as the cell's user
// namespace maps them; a plan without them is root's own session, which runs
// as the cell's root) with no capabilities, and starts Xvnc with its VNC on a unix
// socket in the cell's private /tmp, the session's D-Bus bus, the window
// manager and the apps, with a fixed, minimal environment. It lives as long
// as the display server does.
//
// Nothing here listens on an abstract socket or TCP port: two cells restored
// from one snapshot must not collide on names in a shared network namespace.

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QScopeGuard>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>
#include <xcb/xcb.h>

namespace
{

struct Child {
    pid_t pid = -1;
    QByteArray name;
};

/// The children still running (reaped ones are removed, so that a pid the
/// kernel handed out again is never signalled).
std::vector<Child> children;

void logLine(const char *format, const QByteArray &what, const char *detail = "")
{
    std::fprintf(stderr, "rewind-session: ");
    std::fprintf(stderr, format, what.constData(), detail);
    std::fprintf(stderr, "\n");
}

/// Who the session runs as.
struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
    QByteArray name; ///< from the passwd entry; empty without one
    QByteArray shell;
};

pid_t spawn(const QByteArray &name, const QList<QByteArray> &argv, const QList<QByteArray> &extraEnvironment)
{
    if (argv.isEmpty() || argv.first().isEmpty()) {
        logLine("not starting %s: its command line is empty", name);
        return -1;
    }
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

void forgetChild(pid_t pid)
{
    std::erase_if(children, [pid](const Child &child) {
        return child.pid == pid;
    });
}

/// Waits for a program to create its socket; false after the timeout.
/// Children that end meanwhile are reaped and forgotten.
/// Waits until a window manager owns the ICCCM selection WM_S<screen>: an
/// app that maps its window while the window manager is still starting can
/// stay unmapped for good (seen with openbox), so apps start after it.
bool waitForWindowManager(const QByteArray &display, int timeoutMs)
{
    int screen = 0;
    xcb_connection_t *connection = xcb_connect(display.constData(), &screen);
    const auto disconnect = qScopeGuard([connection] {
        xcb_disconnect(connection);
    });
    if (xcb_connection_has_error(connection)) {
        return false;
    }
    const QByteArray name = "WM_S" + QByteArray::number(screen);
    xcb_intern_atom_reply_t *atom = xcb_intern_atom_reply(connection, xcb_intern_atom(connection, 0, quint16(name.size()), name.constData()), nullptr);
    if (!atom) {
        return false;
    }
    const xcb_atom_t selection = atom->atom;
    std::free(atom);
    const timespec tick{0, 20 * 1000 * 1000};
    for (int waited = 0; waited < timeoutMs; waited += 20) {
        xcb_get_selection_owner_reply_t *owner = xcb_get_selection_owner_reply(connection, xcb_get_selection_owner(connection, selection), nullptr);
        const bool owned = owner && owner->owner != XCB_NONE;
        std::free(owner);
        if (owned) {
            return true;
        }
        nanosleep(&tick, nullptr);
    }
    return false;
}

bool waitForPath(const char *path, int timeoutMs, pid_t mustLive = -1)
{
    const timespec tick{0, 10 * 1000 * 1000};
    for (int waited = 0; waited < timeoutMs; waited += 10) {
        struct stat info;
        if (::stat(path, &info) == 0) {
            return true;
        }
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            forgetChild(pid);
            if (pid == mustLive) {
                return false;
            }
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

[[noreturn]] void fail(const char *what, const QByteArray &detail = {})
{
    if (detail.isEmpty()) {
        std::fprintf(stderr, "rewind-session: %s: %s\n", what, std::strerror(errno));
    } else {
        std::fprintf(stderr, "rewind-session: %s %s: %s\n", what, detail.constData(), std::strerror(errno));
    }
    std::exit(1);
}

/// Creates the directory path (its parent must exist) with mode, owned by
/// uid:gid. An existing one is accepted if it is a real directory already
/// owned by uid; its mode is then set to mode. Symbolic links are refused.
void makeDirectory(const QByteArray &path, mode_t mode, uid_t uid, gid_t gid)
{
    const bool created = ::mkdir(path.constData(), 0700) == 0;
    if (!created && errno != EEXIST) {
        fail("cannot create", path);
    }
    const int fd = ::open(path.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fail("cannot open the directory", path);
    }
    struct stat info;
    if (::fstat(fd, &info) != 0) {
        fail("cannot examine", path);
    }
    if (!created && info.st_uid != uid) {
        errno = EPERM;
        fail("refusing a directory that belongs to someone else:", path);
    }
    if ((created && ::fchown(fd, uid, gid) != 0) || ::fchmod(fd, mode) != 0) {
        fail("cannot set the owner and mode of", path);
    }
    ::close(fd);
}

/// Whether shell is one /etc/shells lists.
bool isLoginShell(const QByteArray &shell)
{
    bool listed = false;
    ::setusershell();
    while (const char *entry = ::getusershell()) {
        if (shell == entry) {
            listed = true;
            break;
        }
    }
    ::endusershell();
    return listed;
}

/// The shell terminals of the session start. The system user of root's
/// sessions has nologin, which would end every terminal at once; bash is
/// preferred to sh there because dash keeps /dev/tty open, which CRIU
/// refuses to dump ("ctty inheritance").
QByteArray sessionShell(const QByteArray &loginShell)
{
    for (const QByteArray &shell : {loginShell, QByteArray("/bin/bash"), QByteArray("/bin/sh")}) {
        if (!shell.isEmpty() && isLoginShell(shell)) {
            return shell;
        }
    }
    return QByteArrayLiteral("/bin/sh");
}

Owner ownerOf(const QJsonObject &plan)
{
    Owner owner;
    if (!plan.contains(QStringLiteral("uid"))) {
        return owner;
    }
    const qint64 uid = plan.value(QStringLiteral("uid")).toInteger(-1);
    const qint64 gid = plan.value(QStringLiteral("gid")).toInteger(-1);
    if (uid < 0 || uid >= qint64(UINT_MAX) || gid < 0 || gid >= qint64(UINT_MAX)) {
        errno = EINVAL;
        fail("the plan's uid and gid must be integers of a user and a group");
    }
    owner.uid = uid_t(uid);
    owner.gid = gid_t(gid);
    errno = 0;
    if (const passwd *entry = ::getpwuid(owner.uid)) {
        owner.name = entry->pw_name;
        owner.shell = sessionShell(entry->pw_shell);
    }
    return owner;
}

/// Becomes the session's owner for good: no supplementary groups (the cell's
/// user namespace maps the owner's uid and gid only), gid, uid, no new
/// privileges, and no capability in any set, nor one to be had back by
/// running a program (an empty bounding set), also for root's own sessions,
/// which run as the cell's root.
void dropPrivileges(const Owner &owner)
{
    for (int capability = 0; capability <= CAP_LAST_CAP; ++capability) {
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
            fail("cannot empty the capability bounding set");
        }
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        fail("cannot clear the ambient capabilities");
    }
    if (::setgroups(0, nullptr) != 0) {
        fail("cannot drop the supplementary groups");
    }
    if (::setresgid(owner.gid, owner.gid, owner.gid) != 0) {
        fail("cannot change to the session's group");
    }
    if (::setresuid(owner.uid, owner.uid, owner.uid) != 0) {
        fail("cannot change to the session's user");
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, none) != 0) {
        fail("cannot drop the capabilities");
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail("cannot forbid new privileges");
    }
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 || ruid != owner.uid || euid != owner.uid || suid != owner.uid
        || rgid != owner.gid || egid != owner.gid || sgid != owner.gid) {
        errno = EPERM;
        fail("the change to the session's user did not take");
    }
    __user_cap_data_struct left[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, left) != 0) {
        fail("cannot read the capabilities");
    }
    for (const __user_cap_data_struct &word : left) {
        if (word.effective || word.permitted || word.inheritable) {
            errno = EPERM;
            fail("capabilities are left after the change to the session's user");
        }
    }
    if (owner.uid != 0 && (::setresuid(0, 0, 0) == 0 || ::setegid(0) == 0)) {
        errno = EPERM;
        fail("root privileges could be regained after the change to the session's user");
    }
}

/// The directory this program was started from (rewind-demo-app lives there too).
QByteArray ownDirectory()
{
    char self[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) {
        return {};
    }
    const QByteArray path(self, length);
    const qsizetype slash = path.lastIndexOf('/');
    return slash > 0 ? path.left(slash) : QByteArray();
}

void setEnvironment(const QList<QByteArray> &assignments)
{
    ::clearenv();
    for (const QByteArray &assignment : assignments) {
        const qsizetype equals = assignment.indexOf('=');
        ::setenv(assignment.left(equals).constData(), assignment.mid(equals + 1).constData(), 1);
    }
}

} // namespace

int main(int argc, char **argv)
{
    Q_UNUSED(argv);
    const QByteArray planText = qgetenv("REWIND_SESSION_PLAN");
    if (argc != 1 || planText.isEmpty()) {
        std::fprintf(stderr, "usage: REWIND_SESSION_PLAN=JSON rewind-session\n");
        return 2;
    }
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(planText, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        std::fprintf(stderr, "rewind-session: the session plan is not a JSON object: %s\n", qPrintable(error.errorString()));
        return 1;
    }
    const QJsonObject plan = document.object();

    const QByteArray display = ":" + QByteArray::number(plan.value(QStringLiteral("display")).toInt(1));
    const QByteArray runtime = "/tmp/.rewind";
    const QByteArray home = plan.value(QStringLiteral("home")).toString(QStringLiteral("/tmp/home")).toUtf8();
    if (!home.startsWith('/')) {
        errno = EINVAL;
        fail("the session's home must be an absolute path:", home);
    }
    const Owner owner = ownerOf(plan);

    // Still root: the directories the session needs, then the change of user.
    ::umask(022);
    makeDirectory("/tmp/.X11-unix", 01777, 0, 0);
    makeDirectory(runtime, 0700, owner.uid, owner.gid);
    makeDirectory(home, 0700, owner.uid, owner.gid);
    dropPrivileges(owner);

    const QByteArray userName = !owner.name.isEmpty() ? owner.name : QByteArray::number(owner.uid);
    const QByteArray libexec = ownDirectory();
    setEnvironment({
        "HOME=" + home,
        "USER=" + userName,
        "LOGNAME=" + userName,
        "SHELL=" + (owner.shell.isEmpty() ? QByteArray("/bin/sh") : owner.shell),
        "PATH=/usr/local/bin:/usr/bin:/bin" + (libexec.isEmpty() ? QByteArray() : ":" + libexec),
        "DISPLAY=" + display,
        "XDG_RUNTIME_DIR=" + runtime,
        "DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtime + "/bus",
        "LANG=" + plan.value(QStringLiteral("lang")).toString(QStringLiteral("C.UTF-8")).toUtf8(),
        "QT_QPA_PLATFORM=xcb",
        "TERM=xterm",
    });
    if (::chdir(home.constData()) != 0) {
        fail("cannot change to the session's home", home);
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
    if (server < 0 || !waitForPath(("/tmp/.X11-unix/X" + display.mid(1)).constData(), 15000, server)) {
        std::fprintf(stderr, "rewind-session: the display server did not start\n");
        for (const Child &child : children) {
            ::kill(child.pid, SIGTERM);
        }
        return 1;
    }
    spawn("dbus-daemon", {"dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path=" + runtime + "/bus"}, {});
    waitForPath((runtime + "/bus").constData(), 10000);

    const QList<QByteArray> windowManager = toArgv(plan.value(QStringLiteral("windowManager")));
    if (!windowManager.isEmpty()) {
        spawn("window manager", windowManager, {});
        if (!waitForWindowManager(display, 10000)) {
            std::fprintf(stderr, "rewind-session: the window manager did not take over the display; starting the apps anyway\n");
        }
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
    bool serverAlive = std::any_of(children.begin(), children.end(), [server](const Child &child) {
        return child.pid == server;
    });
    while (serverAlive) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) {
            continue;
        }
        if (pid < 0) {
            break;
        }
        forgetChild(pid);
        serverAlive = pid != server;
    }
    for (const Child &child : children) {
        ::kill(child.pid, SIGTERM);
    }
    return 0;
}
