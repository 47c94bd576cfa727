// SPDX-License-Identifier: GPL-2.0-or-later
// rewind: the desktop application. It never runs as root: everything
// privileged goes through rewind-helper on the system bus.
#include "HelperClient.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "rewind_version.h"

#include <KAboutData>
#include <KLocalizedString>
#include <KNotification>
#include <KStatusNotifierItem>

#include <QApplication>
#include <QCommandLineParser>
#include <QMenu>
#include <QTimer>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
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
    parser.process(app);
    about.processCommandLine(&parser);

    HelperClient client;
    MainWindow window(&client);

    // In the tray: what happened, and a snapshot a click away.
    KStatusNotifierItem tray(QStringLiteral("rewind"));
    tray.setIconByName(IconTheme::applicationIconName());
    tray.setTitle(i18n("Rewind"));
    tray.setToolTip(IconTheme::applicationIconName(), i18n("Rewind"), i18n("Session snapshots"));
    tray.setCategory(KStatusNotifierItem::ApplicationStatus);
    tray.contextMenu()->addAction(window.snapshotAction());

    QObject::connect(&window, &MainWindow::operationFinished, &window, [](const QString &event, const QString &text) {
        KNotification::event(event, text, IconTheme::applicationIconName());
    });

    window.show();
    tray.setAssociatedWindow(window.windowHandle());
    QTimer::singleShot(0, &window, &MainWindow::refresh);
    return app.exec();
}
