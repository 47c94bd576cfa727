// SPDX-License-Identifier: GPL-2.0-or-later
// The autosave action takes the caller's schedule and retention, within
// bounds the helper enforces: out-of-range or mistyped settings are refused
// before anything happens, the defaults apply where none are given, and the
// given interval and counts are what it snapshots and prunes by (labelled
// snapshots stay). As rewind-user through the real helper, on a real session.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QTest>

namespace
{

QDateTime timeOf(const QJsonValue &value)
{
    return QDateTime::fromString(value.toString(), Qt::ISODateWithMs);
}

QList<qint64> idsOf(const QJsonArray &array)
{
    QList<qint64> ids;
    for (const QJsonValue &value : array) {
        ids.append(value.isObject() ? value[QStringLiteral("id")].toInteger() : value.toInteger());
    }
    return ids;
}

} // namespace

class HelperAutosaveTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

    /// A minute's interval and only the newest scheduled snapshot kept.
    QVariantMap tightSettings(const QString &session) const
    {
        return {{HelperProtocol::sessionKey, session},
                {HelperProtocol::intervalKey, 1},
                {HelperProtocol::keepLastKey, 1},
                {HelperProtocol::keepHourlyKey, 0},
                {HelperProtocol::keepDailyKey, 0}};
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("autosave1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
        const QString session = startCountingSession(*m_user, m_sessions);
        QVERIFY(!session.isEmpty());
    }

    void cleanupTestCase()
    {
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
    }

    void refusesSettingsOutOfBounds_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QVariant>("value");
        QTest::addColumn<QString>("message");
        const QString interval = QStringLiteral("'interval' must be a whole number from 1 to 1440.");
        QTest::newRow("interval 0") << HelperProtocol::intervalKey << QVariant(0) << interval;
        QTest::newRow("interval a day and a minute") << HelperProtocol::intervalKey << QVariant(1441) << interval;
        QTest::newRow("interval negative, 64 bits") << HelperProtocol::intervalKey << QVariant(qlonglong(-5)) << interval;
        QTest::newRow("interval huge, 64 bits") << HelperProtocol::intervalKey << QVariant(qlonglong(1) << 40) << interval;
        QTest::newRow("interval as text") << HelperProtocol::intervalKey << QVariant(QStringLiteral("5")) << interval;
        QTest::newRow("interval as a fraction") << HelperProtocol::intervalKey << QVariant(1.5) << interval;
        QTest::newRow("keep none") << HelperProtocol::keepLastKey << QVariant(0) << QStringLiteral("'keepLast' must be a whole number from 1 to 100.");
        QTest::newRow("keep too many") << HelperProtocol::keepLastKey << QVariant(101) << QStringLiteral("'keepLast' must be a whole number from 1 to 100.");
        QTest::newRow("hourly negative") << HelperProtocol::keepHourlyKey << QVariant(-1)
                                         << QStringLiteral("'keepHourly' must be a whole number from 0 to 168.");
        QTest::newRow("daily too many") << HelperProtocol::keepDailyKey << QVariant(367) << QStringLiteral("'keepDaily' must be a whole number from 0 to 366.");
    }

    void refusesSettingsOutOfBounds()
    {
        QFETCH(QString, key);
        QFETCH(QVariant, value);
        QFETCH(QString, message);
        const QString session = m_sessions.value(0);
        QVERIFY(!session.isEmpty());
        const HelperReply reply = m_user->call(HelperRequest::of(HelperProtocol::autosave, {{HelperProtocol::sessionKey, session}, {key, value}}));
        QVERIFY(!reply.ok());
        QCOMPARE(reply.error, int(HelperProtocol::InvalidArguments));
        QVERIFY2(reply.errorText.contains(message), qPrintable(reply.errorText));
        // Refused before anything was done: the session has no snapshot yet.
        QCOMPARE(listOf(*m_user, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}).size(), 0);
    }

    void snapshotsAndPrunesByTheGivenSettings()
    {
        const QString session = m_sessions.value(0);
        QVERIFY(!session.isEmpty());

        // Without settings: the defaults, a snapshot due at once, the next in 15 minutes.
        const HelperReply first = m_user->call(HelperRequest::of(HelperProtocol::autosave, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(first.ok(), qPrintable(first.errorText));
        const QJsonObject taken = first.json()[QStringLiteral("taken")].toObject();
        QCOMPARE(taken[QStringLiteral("trigger")].toString(), QStringLiteral("scheduled"));
        const qint64 kept = taken[QStringLiteral("id")].toInteger();
        const QDateTime takenAt = timeOf(taken[QStringLiteral("createdAt")]);
        QVERIFY(kept > 0 && takenAt.isValid());
        QCOMPARE(timeOf(first.json()[QStringLiteral("nextDue")]).toSecsSinceEpoch(), takenAt.addSecs(15 * 60).toSecsSinceEpoch());

        // A minute's interval: not due yet, due a minute after the newest snapshot.
        const HelperReply early = m_user->call(HelperRequest::of(HelperProtocol::autosave, tightSettings(session)));
        QVERIFY2(early.ok(), qPrintable(early.errorText));
        QVERIFY(early.json()[QStringLiteral("taken")].isNull());
        QVERIFY(early.json()[QStringLiteral("pruned")].toArray().isEmpty());
        const QDateTime due = timeOf(early.json()[QStringLiteral("nextDue")]);
        QCOMPARE(due.toSecsSinceEpoch(), takenAt.addSecs(60).toSecsSinceEpoch());

        // Labelled, the first snapshot outlives a retention that keeps one.
        const HelperReply labelled = m_user->call(
            HelperRequest::of(HelperProtocol::setLabel, {{HelperProtocol::snapshotKey, kept}, {HelperProtocol::labelKey, QStringLiteral("keep me")}}));
        QVERIFY2(labelled.ok(), qPrintable(labelled.errorText));
        // nextDue comes in whole seconds, cut off: a second later it has passed.
        QVERIFY(QTest::qWaitFor(
            [&] {
                return QDateTime::currentDateTimeUtc() >= due.addSecs(1);
            },
            90000));
        const HelperReply second = m_user->call(HelperRequest::of(HelperProtocol::autosave, tightSettings(session)));
        QVERIFY2(second.ok(), qPrintable(second.errorText));
        const qint64 newest = second.json()[QStringLiteral("taken")][QStringLiteral("id")].toInteger();
        QVERIFY2(newest > kept, second.answer.constData());
        QCOMPARE(idsOf(second.json()[QStringLiteral("pruned")].toArray()), QList<qint64>());

        // Without its label it is one scheduled snapshot too many: the next call prunes it, taking none.
        const HelperReply unlabelled =
            m_user->call(HelperRequest::of(HelperProtocol::setLabel, {{HelperProtocol::snapshotKey, kept}, {HelperProtocol::labelKey, QString()}}));
        QVERIFY2(unlabelled.ok(), qPrintable(unlabelled.errorText));
        const HelperReply pruning = m_user->call(HelperRequest::of(HelperProtocol::autosave, tightSettings(session)));
        QVERIFY2(pruning.ok(), qPrintable(pruning.errorText));
        QVERIFY(pruning.json()[QStringLiteral("taken")].isNull());
        QCOMPARE(idsOf(pruning.json()[QStringLiteral("pruned")].toArray()), QList<qint64>{kept});
        QCOMPARE(idsOf(listOf(*m_user, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}})), QList<qint64>{newest});
    }
};

QTEST_GUILESS_MAIN(HelperAutosaveTest)
#include "HelperAutosaveTest.moc"
