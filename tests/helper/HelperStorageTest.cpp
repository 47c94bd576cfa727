// SPDX-License-Identifier: GPL-2.0-or-later
// What each snapshot added to the store (listsnapshots' addedBytes) and what
// a user's snapshots take (the storage action): as rewind-user and
// rewind-other through the helper, on real sessions snapshotted with CRIU.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

namespace
{

QJsonObject storageOf(HelperClient &client)
{
    const HelperReply reply = client.call(HelperRequest::of(HelperProtocol::storage));
    if (!reply.ok()) {
        qWarning("storage: %s", qPrintable(reply.errorText));
        return {};
    }
    return reply.json().toObject();
}

/// The entry of session in a storage answer; empty if it is not listed.
QJsonObject sessionIn(const QJsonObject &storage, const QString &session)
{
    const QJsonArray sessions = storage.value(QStringLiteral("sessions")).toArray();
    for (const QJsonValue &value : sessions) {
        if (value.toObject().value(QStringLiteral("session")).toString() == session) {
            return value.toObject();
        }
    }
    return {};
}

qint64 sumOfAddedBytes(HelperClient &client)
{
    qint64 sum = 0;
    const QJsonArray snapshots = listOf(client, HelperProtocol::listSnapshots);
    for (const QJsonValue &snapshot : snapshots) {
        sum += snapshot.toObject().value(QStringLiteral("addedBytes")).toInteger();
    }
    return sum;
}

} // namespace

class HelperStorageTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_userLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_userLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("storage1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("storage2"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_userLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_other->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        QFile::remove(HelperTestEnvironment::limitsFile());
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
    }

    void addedBytesAddUpToTheStorage()
    {
        // Nothing stored yet: nothing used.
        const QJsonObject empty = storageOf(*m_user);
        QVERIFY(!empty.isEmpty());
        QCOMPARE(empty.value(QStringLiteral("totalBytes")).toInteger(-1), 0);
        QVERIFY(empty.value(QStringLiteral("sessions")).toArray().isEmpty());

        const QString session = startCountingSession(*m_user, m_sessions);
        QVERIFY(!session.isEmpty());
        const qint64 first = snapshotOf(*m_user, session);
        QVERIFY(first > 0);
        const QJsonObject firstInfo = snapshotInList(*m_user, session, first);
        // The user's first snapshot brought every chunk it has.
        QVERIFY(firstInfo.value(QStringLiteral("storedBytes")).toInteger() > 0);
        QCOMPARE(firstInfo.value(QStringLiteral("addedBytes")).toInteger(-1), firstInfo.value(QStringLiteral("storedBytes")).toInteger());

        // The same idle session again: the counter's pages changed, little else.
        const qint64 second = snapshotOf(*m_user, session);
        QVERIFY(second > 0);
        const QJsonObject secondInfo = snapshotInList(*m_user, session, second);
        const qint64 secondAdded = secondInfo.value(QStringLiteral("addedBytes")).toInteger(-1);
        qInfo("first snapshot: %lld bytes stored and added; second: %lld stored, %lld added",
              firstInfo.value(QStringLiteral("storedBytes")).toInteger(),
              secondInfo.value(QStringLiteral("storedBytes")).toInteger(),
              secondAdded);
        QVERIFY(secondAdded >= 0);
        QVERIFY2(secondAdded <= firstInfo.value(QStringLiteral("storedBytes")).toInteger() / 10, qPrintable(QString::number(secondAdded)));

        // A second session of the same spec: its own chunks, some shared with the first session's.
        const QString branch = startCountingSession(*m_user, m_sessions);
        QVERIFY(!branch.isEmpty());
        QVERIFY(snapshotOf(*m_user, branch) > 0);

        const QJsonObject storage = storageOf(*m_user);
        const qint64 total = storage.value(QStringLiteral("totalBytes")).toInteger(-1);
        qInfo("rewind-user's storage: %s", QJsonDocument(storage).toJson(QJsonDocument::Compact).constData());
        QVERIFY(total > 0);
        // Every stored chunk was added by exactly one snapshot.
        QCOMPARE(sumOfAddedBytes(*m_user), total);
        QCOMPARE(storage.value(QStringLiteral("totalSnapshots")).toInteger(), 3);
        QCOMPARE(storage.value(QStringLiteral("sessions")).toArray().size(), 2);
        const QJsonObject mine = sessionIn(storage, session);
        QCOMPARE(mine.value(QStringLiteral("snapshots")).toInteger(), 2);
        // A session's bytes are those of the chunks its snapshots reference.
        QVERIFY(mine.value(QStringLiteral("bytes")).toInteger() >= firstInfo.value(QStringLiteral("storedBytes")).toInteger());
        QVERIFY(mine.value(QStringLiteral("bytes")).toInteger() <= total);
        const QJsonObject branched = sessionIn(storage, branch);
        QCOMPARE(branched.value(QStringLiteral("snapshots")).toInteger(), 1);
        QVERIFY(branched.value(QStringLiteral("bytes")).toInteger() > 0);
        // Chunks both sessions hold count for each, once in the total.
        QVERIFY(mine.value(QStringLiteral("bytes")).toInteger() + branched.value(QStringLiteral("bytes")).toInteger() >= total);

        // Another user's snapshots are theirs: neither sees the other's.
        const QString theirs = startCountingSession(*m_other, m_sessions);
        QVERIFY(!theirs.isEmpty());
        QVERIFY(snapshotOf(*m_other, theirs) > 0);
        const QJsonObject again = storageOf(*m_user);
        QCOMPARE(again.value(QStringLiteral("totalBytes")).toInteger(), total);
        QVERIFY(sessionIn(again, theirs).isEmpty());
        const QJsonObject other = storageOf(*m_other);
        QCOMPARE(other.value(QStringLiteral("sessions")).toArray().size(), 1);
        QVERIFY(!sessionIn(other, theirs).isEmpty());
        QVERIFY(sessionIn(other, session).isEmpty());
        QCOMPARE(other.value(QStringLiteral("totalBytes")).toInteger(), sumOfAddedBytes(*m_other));
        // The same programs, stored again for the other user (chunks are per owner).
        QVERIFY(other.value(QStringLiteral("totalBytes")).toInteger() > 0);
    }

    void quotaAsTheAdministratorSetsIt()
    {
        // Without limits.conf, the default quota; root has none.
        QFile::remove(HelperTestEnvironment::limitsFile());
        QCOMPARE(storageOf(*m_user).value(QStringLiteral("quotaBytes")).toInteger(), 20LL * 1024 * 1024 * 1024);
        const QJsonObject root = storageOf(*m_root);
        QVERIFY(root.contains(QStringLiteral("quotaBytes")));
        QVERIFY(root.value(QStringLiteral("quotaBytes")).isNull());

        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nBytesPerUser=3G\n"));
        QCOMPARE(storageOf(*m_user).value(QStringLiteral("quotaBytes")).toInteger(), 3LL * 1024 * 1024 * 1024);
        QCOMPARE(storageOf(*m_other).value(QStringLiteral("quotaBytes")).toInteger(), 3LL * 1024 * 1024 * 1024);
    }

    void takesNoArguments()
    {
        const HelperReply refused = m_user->call(HelperRequest::of(HelperProtocol::storage, {{HelperProtocol::sessionKey, QStringLiteral("x")}}));
        QVERIFY(!refused.ok());
        QVERIFY2(!refused.errorText.isEmpty(), "a refusal says why");
    }
};

REWIND_TEST_GUILESS_MAIN(HelperStorageTest)
#include "HelperStorageTest.moc"
