// SPDX-License-Identifier: GPL-2.0-or-later
// A user's snapshots live within the quotas an administrator sets, free
// their space when deleted, and share nothing with another user's: as
// rewind-user and rewind-other through the helper, on real sessions.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

namespace
{

/// Bytes the store's chunks take, as du counts them. (The catalog beside
/// them keeps its free pages for the next rows.)
qint64 storeBytes()
{
    QProcess du;
    du.start(QStringLiteral("du"), {QStringLiteral("-sb"), HelperTestEnvironment::stateDirectory() + QStringLiteral("/store/packs")});
    if (!du.waitForFinished(60000) || du.exitCode() != 0) {
        return -1;
    }
    return du.readAllStandardOutput().split('\t').value(0).toLongLong();
}

} // namespace

class HelperQuotaTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_userLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

    qint64 sessionCount(HelperClient &client, const QString &session)
    {
        return listOf(client, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}).size();
    }

    bool remove(HelperClient &client, qint64 snapshot, qint64 *bytesFreed = nullptr)
    {
        const HelperReply removed = client.call(HelperRequest::of(HelperProtocol::remove, {{HelperProtocol::snapshotKey, snapshot}}));
        if (!removed.ok()) {
            qWarning("deleting snapshot %lld: %s", snapshot, qPrintable(removed.errorText));
            return false;
        }
        if (bytesFreed) {
            *bytesFreed = removed.json().toObject().value(QStringLiteral("bytesFreed")).toInteger(-1);
        }
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        // Deleting asks for the user's own password: the rule answers for them.
        QFile rule(HelperTestEnvironment::workDirectory() + QStringLiteral("/rules.d/50-rewind-test-delete.rules"));
        QVERIFY(rule.open(QIODevice::WriteOnly));
        rule.write(
            "polkit.addRule(function(action, subject) {\n"
            "    if (action.id == \"org.rewind.helper.deletesnapshot\" && (subject.user == \"rewind-user\" || subject.user == \"rewind-other\")) {\n"
            "        return polkit.Result.YES;\n"
            "    }\n"
            "});\n");
        rule.close();
        QVERIFY(rule.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));

        m_userLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("quota1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("quota2"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_userLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_other->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        QFile::remove(HelperTestEnvironment::limitsFile());
        stopSessions(*m_root, m_sessions);
    }

    void quotaRefusesBeforeTheFreezeAndDeletingFreesTheSpace()
    {
        pid_t initPid = 0;
        const QString session = startCountingSession(*m_user, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        const qint64 first = snapshotOf(*m_user, session);
        QVERIFY(first > 0);
        const qint64 firstStored = snapshotInList(*m_user, session, first).value(QStringLiteral("storedBytes")).toInteger();
        QVERIFY(firstStored > 0);

        // Full by bytes: the first snapshot took all of the quota.
        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nBytesPerUser=" + QByteArray::number(firstStored) + "\n"));
        HelperRequest request = HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}});
        const HelperReply overBytes = m_user->call(request);
        QVERIFY(!overBytes.ok());
        qInfo() << overBytes.errorText;
        QVERIFY2(overBytes.errorText.contains(QLatin1String("quota")) && overBytes.errorText.contains(QLatin1String("Delete snapshots")),
                 qPrintable(overBytes.errorText));
        // Refused before the freeze: the session never stopped counting.
        QVERIFY2(!overBytes.stages.contains(QStringLiteral("Freezing")), qPrintable(overBytes.stages.join(QLatin1Char(','))));
        QVERIFY(waitUntilCounting(initPid));
        QCOMPARE(sessionCount(*m_user, session), 1);

        // Full by number.
        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nSnapshotsPerUser=1\n"));
        const HelperReply overCount = m_user->call(request);
        QVERIFY(!overCount.ok());
        QVERIFY2(overCount.errorText.contains(QLatin1String("1 snapshot")), qPrintable(overCount.errorText));
        QCOMPARE(sessionCount(*m_user, session), 1);

        // Another user's quota is their own.
        const QString otherSession = startCountingSession(*m_other, m_sessions);
        QVERIFY(!otherSession.isEmpty());
        QVERIFY(snapshotOf(*m_other, otherSession) > 0);

        // Within the quota again: a second snapshot, then both deleted by the
        // user. The store shrinks by what they alone used, without gc.
        QFile::remove(HelperTestEnvironment::limitsFile());
        const qint64 second = snapshotOf(*m_user, session);
        QVERIFY(second > 0);
        const qint64 secondNew = snapshotInList(*m_user, session, second).value(QStringLiteral("newBytes")).toInteger();
        const qint64 before = storeBytes();
        QVERIFY(before > 0);
        qint64 freedFirst = -1;
        QVERIFY(remove(*m_user, first, &freedFirst));
        qint64 freedSecond = -1;
        QVERIFY(remove(*m_user, second, &freedSecond));
        const qint64 after = storeBytes();
        qInfo("du: %lld bytes before, %lld after deleting the user's snapshots (%lld + %lld bytes freed, %lld stored)",
              before,
              after,
              freedFirst,
              freedSecond,
              firstStored + secondNew);
        QVERIFY(freedFirst >= 0 && freedSecond > 0);
        QCOMPARE(before - after, firstStored + secondNew);
        QCOMPARE(freedFirst + freedSecond, firstStored + secondNew);
        QCOMPARE(sessionCount(*m_user, session), 0);
        // The other user's snapshot is untouched.
        QCOMPARE(sessionCount(*m_other, otherSession), 1);
        const HelperReply verified = m_root->call(HelperRequest::of(HelperProtocol::verify));
        QVERIFY2(verified.ok(), qPrintable(verified.errorText));
        QVERIFY(verified.json().toObject().value(QStringLiteral("damagedSnapshots")).toArray().isEmpty());
    }

    void twoUsersShareNothing()
    {
        // The same spec, the same programs, the same pages: stored once for
        // each user, and neither learns of the other's.
        const QString mine = startCountingSession(*m_user, m_sessions);
        QVERIFY(!mine.isEmpty());
        const QString theirs = startCountingSession(*m_other, m_sessions);
        QVERIFY(!theirs.isEmpty());
        const qint64 theirSnapshot = snapshotOf(*m_other, theirs);
        QVERIFY(theirSnapshot > 0);
        const qint64 mySnapshot = snapshotOf(*m_user, mine);
        QVERIFY(mySnapshot > 0);
        const QJsonObject myInfo = snapshotInList(*m_user, mine, mySnapshot);
        qInfo("rewind-user's snapshot: %lld bytes stored, %lld new, %lld shared",
              myInfo.value(QStringLiteral("storedBytes")).toInteger(),
              myInfo.value(QStringLiteral("newBytes")).toInteger(),
              myInfo.value(QStringLiteral("sharedBytes")).toInteger());
        QVERIFY(myInfo.value(QStringLiteral("storedBytes")).toInteger() > 0);
        QCOMPARE(myInfo.value(QStringLiteral("sharedBytes")).toInteger(), 0);
        QCOMPARE(myInfo.value(QStringLiteral("newBytes")).toInteger(), myInfo.value(QStringLiteral("storedBytes")).toInteger());

        // The user's own next snapshot shares with the first.
        const qint64 again = snapshotOf(*m_user, mine);
        QVERIFY(again > 0);
        const QJsonObject againInfo = snapshotInList(*m_user, mine, again);
        QVERIFY2(againInfo.value(QStringLiteral("sharedBytes")).toInteger() > againInfo.value(QStringLiteral("storedBytes")).toInteger() / 2,
                 qPrintable(QString::number(againInfo.value(QStringLiteral("sharedBytes")).toInteger())));
        // Neither sees the other's snapshots.
        QVERIFY(snapshotInList(*m_user, theirs, theirSnapshot).isEmpty());
        QVERIFY(snapshotInList(*m_other, mine, mySnapshot).isEmpty());
    }
};

REWIND_TEST_GUILESS_MAIN(HelperQuotaTest)
#include "HelperQuotaTest.moc"
