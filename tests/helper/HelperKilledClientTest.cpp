// SPDX-License-Identifier: GPL-2.0-or-later
// A client of rewind-helper that is killed in the middle of a snapshot leaves
// the session running and thawed, and the helper answers the next client; a
// client that cancels before the freeze keeps the session from ever being
// frozen. Real KAuth, real system bus, real polkitd, real cells.
#include "CgroupFreezer.h"
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QFile>
#include <QTest>

#include <csignal>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace
{

QString freezeFile(const QString &session)
{
    return HelperTestEnvironment::cellCgroup(session) + QStringLiteral("/cgroup.freeze");
}

/// Watches a session's cgroup.freeze for writes.
class FreezeWatch
{
public:
    explicit FreezeWatch(const QString &session)
        : m_path(freezeFile(session))
        , m_fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
    {
        m_valid = m_fd >= 0 && ::inotify_add_watch(m_fd, QFile::encodeName(m_path).constData(), IN_MODIFY) >= 0;
    }
    ~FreezeWatch()
    {
        ::close(m_fd);
    }
    bool valid() const
    {
        return m_valid;
    }
    /// Whether anything wrote cgroup.freeze since the last call; waits up to timeoutMs for it.
    bool written(int timeoutMs)
    {
        pollfd event{m_fd, POLLIN, 0};
        if (::poll(&event, 1, timeoutMs) != 1) {
            return false;
        }
        char buffer[4096];
        while (::read(m_fd, buffer, sizeof buffer) > 0) { }
        return true;
    }
    QByteArray value() const
    {
        QFile file(m_path);
        return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
    }
    /// Waits until cgroup.freeze says 0 again (the kernel then thaws).
    bool waitUntilThawRequested(int timeoutMs)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (value() != "0") {
            if (deadline.hasExpired() || !written(int(deadline.remainingTime()))) {
                return value() == "0";
            }
        }
        return true;
    }

private:
    QString m_path;
    int m_fd;
    bool m_valid = false;
};

} // namespace

class HelperKilledClientTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

    /// A request answered by the helper, retried while the helper is still
    /// busy with the killed client's snapshot (KAuth then drops the call).
    HelperReply answered(HelperClient &client, HelperRequest request)
    {
        request.timeoutMs = 20000;
        HelperReply reply;
        for (int attempt = 0; attempt < 10; ++attempt) {
            reply = client.call(request);
            if (reply.error != -1000) {
                break;
            }
        }
        return reply;
    }

    QString startSession(HelperClient &client, pid_t *initPid)
    {
        return startCountingSession(client, m_sessions, initPid);
    }

    void killMidSnapshot(const TestUser &user)
    {
        std::unique_ptr<HelperClient> client = std::make_unique<HelperClient>(user, user.uid == 0 ? nullptr : m_login.get());
        QVERIFY(client->isRunning());
        pid_t initPid = -1;
        const QString session = startSession(*client, &initPid);
        QVERIFY(!session.isEmpty());
        const QJsonArray snapshotsBefore = listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsnapshots")}});

        FreezeWatch watch(session);
        QVERIFY(watch.valid());
        QVERIFY(client->send(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}})));
        QVERIFY2(watch.written(60000), "the helper never froze the session");
        const pid_t clientPid = client->pid();
        client->kill(); // kill -9 of the client while the session is frozen
        QVERIFY(::kill(clientPid, 0) != 0);

        // The helper goes on without its client, and thaws.
        QVERIFY(watch.waitUntilThawRequested(60000));
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto frozen = Rewind::CgroupFreezer::isFrozen(HelperTestEnvironment::cellCgroup(session));
                return frozen.ok() && !*frozen;
            },
            10000));
        QVERIFY(waitUntilCounting(initPid));

        // And answers the next client; the session runs, the catalog is whole.
        const HelperReply sessions =
            answered(*m_root, HelperRequest::of(HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsessions")}}));
        QVERIFY2(sessions.ok(), qPrintable(sessions.errorText));
        bool running = false;
        const QJsonArray list = sessions.json().toArray();
        for (const QJsonValue &value : list) {
            running = running
                || (value.toObject().value(QStringLiteral("id")).toString() == session
                    && value.toObject().value(QStringLiteral("state")).toString() == QLatin1String("running"));
        }
        QVERIFY(running);
        const HelperReply verified = answered(*m_root, HelperRequest::of(HelperProtocol::verify));
        QVERIFY2(verified.ok(), qPrintable(verified.errorText));
        QCOMPARE(verified.json().toObject().value(QStringLiteral("damagedSnapshots")).toArray().size(), 0);
        const QJsonArray snapshotsAfter = listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsnapshots")}});
        // The snapshot either finished without its client or left nothing behind.
        QVERIFY(snapshotsAfter.size() == snapshotsBefore.size() || snapshotsAfter.size() == snapshotsBefore.size() + 1);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("killed1"), true);
        QVERIFY(m_login->valid());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY2(m_root->isRunning(), qPrintable(m_root->startError()));
    }

    void cleanupTestCase()
    {
        for (const QString &session : std::as_const(m_sessions)) {
            (void)answered(
                *m_root,
                HelperRequest::of(HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("stop")}, {HelperProtocol::sessionKey, session}}));
        }
    }

    void killedRootClientLeavesSessionThawed()
    {
        // Root's own session: CRIU really dumps it while the client is gone.
        killMidSnapshot(TestUser::root());
    }

    void killedUserClientLeavesSessionThawed()
    {
        killMidSnapshot(TestUser::owner());
    }

    void cancelledSnapshotNeverFreezes()
    {
        HelperClient client(TestUser::owner(), m_login.get());
        QVERIFY(client.isRunning());
        pid_t initPid = -1;
        const QString session = startSession(client, &initPid);
        QVERIFY(!session.isEmpty());
        const QJsonArray snapshotsBefore = listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsnapshots")}});
        FreezeWatch watch(session);
        QVERIFY(watch.valid());

        HelperRequest request = HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}});
        request.cancelAtStage = QStringLiteral("Scanning"); // the helper speaks C
        const HelperReply reply = client.call(request);
        QVERIFY(!reply.ok());
        QVERIFY2(reply.errorText.contains(QLatin1String("cancelled")), qPrintable(reply.errorText));
        QVERIFY(reply.stages.contains(QStringLiteral("Scanning")));
        QVERIFY(!reply.stages.contains(QStringLiteral("Freezing")));
        QVERIFY2(!watch.written(0), "the cancelled snapshot froze the session");
        QVERIFY(waitUntilCounting(initPid));
        QCOMPARE(listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsnapshots")}}), snapshotsBefore);
    }
};

REWIND_TEST_GUILESS_MAIN(HelperKilledClientTest)
#include "HelperKilledClientTest.moc"
