// SPDX-License-Identifier: GPL-2.0-or-later
// rewindctl: Rewind's command line.
//
// Exit codes: 0 success, 1 the operation failed (the message says why),
// 2 the command line was wrong.
#include "RewindCommands.h"
#include "rewind_version.h"

#include <KAboutData>
#include <KLocalizedString>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    KLocalizedString::setApplicationDomain("rewind");
    // In the build tree, the catalogs are compiled into <build>/locale beside bin/.
    // KI18n ignores this directory when it holds no catalog, as when installed.
    KLocalizedString::addDomainLocaleDir("rewind", QCoreApplication::applicationDirPath() + QStringLiteral("/../locale"));
    KAboutData about(QStringLiteral("rewindctl"),
                     i18n("rewindctl"),
                     QStringLiteral(REWIND_VERSION_STRING),
                     i18n("Snapshots of desktop sessions, from the command line"),
                     KAboutLicense::GPL_V2);
    KAboutData::setApplicationData(about);

    QCommandLineParser parser;
    about.setupCommandLine(&parser);
    parser.setApplicationDescription(RewindCommands::usage());
    parser.addOption({QStringLiteral("json"), i18n("Print machine-readable JSON.")});
    parser.addOption({QStringLiteral("label"), i18n("A label for the new snapshot."), i18n("text")});
    parser.addOption({QStringLiteral("as-new"), i18n("Restore as a new session beside the original (a branch).")});
    parser.addOption(
        {{QStringLiteral("o"), QStringLiteral("output")}, i18n("Where to write a screenshot or an exported snapshot (- for standard output)."), i18n("file")});
    parser.addOption({QStringLiteral("admin"), i18n("Act on other users' sessions and snapshots too (asks for an administrator's password).")});
    parser.addPositionalArgument(QStringLiteral("command"), i18n("What to do; see above."));
    if (!parser.parse(app.arguments())) {
        QTextStream(stderr) << parser.errorText() << Qt::endl << i18n("'rewindctl --help' lists the commands.") << Qt::endl;
        return 2;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        parser.showVersion();
    }
    if (parser.isSet(QStringLiteral("help"))) {
        parser.showHelp(0);
    }
    about.processCommandLine(&parser);

    RewindCommands commands(parser.isSet(QStringLiteral("json")));
    return commands.run(parser.positionalArguments(),
                        {.label = parser.value(QStringLiteral("label")),
                         .asNew = parser.isSet(QStringLiteral("as-new")),
                         .output = parser.value(QStringLiteral("output")),
                         .administer = parser.isSet(QStringLiteral("admin"))});
}
