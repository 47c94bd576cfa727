// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-as-owner PROGRAM [ARGUMENTS]: runs a GUI test program as the
// user it is for. Under with-system-bus (as root) it logs rewind-user in (an
// emulated, active logind session, what polkit looks at; a polkit rule
// stands in for the password of the actions that ask for it), runs PROGRAM as
// that user with a session bus of its own (the tray, notifications), and
// afterwards stops whatever sessions PROGRAM left running (a failed test's).
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>

#include <cstdio>
#include <unistd.h>

namespace
{
/// Stops every session the owner's run left running (a failed test's).
void stopLeftovers()
{
    HelperClient administrator(TestUser::root(), nullptr);
    if (!administrator.isRunning()) {
        return;
    }
    const QJsonArray sessions = listOf(administrator, HelperProtocol::administer, {{HelperProtocol::operationKey, HelperProtocol::listSessions}});
    QStringList running;
    for (const QJsonValue &session : sessions) {
        if (session[QStringLiteral("state")].toString() == QLatin1String("running")) {
            running.append(session[QStringLiteral("id")].toString());
        }
    }
    stopSessions(administrator, running);
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: rewind-test-as-owner PROGRAM [ARGUMENTS]\n");
        return 2;
    }
    if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
        std::printf("SKIP: %s\n", qPrintable(why));
        return TestSkip::exitCode;
    }
    const TestUser user = TestUser::owner();
    EmulatedLogin login(user, QStringLiteral("guitest"), true);
    const QString runtime = userRuntimeDirectory(user);
    if (!login.valid() || runtime.isEmpty()) {
        std::fprintf(stderr, "could not log %s in\n", qPrintable(user.name));
        return 1;
    }

    // The administrator's limits, empty (the defaults) and the owner's, so
    // that a GUI test can set them (HelperTestEnvironment::writeLimits).
    if (QFile limits(HelperTestEnvironment::limitsFile()); !limits.exists() && limits.open(QIODevice::WriteOnly)) {
        if (::fchown(limits.handle(), user.uid, gid_t(-1)) != 0) {
            std::fprintf(stderr, "could not hand %s to %s\n", qPrintable(limits.fileName()), qPrintable(user.name));
        }
    }

    // The actions that want the user's own password (restore, recover, delete): there
    // is no authentication agent here, so a rule grants them, as the password would.
    QFile rule(HelperTestEnvironment::workDirectory() + QStringLiteral("/rules.d/50-rewind-test-as-owner.rules"));
    if (!rule.open(QIODevice::WriteOnly)
        || rule.write("polkit.addRule(function(action, subject) {\n"
                      "    if ((action.id == \"org.rewind.helper.restore\" || action.id == \"org.rewind.helper.recover\"\n"
                      "         || action.id == \"org.rewind.helper.deletesnapshot\")\n"
                      "        && subject.user == \"rewind-user\" && subject.active && subject.local) {\n"
                      "        return polkit.Result.YES;\n"
                      "    }\n"
                      "});\n")
            < 0
        || !rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther)) {
        std::fprintf(stderr, "could not write %s\n", qPrintable(rule.fileName()));
        return 1;
    }
    rule.close();

    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("USER"), user.name);
    environment.insert(QStringLiteral("LOGNAME"), user.name);
    environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    for (const char *name : {"XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"}) {
        environment.remove(QString::fromLatin1(name));
    }

    QProcess owners;
    runAs(owners, user, &login);
    owners.setProcessEnvironment(environment);
    owners.setWorkingDirectory(QStringLiteral("/tmp"));
    owners.setProcessChannelMode(QProcess::ForwardedChannels);
    QStringList arguments = app.arguments().mid(1);
    arguments.first() = QFileInfo(arguments.first()).absoluteFilePath(); // it runs in /tmp
    // A session bus of its own, for the tray, notifications and KDBusService.
    const QString sessionBus = QStandardPaths::findExecutable(QStringLiteral("dbus-run-session"));
    if (sessionBus.isEmpty()) {
        owners.start(arguments.first(), arguments.mid(1));
    } else {
        owners.start(sessionBus, QStringList{QStringLiteral("--")} + arguments);
    }
    if (!owners.waitForStarted()) {
        std::fprintf(stderr, "could not run %s as %s: %s\n", qPrintable(arguments.first()), qPrintable(user.name), qPrintable(owners.errorString()));
        return 1;
    }
    owners.waitForFinished(-1);
    stopLeftovers();
    return owners.exitStatus() == QProcess::NormalExit ? owners.exitCode() : 1;
}
