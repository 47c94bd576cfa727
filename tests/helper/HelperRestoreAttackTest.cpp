// SPDX-License-Identifier: GPL-2.0-or-later
//
// The restore attack as a user mounts it, through the helper: rewind-user's
// session holds a thing of theirs, they snapshot it, swap the thing for a
// link to root's and ask the helper to restore. polkit asks for the user's
// own password for a restore; there is no agent here, so a rule grants it,
// as an administrator's rule could. The helper refuses both restores,
// naming the path, and the session runs on as it was; with the thing put
// back, the same restore works.

#include "TestSkip.h"

#include "HelperProtocol.h"
#include "HelperTestSupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

namespace
{

QByteArray contentOf(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

/// Runs a shell command as the owner, in their login; true if it exits 0.
bool asOwner(const EmulatedLogin &login, const QString &command)
{
    QProcess shell;
    runAs(shell, TestUser::owner(), &login);
    shell.setProcessChannelMode(QProcess::ForwardedChannels);
    shell.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    return shell.waitForFinished(30000) && shell.exitStatus() == QProcess::NormalExit && shell.exitCode() == 0;
}

} // namespace

class HelperRestoreAttackTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    QString m_attack;

    HelperReply call(HelperClient &client, const QString &action, const QVariantMap &arguments)
    {
        return client.call(HelperRequest::of(action, arguments));
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        const QString work = HelperTestEnvironment::workDirectory();
        QFile rule(work + QStringLiteral("/rules.d/50-rewind-test-restore.rules"));
        QVERIFY(rule.open(QIODevice::WriteOnly));
        rule.write(
            "polkit.addRule(function(action, subject) {\n"
            "    if (action.id == \"org.rewind.helper.restore\" && subject.user == \"rewind-user\") {\n"
            "        return polkit.Result.YES;\n"
            "    }\n"
            "});\n");
        rule.close();
        QVERIFY(rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));

        // attack/user is the user's, attack/root holds root's files.
        m_attack = work + QStringLiteral("/attack");
        QVERIFY(QDir().mkpath(m_attack + QStringLiteral("/root/private")));
        QVERIFY(QDir().mkpath(m_attack + QStringLiteral("/user")));
        QVERIFY(::chmod(QFile::encodeName(m_attack).constData(), 0755) == 0
                && ::chmod(QFile::encodeName(m_attack + QStringLiteral("/root")).constData(), 0755) == 0);
        QVERIFY(::chmod(QFile::encodeName(m_attack + QStringLiteral("/root/private")).constData(), 0700) == 0);
        QVERIFY(::chown(QFile::encodeName(m_attack + QStringLiteral("/user")).constData(), TestUser::owner().uid, TestUser::owner().uid) == 0);
        QFile readable(m_attack + QStringLiteral("/root/readable"));
        QVERIFY(readable.open(QIODevice::WriteOnly) && readable.write("root's, readable by all, written by root alone\n") == 47);
        readable.close();
        QVERIFY(readable.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));
        QFile secret(m_attack + QStringLiteral("/root/secret"));
        QVERIFY(secret.open(QIODevice::WriteOnly) && secret.write("root's secret, for root's eyes only\n") == 36);
        secret.close();
        QVERIFY(secret.setPermissions(QFile::ReadOwner | QFile::WriteOwner));

        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("attack1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        stopSessions(*m_root, m_sessions);
    }

    void swappedForRootsIsRefused_data()
    {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<QString>("held"); ///< what the session holds, below attack/user
        QTest::addColumn<QString>("replaced"); ///< what becomes the link
        QTest::addColumn<QString>("makeIt"); ///< the user's own thing, as a shell command
        QTest::addColumn<QString>("target"); ///< below attack/root
        QTest::newRow("read-write file, root's 0644 file") << "--read-write"
                                                           << "p"
                                                           << "p"
                                                           << "head -c 47 /dev/zero > p && chmod 644 p"
                                                           << "readable";
        QTest::newRow("read-only file, root's 0600 file") << "--read"
                                                          << "p"
                                                          << "p"
                                                          << "head -c 36 /dev/zero > p && chmod 600 p"
                                                          << "secret";
        QTest::newRow("shared writable mapping, root's 0644 file") << "--map-shared"
                                                                   << "p"
                                                                   << "p"
                                                                   << "head -c 47 /dev/zero > p && chmod 644 p"
                                                                   << "readable";
        QTest::newRow("working directory, root-only directory") << "--cwd"
                                                                << "d"
                                                                << "d"
                                                                << "mkdir -m 700 d"
                                                                << "private";
        QTest::newRow("open directory, root-only directory") << "--directory"
                                                             << "d"
                                                             << "d"
                                                             << "mkdir -m 700 d"
                                                             << "private";
        QTest::newRow("socket bound in a directory that becomes a link") << "--listen"
                                                                         << "d/socket"
                                                                         << "d"
                                                                         << "mkdir -m 700 d"
                                                                         << "private";
    }

    void swappedForRootsIsRefused()
    {
        QFETCH(QString, mode);
        QFETCH(QString, held);
        QFETCH(QString, replaced);
        QFETCH(QString, makeIt);
        QFETCH(QString, target);
        const QString user = m_attack + QStringLiteral("/user");
        const QString path = user + QLatin1Char('/') + held;
        const QString targetPath = m_attack + QStringLiteral("/root/") + target;
        const QByteArray targetBefore = contentOf(targetPath);
        QVERIFY(asOwner(*m_login, QStringLiteral("cd '%1' && rm -rf '%2' '%2.mine' && %3").arg(user, replaced, makeIt)));

        // The session: its spec is an installed one, as an administrator would install it.
        const QString spec = QStringLiteral("holder%1").arg(m_sessions.size());
        QFile specFile(HelperTestEnvironment::workDirectory() + QStringLiteral("/specs/") + spec + QStringLiteral(".conf"));
        QVERIFY(specFile.open(QIODevice::WriteOnly));
        specFile.write("[Session]\nName=" + spec.toUtf8()
                       + "\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App holder]\nCommand=rewind-test-hold-open " + mode.toUtf8() + ' '
                       + path.toUtf8() + "\n");
        specFile.close();
        const HelperReply started = call(*m_user, HelperProtocol::startSession, {{HelperProtocol::specKey, spec}});
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
        const qint64 initPid = started.json().toObject().value(QStringLiteral("pid")).toInteger();
        m_sessions.append(session);
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(QStringLiteral("/proc/%1/root/tmp/hold-open.ready").arg(initPid)), 20000);

        const qint64 snapshot = snapshotOf(*m_user, session);
        QVERIFY(snapshot > 0);
        QVERIFY(asOwner(*m_login, QStringLiteral("cd '%1' && mv '%2' '%2.mine' && ln -s '%3' '%2'").arg(user, replaced, targetPath)));

        for (const QString &restoreMode : {QStringLiteral("in-place"), QStringLiteral("as-new")}) {
            const HelperReply restored =
                call(*m_user, HelperProtocol::restore, {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::modeKey, restoreMode}});
            QVERIFY2(!restored.ok(), qPrintable(restoreMode));
            QVERIFY2(restored.errorText.contains(path) && restored.errorText.contains(QLatin1String("Nothing was changed")), qPrintable(restored.errorText));
        }
        const QJsonArray sessions = listOf(*m_user, HelperProtocol::listSessions);
        int running = 0;
        for (const QJsonValue &value : sessions) {
            const QJsonObject listed = value.toObject();
            if (listed.value(QStringLiteral("id")).toString() == session) {
                QCOMPARE(listed.value(QStringLiteral("pid")).toInteger(), initPid);
                QCOMPARE(listed.value(QStringLiteral("state")).toString(), QStringLiteral("running"));
            }
            running += listed.value(QStringLiteral("state")).toString() == QLatin1String("running") ? 1 : 0;
        }
        QCOMPARE(running, 1); // this case's session; earlier ones were stopped
        QCOMPARE(contentOf(targetPath), targetBefore);
        QVERIFY(!QFile::exists(m_attack + QStringLiteral("/root/private/socket")));

        // The user's own thing back in its place: the same restore is granted and works.
        QVERIFY(asOwner(*m_login, QStringLiteral("cd '%1' && rm '%2' && mv '%2.mine' '%2'").arg(user, replaced)));
        const HelperReply restored =
            call(*m_user, HelperProtocol::restore, {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::modeKey, QStringLiteral("in-place")}});
        QVERIFY2(restored.ok(), qPrintable(restored.errorText));
        // A user may run only so many sessions (limits.conf): stop this one.
        const HelperReply stopped = call(*m_user, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        QVERIFY2(stopped.ok(), qPrintable(stopped.errorText));
    }
};

REWIND_TEST_GUILESS_MAIN(HelperRestoreAttackTest)
#include "HelperRestoreAttackTest.moc"
