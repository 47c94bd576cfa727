// SPDX-License-Identifier: GPL-2.0-or-later
// rewind: the desktop application. It never runs as root: everything
// privileged goes through rewind-helper on the system bus.
#include "BuildTreeData.h"
#include "HelperClient.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "TrayApplication.h"
#include "rewind_version.h"

#include <KAboutData>
#include <KDBusService>
#include <KLocalizedString>

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    useBuildTreeData();
    KLocalizedString::setApplicationDomain("rewind");
    // In the build tree, the catalogs are compiled into <build>/locale beside bin/.
    // KI18n ignores this directory when it holds no catalog, as when installed.
    KLocalizedString::addDomainLocaleDir("rewind", QCoreApplication::applicationDirPath() + QStringLiteral("/../locale"));
    KAboutData about(QStringLiteral("rewind"),
                     i18n("Rewind"),
                     QStringLiteral(REWIND_VERSION_STRING),
                     i18n("Snapshots of whole desktop sessions: go back in time, branch, recover"),
                     KAboutLicense::GPL_V2);
    about.setDesktopFileName(QStringLiteral("org.rewind.Rewind"));
    IconTheme::useBreezeWhereNoneIsSet();
    about.setProgramLogo(QIcon::fromTheme(IconTheme::applicationIconName()));
    KAboutData::setApplicationData(about);
    QApplication::setWindowIcon(QIcon::fromTheme(IconTheme::applicationIconName()));

    QCommandLineParser parser;
    about.setupCommandLine(&parser);
    const QCommandLineOption inTray(QStringLiteral("tray"), i18n("Start in the tray, without the window (as at login)."));
    parser.addOption(inTray);
    parser.process(app);
    about.processCommandLine(&parser);

    // One Rewind a user: a second start (the menu, after the autostart) shows the first's window.
    KDBusService service(KDBusService::Unique | KDBusService::NoExitOnFailure);

    HelperClient client;
    TrayApplication rewind(&client);
    QObject::connect(&service, &KDBusService::activateRequested, &rewind, [&rewind] {
        rewind.openTimeline(rewind.window()->currentSession());
    });
    rewind.start(parser.isSet(inTray));
    return app.exec();
}
