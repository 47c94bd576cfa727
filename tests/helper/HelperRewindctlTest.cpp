// SPDX-License-Identifier: GPL-2.0-or-later
// rewindctl run by a user goes through the helper and keeps its output and
// exit codes: JSON of the same shape as root's, 1 with a message when the
// operation fails or polkit refuses, 2 for a wrong command line.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <qplatformdefs.h>

#include <clocale>
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

namespace
{

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run rewindctl(const TestUser &user, const EmulatedLogin *login, const QStringList &arguments, const QString &locale = QStringLiteral("C.UTF-8"))
{
    QProcess process;
    runAs(process, user, login);
    const uid_t uid = user.uid;
    // Root's rewindctl runs on the engine with the helper's state; a user's has no REWIND_* of its own.
    QProcessEnvironment environment = uid == 0 ? QProcessEnvironment::systemEnvironment() : QProcessEnvironment();
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("HOME"), uid == 0 ? QStringLiteral("/root") : QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("LANG"), locale);
    process.setProcessEnvironment(environment);
    process.setWorkingDirectory(QStringLiteral("/"));
    process.start(QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewindctl"), arguments);
    process.waitForFinished(180000);
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -9, process.readAllStandardOutput(), process.readAllStandardError()};
}

QStringList keysOf(const QByteArray &json)
{
    const QJsonDocument document = QJsonDocument::fromJson(json);
    const QJsonObject object = document.isArray() ? document.array().first().toObject() : document.object();
    return object.keys();
}

} // namespace

class HelperRewindctlTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    QString m_session;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("ctl1"), true);
        QVERIFY(m_login->valid());
    }

    void cleanupTestCase()
    {
        if (!m_session.isEmpty()) {
            (void)rewindctl(TestUser::root(), nullptr, {QStringLiteral("session"), QStringLiteral("stop"), m_session});
        }
    }

    void sameCommandsThroughTheHelper()
    {
        const TestUser user = TestUser::owner();
        const Run started =
            rewindctl(user, m_login.get(), {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("start"), QStringLiteral("counting")});
        QVERIFY2(started.exitCode == 0, started.err.constData());
        const QJsonObject session = QJsonDocument::fromJson(started.out).object();
        m_session = session.value(QStringLiteral("id")).toString();
        QCOMPARE(session.value(QStringLiteral("owner")).toInteger(), qint64(user.uid));
        QVERIFY(waitUntilCounting(pid_t(session.value(QStringLiteral("pid")).toInteger())));

        // The user's list and root's (on the engine) have the same shape; the user's has only their session.
        const Run mine = rewindctl(user, m_login.get(), {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("list")});
        QCOMPARE(mine.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(mine.out).array().size(), 1);
        const Run roots = rewindctl(TestUser::root(), nullptr, {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("list")});
        QCOMPARE(roots.exitCode, 0);
        QCOMPARE(keysOf(mine.out), keysOf(roots.out));

        const Run text = rewindctl(user, m_login.get(), {QStringLiteral("session"), QStringLiteral("list")});
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains(m_session.toUtf8()) && text.out.contains("running"), text.out.constData());

        const Run scan = rewindctl(user, m_login.get(), {QStringLiteral("session"), QStringLiteral("scan"), m_session});
        QVERIFY2(scan.exitCode == 0 && scan.out.contains("can be snapshotted"), scan.out + scan.err);

        // The display, handed to the user: a socket of theirs, as root's rewindctl also gives it.
        const Run view = rewindctl(user, m_login.get(), {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("view"), m_session});
        QVERIFY2(view.exitCode == 0, view.err.constData());
        const QString socket = QJsonDocument::fromJson(view.out).object().value(QStringLiteral("socket")).toString();
        QVERIFY2(socket.startsWith(HelperProtocol::handOffDirectory(user.uid) + QLatin1Char('/')), view.out.constData());
        QT_STATBUF info;
        QVERIFY(QT_LSTAT(QFile::encodeName(socket).constData(), &info) == 0 && S_ISSOCK(info.st_mode) && info.st_uid == user.uid);
        const Run rootView = rewindctl(TestUser::root(), nullptr, {QStringLiteral("--json"), QStringLiteral("session"), QStringLiteral("view"), m_session});
        QVERIFY2(rootView.exitCode == 0, rootView.err.constData());
        QCOMPARE(keysOf(rootView.out), keysOf(view.out));
        QCOMPARE(QJsonDocument::fromJson(rootView.out).object().value(QStringLiteral("socket")).toString(), socket);
        const Run viewText = rewindctl(user, m_login.get(), {QStringLiteral("session"), QStringLiteral("view"), m_session});
        QVERIFY2(viewText.exitCode == 0 && viewText.out.contains(QFile::encodeName(socket)), viewText.out + viewText.err);
    }

    void exportPipedIntoImport()
    {
        // rewindctl export N | rewindctl import, as the user, through the helper.
        QVERIFY(!m_session.isEmpty());
        const TestUser user = TestUser::owner();
        const Run taken = rewindctl(user, m_login.get(), {QStringLiteral("--json"), QStringLiteral("snapshot"), m_session});
        QVERIFY2(taken.exitCode == 0, taken.err.constData());
        const qint64 id = QJsonDocument::fromJson(taken.out).object().value(QStringLiteral("id")).toInteger();
        QVERIFY(id > 0);

        const QString program = QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewindctl");
        QProcessEnvironment environment;
        environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
        environment.insert(QStringLiteral("HOME"), QStringLiteral("/home/") + user.name);
        environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
        QProcess exporter;
        QProcess importer;
        for (QProcess *process : {&exporter, &importer}) {
            runAs(*process, user, m_login.get());
            process->setProcessEnvironment(environment);
            process->setWorkingDirectory(QStringLiteral("/"));
        }
        exporter.setStandardOutputProcess(&importer);
        exporter.start(program, {QStringLiteral("export"), QString::number(id)});
        importer.start(program, {QStringLiteral("--json"), QStringLiteral("import")});
        QVERIFY(exporter.waitForFinished(120000) && importer.waitForFinished(120000));
        const QByteArray exportMessages = exporter.readAllStandardError();
        QVERIFY2(exporter.exitCode() == 0, exportMessages.constData());
        QVERIFY2(exportMessages.contains("Exported snapshot"), exportMessages.constData());
        const QByteArray importOut = importer.readAllStandardOutput();
        QVERIFY2(importer.exitCode() == 0, importer.readAllStandardError().constData());
        const QJsonObject imported = QJsonDocument::fromJson(importOut).object();
        QCOMPARE(imported.value(QStringLiteral("trigger")).toString(), QStringLiteral("imported"));
        QVERIFY(imported.value(QStringLiteral("id")).toInteger() > id);
        QVERIFY(imported.value(QStringLiteral("session")).toString() != m_session);

        // Another user may not export it, and a stream must be a file descriptor.
        std::unique_ptr<EmulatedLogin> otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("ctl2"), true);
        const Run foreign =
            rewindctl(TestUser::other(), otherLogin.get(), {QStringLiteral("export"), QString::number(id), QStringLiteral("-o"), QStringLiteral("/dev/null")});
        QCOMPARE(foreign.exitCode, 1);
        QVERIFY2(foreign.err.contains("belongs to another user"), foreign.err.constData());
        HelperClient client(user, m_login.get());
        const HelperReply notAnFd =
            client.call(HelperRequest::of(HelperProtocol::importSnapshot, {{HelperProtocol::streamKey, QStringLiteral("/etc/shadow")}}));
        QVERIFY(!notAnFd.ok());
        QVERIFY2(notAnFd.errorText.contains(QLatin1String("file descriptor")), qPrintable(notAnFd.errorText));
        const Run noSource = rewindctl(user, m_login.get(), {QStringLiteral("import"), QStringLiteral("/nonexistent/stream")});
        QCOMPARE(noSource.exitCode, 1);
        QVERIFY2(noSource.err.contains("Could not read"), noSource.err.constData());
    }

    void helperAnswersInTheCallersLanguage()
    {
        // The helper runs without a locale; the client's language comes with the call.
        const locale_t german = ::newlocale(LC_MESSAGES_MASK, "de_DE.UTF-8", locale_t(nullptr));
        if (!german) {
            REWIND_SKIP("the locale de_DE.UTF-8 is not installed here (tools/devenv generates it)");
        }
        ::freelocale(german);
        const QStringList arguments{QStringLiteral("snapshot"), QStringLiteral("nosuch-1")};
        const Run inGerman = rewindctl(TestUser::owner(), m_login.get(), arguments, QStringLiteral("de_DE.UTF-8"));
        QCOMPARE(inGerman.exitCode, 1);
        QVERIFY2(QString::fromUtf8(inGerman.err).contains(QStringLiteral("Es gibt keine Sitzung nosuch-1.")), inGerman.err.constData());
        const Run inEnglish = rewindctl(TestUser::owner(), m_login.get(), arguments);
        QCOMPARE(inEnglish.exitCode, 1);
        QVERIFY2(inEnglish.err.contains("There is no session nosuch-1."), inEnglish.err.constData());

        // A language is a name, nothing else.
        HelperClient client(TestUser::owner(), m_login.get());
        for (const QVariant &language : {QVariant(QStringLiteral("../../etc")), QVariant(QStringLiteral("de_DE.UTF-8")), QVariant(42)}) {
            const HelperReply refused = client.call(HelperRequest::of(HelperProtocol::listSessions, {{HelperProtocol::languageKey, language}}));
            QVERIFY(!refused.ok());
            QVERIFY2(refused.errorText.contains(QLatin1String("language")), qPrintable(refused.errorText));
        }
        QVERIFY(client.call(HelperRequest::of(HelperProtocol::listSessions, {{HelperProtocol::languageKey, QStringLiteral("pt_BR")}})).ok());
    }

    void failuresKeepTheirExitCodes_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown session") << QStringList{QStringLiteral("snapshot"), QStringLiteral("nosuch-1")} << 1 << QStringLiteral("nosuch-1");
        QTest::newRow("malformed session") << QStringList{QStringLiteral("snapshot"), QStringLiteral("../x")} << 1 << QStringLiteral("not a session id");
        QTest::newRow("spec path") << QStringList{QStringLiteral("session"), QStringLiteral("start"), QStringLiteral("../../etc/passwd")} << 1
                                   << QStringLiteral("spec");
        QTest::newRow("malformed snapshot") << QStringList{QStringLiteral("restore"), QStringLiteral("12abc")} << 1 << QStringLiteral("not a snapshot id");
        QTest::newRow("administrator only") << QStringList{QStringLiteral("verify")} << 1 << QStringLiteral("not allowed");
        QTest::newRow("own password, no agent") << QStringList{QStringLiteral("delete"), QStringLiteral("1")} << 1 << QStringLiteral("not allowed");
        QTest::newRow("needs root") << QStringList{QStringLiteral("session"), QStringLiteral("ps"), QStringLiteral("x")} << 1 << QStringLiteral("root");
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")} << 2 << QStringLiteral("usage");
    }

    void failuresKeepTheirExitCodes()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const Run run = rewindctl(TestUser::owner(), m_login.get(), arguments);
        QCOMPARE(run.exitCode, exitCode);
        QVERIFY2(QString::fromUtf8(run.err).contains(message), run.err.constData());
    }
};

REWIND_TEST_GUILESS_MAIN(HelperRewindctlTest)
#include "HelperRewindctlTest.moc"
