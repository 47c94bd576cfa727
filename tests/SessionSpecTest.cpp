// SPDX-License-Identifier: GPL-2.0-or-later
// SessionSpec: the shipped specs, strict parsing with located errors, and
// shell-like command splitting.
#include "SessionSpec.h"
#include "TestSkip.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Rewind;

namespace
{
const QString sessionsDir = QStringLiteral(SOURCE_DIR "/resources/sessions");

QByteArray validHead()
{
    return QByteArrayLiteral(
        "[Session]\n"
        "Name=Test\n"
        "[Display]\n"
        "Geometry=800x600\n"
        "Depth=24\n");
}
}

class SessionSpecTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void demoSpecParses()
    {
        const auto spec = SessionSpec::load(sessionsDir + QStringLiteral("/demo.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        QCOMPARE(spec->name, QStringLiteral("Demo"));
        QVERIFY(!spec->description.isEmpty());
        QCOMPARE(spec->geometry, QSize(1280, 800));
        QCOMPARE(spec->depth, 24);
        QCOMPARE(spec->windowManager, QStringList{QStringLiteral("openbox")});
        QCOMPARE(spec->apps.size(), 2);
        QCOMPARE(spec->apps.at(0).name, QStringLiteral("xterm"));
        QCOMPARE(spec->apps.at(0).argv.first(), QStringLiteral("xterm"));
        QCOMPARE(spec->apps.at(0).argv.at(spec->apps.at(0).argv.size() - 3), QStringLiteral("sh"));
        QVERIFY(spec->apps.at(0).argv.last().contains(QStringLiteral("while")));
        QCOMPARE(spec->apps.at(1).name, QStringLiteral("notes"));
        QCOMPARE(spec->apps.at(1).argv, QStringList{QStringLiteral("rewind-demo-app")});
        QCOMPARE(spec->apps.at(1).env.value(QStringLiteral("QT_QPA_PLATFORM")), QStringLiteral("xcb"));
    }

    void minimalSpecParses()
    {
        const auto spec = SessionSpec::load(sessionsDir + QStringLiteral("/minimal.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        QCOMPARE(spec->name, QStringLiteral("Minimal"));
        QVERIFY(spec->windowManager.isEmpty());
        QCOMPARE(spec->apps.size(), 1);
        QCOMPARE(spec->apps.at(0).argv.first(), QStringLiteral("xterm"));
    }

    void fullSpecParses()
    {
        const QByteArray text = validHead()
            + "# a comment\r\n"
              "; another comment\n"
              "\n"
              "[WindowManager]\n"
              "  Command = openbox --sm-disable  \n"
              "[App one]\n"
              "Command=prog\n"
              "Env=A=1; B_2=x=y;;C=\n";
        const auto spec = SessionSpec::parse(text, QStringLiteral("full.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        QCOMPARE(spec->geometry, QSize(800, 600));
        QCOMPARE(spec->windowManager, (QStringList{QStringLiteral("openbox"), QStringLiteral("--sm-disable")}));
        const QMap<QString, QString> env{{QStringLiteral("A"), QStringLiteral("1")},
                                         {QStringLiteral("B_2"), QStringLiteral("x=y")},
                                         {QStringLiteral("C"), QString()}};
        QCOMPARE(spec->apps.at(0).env, env);
    }

    void displayHasDefaults()
    {
        const auto spec = SessionSpec::parse("[Session]\nName=X\n[App a]\nCommand=a\n", QStringLiteral("x.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        QCOMPARE(spec->geometry, QSize(1280, 800));
        QCOMPARE(spec->depth, 24);
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("line"); // 0: the error is about the whole file
        QTest::addColumn<QString>("fragment");

        const QByteArray head = validHead(); // five lines
        const QByteArray app = "[App a]\nCommand=a\n";
        QTest::newRow("unknown key") << head + "Geometri=800x600\n" + app << 6 << QStringLiteral("unknown key 'Geometri' in [Display]");
        QTest::newRow("bad geometry") << "[Session]\nName=T\n[Display]\nGeometry=big\n" + app << 4
                                      << QStringLiteral("Geometry must look like 1280x800 (got 'big')");
        QTest::newRow("geometry too small") << "[Session]\nName=T\n[Display]\nGeometry=100x100\n" + app << 4 << QStringLiteral("Geometry");
        QTest::newRow("geometry too big") << "[Session]\nName=T\n[Display]\nGeometry=9000x800\n" + app << 4 << QStringLiteral("Geometry");
        QTest::newRow("bad depth") << "[Session]\nName=T\n[Display]\nDepth=8\n" + app << 4 << QStringLiteral("Depth must be 16, 24 or 32 (got '8')");
        QTest::newRow("depth not a number") << "[Session]\nName=T\n[Display]\nDepth=deep\n" + app << 4 << QStringLiteral("Depth");
        QTest::newRow("duplicate key") << head + "Depth=16\n" + app << 6 << QStringLiteral("duplicate key 'Depth' in [Display]");
        QTest::newRow("duplicate section") << head + app + "[Display]\n" << 8 << QStringLiteral("duplicate section [Display]");
        QTest::newRow("duplicate app") << head + app + app << 8 << QStringLiteral("duplicate section [App a]");
        QTest::newRow("unknown section") << head + "[Displays]\n" + app << 6 << QStringLiteral("unknown section [Displays]");
        QTest::newRow("bad app name") << head + "[App My_App]\nCommand=a\n" << 6 << QStringLiteral("app name 'My_App'");
        QTest::newRow("unterminated single quote") << head + "[App a]\nCommand=sh -c 'echo\n" << 7 << QStringLiteral("Command: unterminated single quote");
        QTest::newRow("unterminated double quote") << head + "[App a]\nCommand=sh -c \"echo\n" << 7 << QStringLiteral("Command: unterminated double quote");
        QTest::newRow("shell operator") << head + "[App a]\nCommand=ls | wc\n" << 7 << QStringLiteral("Command: '|'");
        QTest::newRow("empty command") << head + "[App a]\nCommand=\n" << 7 << QStringLiteral("Command must not be empty");
        QTest::newRow("missing command") << head + "[App a]\nEnv=A=1\n[App b]\nCommand=b\n" << 6 << QStringLiteral("needs the key 'Command'");
        QTest::newRow("bad env") << head + "[App a]\nCommand=a\nEnv=1A=x\n" << 8 << QStringLiteral("Env must be a list");
        QTest::newRow("duplicate env") << head + "[App a]\nCommand=a\nEnv=A=x;A=y\n" << 8 << QStringLiteral("Env sets the variable 'A' twice");
        // The home lives in the cell's private /tmp and belongs to every snapshot; a spec cannot move it.
        QTest::newRow("home elsewhere") << head + app + "[Home]\nDirectory=/home/x\n" << 8 << QStringLiteral("unknown section [Home]");
        QTest::newRow("key outside section") << "Name=T\n" + head + app << 1 << QStringLiteral("key 'Name'");
        QTest::newRow("no equals sign") << head + "Geometry\n" + app << 6 << QStringLiteral("'Geometry'");
        QTest::newRow("non-UTF-8") << head + "[App a]\nCommand=caf\xe9\n" << 7 << QStringLiteral("not valid UTF-8 in key 'Command'");
        QTest::newRow("control character") << head + "[App a]\nCommand=a\x01\n" << 7 << QStringLiteral("control character U+0001");
        QTest::newRow("no WM and no app") << head << 0 << QStringLiteral("[WindowManager]");
        QTest::newRow("no session section") << QByteArray("[App a]\nCommand=a\n") << 0 << QStringLiteral("[Session]");
        QTest::newRow("too big") << head + app + QByteArray(64 * 1024, '#') << 0 << QStringLiteral("larger than 64 KiB");
    }

    void malformed()
    {
        QFETCH(QByteArray, text);
        QFETCH(int, line);
        QFETCH(QString, fragment);
        const auto spec = SessionSpec::parse(text, QStringLiteral("bad.conf"));
        QVERIFY(!spec.ok());
        const QString message = spec.errorMessage();
        const QString where = line > 0 ? QStringLiteral("bad.conf, line %1: ").arg(line) : QStringLiteral("bad.conf");
        QVERIFY2(message.startsWith(where), qPrintable(message));
        QVERIFY2(message.contains(fragment), qPrintable(message));
    }

    void quoting_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QStringList>("words");

        QTest::newRow("plain") << QStringLiteral("xterm -title Counter")
                               << QStringList{QStringLiteral("xterm"), QStringLiteral("-title"), QStringLiteral("Counter")};
        QTest::newRow("extra spaces and tabs") << QStringLiteral("  a \t b  ") << QStringList{QStringLiteral("a"), QStringLiteral("b")};
        QTest::newRow("single quotes keep everything") << QStringLiteral("sh -c 'echo \"$HOME\" | wc; \\n'")
                                                       << QStringList{QStringLiteral("sh"), QStringLiteral("-c"), QStringLiteral("echo \"$HOME\" | wc; \\n")};
        QTest::newRow("double quotes")
            << QStringLiteral("a \"b c\" \"d\\\"e\" \"f\\g\" \"\\$x\"")
            << QStringList{QStringLiteral("a"), QStringLiteral("b c"), QStringLiteral("d\"e"), QStringLiteral("f\\g"), QStringLiteral("$x")};
        QTest::newRow("backslash outside quotes") << QStringLiteral("a\\ b c\\'d \\|")
                                                  << QStringList{QStringLiteral("a b"), QStringLiteral("c'd"), QStringLiteral("|")};
        QTest::newRow("adjacent parts join") << QStringLiteral("pre'mid'\"post\"") << QStringList{QStringLiteral("premidpost")};
        QTest::newRow("empty quoted word") << QStringLiteral("a '' \"\"") << QStringList{QStringLiteral("a"), QString(), QString()};
        QTest::newRow("nothing") << QStringLiteral("   ") << QStringList{};
        QTest::newRow("unicode") << QStringLiteral("echo 'grüße' ü") << QStringList{QStringLiteral("echo"), QStringLiteral("grüße"), QStringLiteral("ü")};
    }

    void quoting()
    {
        QFETCH(QString, command);
        QFETCH(QStringList, words);
        const auto split = SessionSpec::splitCommand(command);
        QVERIFY2(split.ok(), qPrintable(split.errorMessage()));
        QCOMPARE(*split, words);
    }

    void quotingErrors_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("single") << QStringLiteral("a 'b") << QStringLiteral("unterminated single quote");
        QTest::newRow("double") << QStringLiteral("a \"b") << QStringLiteral("unterminated double quote");
        QTest::newRow("trailing backslash") << QStringLiteral("a \\") << QStringLiteral("backslash");
        for (const char *op : {"|", "&", ";", "<", ">", "(", ")", "$", "`"}) {
            QTest::newRow(op) << (QStringLiteral("a ") + QLatin1String(op) + QStringLiteral(" b")) << QStringLiteral("column 3");
        }
    }

    void quotingErrors()
    {
        QFETCH(QString, command);
        QFETCH(QString, fragment);
        const auto split = SessionSpec::splitCommand(command);
        QVERIFY(!split.ok());
        QVERIFY2(split.errorMessage().contains(fragment), qPrintable(split.errorMessage()));
    }

    void namesAreValidated_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << QStringLiteral("demo-1") << true;
        QTest::newRow("64 characters") << QString(64, QLatin1Char('a')) << true;
        QTest::newRow("65 characters") << QString(65, QLatin1Char('a')) << false;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("upper case") << QStringLiteral("Demo") << false;
        QTest::newRow("dot-dot") << QStringLiteral("../demo") << false;
        QTest::newRow("trailing newline") << QStringLiteral("demo-1\n") << false;
        QTest::newRow("leading newline") << QStringLiteral("\ndemo-1") << false;
        QTest::newRow("newline inside") << QStringLiteral("demo\n1") << false;
    }

    void namesAreValidated()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(SessionSpec::isValidName(name), valid);
    }

    void loadReportsFileProblems()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto missing = SessionSpec::load(dir.filePath(QStringLiteral("missing.conf")));
        QVERIFY(!missing.ok());
        QVERIFY2(missing.errorMessage().contains(QStringLiteral("missing.conf")), qPrintable(missing.errorMessage()));

        const auto directory = SessionSpec::load(dir.path());
        QVERIFY(!directory.ok());
        QVERIFY2(directory.errorMessage().contains(QStringLiteral("not a regular file")), qPrintable(directory.errorMessage()));

        QFile big(dir.filePath(QStringLiteral("big.conf")));
        QVERIFY(big.open(QIODevice::WriteOnly));
        big.write(validHead() + "[App a]\nCommand=a\n" + QByteArray(70 * 1024, '#'));
        big.close();
        const auto tooBig = SessionSpec::load(big.fileName());
        QVERIFY(!tooBig.ok());
        QVERIFY2(tooBig.errorMessage().contains(QStringLiteral("big.conf: the file is larger than 64 KiB")), qPrintable(tooBig.errorMessage()));

        QFile bad(dir.filePath(QStringLiteral("bad.conf")));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(validHead() + "Geometri=1x1\n");
        bad.close();
        const auto located = SessionSpec::load(bad.fileName());
        QCOMPARE(located.errorMessage(), QStringLiteral("bad.conf, line 6: unknown key 'Geometri' in [Display]"));
    }

    void namedLooksInSessionsDir()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile own(dir.filePath(QStringLiteral("own-session.conf")));
        QVERIFY(own.open(QIODevice::WriteOnly));
        own.write("[Session]\nName=Own\n[App a]\nCommand=a\n");
        own.close();
        QFile ignored(dir.filePath(QStringLiteral("Not_A_Name.conf")));
        QVERIFY(ignored.open(QIODevice::WriteOnly));
        ignored.close();

        qputenv("REWIND_SESSIONS_DIR", QFile::encodeName(dir.path() + QLatin1Char(':') + sessionsDir));
        const auto demo = SessionSpec::named(QStringLiteral("demo"));
        QVERIFY2(demo.ok(), qPrintable(demo.errorMessage()));
        QCOMPARE(demo->name, QStringLiteral("Demo"));
        const auto ownSpec = SessionSpec::named(QStringLiteral("own-session"));
        QVERIFY2(ownSpec.ok(), qPrintable(ownSpec.errorMessage()));
        QCOMPARE(ownSpec->name, QStringLiteral("Own"));

        const QStringList names = SessionSpec::availableNames();
        QVERIFY(names.contains(QStringLiteral("demo")));
        QVERIFY(names.contains(QStringLiteral("minimal")));
        QVERIFY(names.contains(QStringLiteral("own-session")));
        QVERIFY(!names.contains(QStringLiteral("Not_A_Name")));
        QVERIFY(std::is_sorted(names.begin(), names.end()));

        const auto missing = SessionSpec::named(QStringLiteral("no-such-session"));
        QVERIFY(!missing.ok());
        QVERIFY2(missing.errorMessage().contains(QStringLiteral("no-such-session")), qPrintable(missing.errorMessage()));
        for (const QString &bad : {QStringLiteral("../demo"), QStringLiteral("Demo"), QStringLiteral(""), QStringLiteral("a/b"), QStringLiteral("demo\n")}) {
            const auto refused = SessionSpec::named(bad);
            QVERIFY2(!refused.ok(), qPrintable(bad));
            QVERIFY2(refused.errorMessage().contains(QStringLiteral("not a session name")), qPrintable(refused.errorMessage()));
        }
        qunsetenv("REWIND_SESSIONS_DIR");
    }
};

REWIND_TEST_GUILESS_MAIN(SessionSpecTest)
#include "SessionSpecTest.moc"
