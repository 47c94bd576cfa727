// SPDX-License-Identifier: GPL-2.0-or-later
// rewind: the desktop application.
#include "rewind_version.h"

#include <KAboutData>
#include <KLocalizedString>

#include <QApplication>
#include <QCommandLineParser>
#include <QLabel>
#include <QMainWindow>

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
    KAboutData::setApplicationData(about);

    QCommandLineParser parser;
    about.setupCommandLine(&parser);
    parser.process(app);
    about.processCommandLine(&parser);

    QMainWindow window;
    window.setWindowTitle(i18n("Rewind"));
    auto placeholder = new QLabel(i18n("No sessions yet."), &window);
    placeholder->setAlignment(Qt::AlignCenter);
    window.setCentralWidget(placeholder);
    window.resize(800, 500);
    window.show();
    return app.exec();
}
