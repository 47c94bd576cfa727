// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-as-owner PROGRAM [ARGUMENTS]: runs a GUI test program as the
// user it is for. Under with-system-bus (as root) it logs rewind-user in (an
// emulated, active logind session, what polkit looks at), runs PROGRAM as
// that user with a session bus of its own (the tray, notifications), and
// afterwards stops whatever sessions PROGRAM left running (a failed test's).
// REWIND_TEST_GRANT (helper actions, comma-separated) grants those actions to
// the user by a polkit rule for the run, as an administrator's rule could:
// there is no agent to answer a password prompt.
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
/// Writes the rule REWIND_TEST_GRANT asks for; its path, or empty if none is asked for or it failed.
QString grantActions()
{
    const QStringList actions = qEnvironmentVariable("REWIND_TEST_GRANT").split(QLatin1Char(','), Qt::SkipEmptyParts);
    if (actions.isEmpty()) {
        return {};
    }
    QStringList quoted;
    for (const QString &action : actions) {
        if (!HelperProtocol::allActions().contains(action.section(QLatin1Char('.'), -1)) || !action.startsWith(HelperProtocol::helperId + QLatin1Char('.'))) {
            std::fprintf(stderr, "REWIND_TEST_GRANT: %s is no action of the helper\n", qPrintable(action));
            return {};
        }
        quoted.append(QLatin1Char('"') + action + QLatin1Char('"'));
    }
    const QString path = HelperTestEnvironment::workDirectory() + QStringLiteral("/rules.d/50-rewind-test-as-owner.rules");
    QFile rule(path);
    if (!rule.open(QIODevice::WriteOnly)) {
        return {};
    }
    rule.write(QStringLiteral("polkit.addRule(function(action, subject) {\n"
                              "    if ([%1].indexOf(action.id) >= 0 && subject.user == \"%2\") {\n"
                              "        return polkit.Result.YES;\n"
                              "    }\n"
                              "});\n")
                   .arg(quoted.join(QStringLiteral(", ")), TestUser::owner().name)
                   .toUtf8());
    rule.close();
    rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
    return path;
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

    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("USER"), user.name);
    environment.insert(QStringLiteral("LOGNAME"), user.name);
    environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    for (const char *name : {"XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"}) {
        environment.remove(QString::fromLatin1(name));
    }

    const QString grant = grantActions();
    if (grant.isEmpty() && qEnvironmentVariableIsSet("REWIND_TEST_GRANT")) {
        std::fprintf(stderr, "could not grant what REWIND_TEST_GRANT asks for\n");
        return 1;
    }

    QProcess owners;
    runAs(owners, user, &login);
    owners.setProcessEnvironment(environment);
    owners.setWorkingDirectory(QStringLiteral("/tmp"));
    owners.setProcessChannelMode(QProcess::ForwardedChannels);
    const QStringList arguments = app.arguments().mid(1);
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
    if (!grant.isEmpty()) {
        QFile::remove(grant);
    }
    return owners.exitStatus() == QProcess::NormalExit ? owners.exitCode() : 1;
}
