// SPDX-License-Identifier: GPL-2.0-or-later
// rewindctl: Rewind's command line.
#include "CriuCheckpointer.h"
#include "rewind_version.h"

#include <KAboutData>
#include <KLocalizedString>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

using namespace Rewind;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    KLocalizedString::setApplicationDomain("rewind");
    KAboutData about(QStringLiteral("rewindctl"),
                     i18n("rewindctl"),
                     QStringLiteral(REWIND_VERSION_STRING),
                     i18n("Snapshots of desktop sessions, from the command line"),
                     KAboutLicense::GPL_V2);
    KAboutData::setApplicationData(about);

    QCommandLineParser parser;
    about.setupCommandLine(&parser);
    parser.process(app);
    about.processCommandLine(&parser);

    QTextStream out(stdout);
    const auto criu = CriuCheckpointer::version();
    if (!criu) {
        QTextStream(stderr) << criu.errorMessage() << Qt::endl;
        return 1;
    }
    out << i18n("Rewind %1, CRIU %2.%3.%4", QStringLiteral(REWIND_VERSION_STRING), *criu / 10000, *criu / 100 % 100, *criu % 100) << Qt::endl;
    return 0;
}
