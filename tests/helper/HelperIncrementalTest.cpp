// SPDX-License-Identifier: GPL-2.0-or-later
// Incremental snapshots as rewind-user through the helper: where the kernel
// tracks the pages programs change, a snapshot after the last one dumps only
// those, is stored whole and restores; after a restore, or where anything
// broke the chain, the next dump is a full one. Skipped, saying why, on a
// kernel without that tracking (no soft-dirty bits).
#include "CriuCheckpointer.h"
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTest>

using namespace Rewind;

class HelperIncrementalTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

    HelperReply call(const QString &action, const QVariantMap &arguments)
    {
        return m_user->call(HelperRequest::of(action, arguments));
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const auto tracking = CriuCheckpointer::memoryTracking(); !tracking) {
            REWIND_SKIP(qPrintable(QStringLiteral("incremental snapshots are unavailable here: ") + tracking.errorMessage()));
        }
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("incremental"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
    }

    void snapshotsAfterTheFirstDumpOnlyChangedPages()
    {
        pid_t initPid = -1;
        const QString session = startCountingSession(*m_user, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        const qint64 first = snapshotOf(*m_user, session);
        QVERIFY(first > 0);
        const QJsonObject firstInfo = snapshotInList(*m_user, session, first);
        QVERIFY(firstInfo.value(QStringLiteral("incrementalOf")).isNull());

        const qint64 second = snapshotOf(*m_user, session);
        QVERIFY(second > 0);
        const QJsonObject secondInfo = snapshotInList(*m_user, session, second);
        QCOMPARE(secondInfo.value(QStringLiteral("incrementalOf")).toInteger(), first);
        // Whole all the same: as many bytes as the first, few of them new.
        QVERIFY(secondInfo.value(QStringLiteral("logicalBytes")).toInteger() > firstInfo.value(QStringLiteral("logicalBytes")).toInteger() / 2);
        QVERIFY(secondInfo.value(QStringLiteral("addedBytes")).toInteger() < firstInfo.value(QStringLiteral("addedBytes")).toInteger() / 4);
        qInfo("frozen: %.1f ms for the full dump, %.1f ms for the incremental one",
              firstInfo.value(QStringLiteral("frozenMs")).toDouble(),
              secondInfo.value(QStringLiteral("frozenMs")).toDouble());
        const qint64 third = snapshotOf(*m_user, session);
        QCOMPARE(snapshotInList(*m_user, session, third).value(QStringLiteral("incrementalOf")).toInteger(), second);

        // The incremental snapshot restores alongside, and counts on.
        const HelperReply branch = call(HelperProtocol::restore, {{HelperProtocol::snapshotKey, second}, {HelperProtocol::modeKey, HelperProtocol::asNewMode}});
        QVERIFY2(branch.ok(), qPrintable(branch.errorText));
        m_sessions.append(branch.json().toObject().value(QStringLiteral("id")).toString());
        QVERIFY(waitUntilCounting(pid_t(branch.json().toObject().value(QStringLiteral("pid")).toInteger())));

        // Back in time: another cell, whose pages no snapshot answers for. The next dump is full, the one after incremental.
        const HelperReply back = call(HelperProtocol::restore, {{HelperProtocol::snapshotKey, second}, {HelperProtocol::modeKey, HelperProtocol::inPlaceMode}});
        QVERIFY2(back.ok(), qPrintable(back.errorText));
        QVERIFY(waitUntilCounting(pid_t(back.json().toObject().value(QStringLiteral("pid")).toInteger())));
        const qint64 afterRestore = snapshotOf(*m_user, session);
        QVERIFY(afterRestore > 0);
        QVERIFY(snapshotInList(*m_user, session, afterRestore).value(QStringLiteral("incrementalOf")).isNull());
        const qint64 next = snapshotOf(*m_user, session);
        QCOMPARE(snapshotInList(*m_user, session, next).value(QStringLiteral("incrementalOf")).toInteger(), afterRestore);

        // A snapshot deleted from the end of the chain: the next dump cannot lean on it.
        const HelperReply deleted = call(HelperProtocol::remove, {{HelperProtocol::snapshotKey, next}});
        QVERIFY2(deleted.ok(), qPrintable(deleted.errorText));
        const qint64 afterDelete = snapshotOf(*m_user, session);
        QVERIFY(snapshotInList(*m_user, session, afterDelete).value(QStringLiteral("incrementalOf")).isNull());
    }
};

REWIND_TEST_GUILESS_MAIN(HelperIncrementalTest)
#include "HelperIncrementalTest.moc"
