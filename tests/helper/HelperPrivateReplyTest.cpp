// SPDX-License-Identifier: GPL-2.0-or-later
//
// KAuth broadcasts the helper's replies, progress and log messages on the
// system bus to every local client. rewind-other listens to all of them while
// rewind-user works: a snapshot the scan refuses (its message names a
// process, a path and the session), a session started, a labelled snapshot
// taken and listed. Nothing rewind-other receives holds a path, a process
// name, a session id, a label or a snapshot's id; rewind-user's client reads
// the whole answer from the file the helper handed over, and removes it.
// Answers no client took are removed by the helper later.

#include "TestSkip.h"

#include "HelperProtocol.h"
#include "HelperTestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>

namespace
{

/// The reply files waiting in a user's hand-off directory.
QStringList waitingReplies(const TestUser &user)
{
    const QStringList names = QDir(HelperProtocol::handOffDirectory(user.uid)).entryList(QDir::Files | QDir::System | QDir::Hidden);
    QStringList replies;
    for (const QString &name : names) {
        if (HelperProtocol::isReplyFileName(name)) {
            replies.append(name);
        }
    }
    return replies;
}

/// Fails unless no broadcast holds a '/' or any of secrets.
bool holdNothingPrivate(const QList<Broadcast> &broadcasts, const QStringList &secrets, QString &found)
{
    for (const Broadcast &broadcast : broadcasts) {
        const QString text = broadcast.text();
        if (text.contains(QLatin1Char('/'))) {
            found = QStringLiteral("a path in a broadcast of %1: %2").arg(broadcast.action, text);
            return false;
        }
        for (const QString &secret : secrets) {
            if (text.contains(secret)) {
                found = QStringLiteral("'%1' in a broadcast of %2: %3").arg(secret, broadcast.action, text);
                return false;
            }
        }
    }
    return true;
}

const Broadcast *replyIn(const QList<Broadcast> &broadcasts, const QString &action)
{
    for (const Broadcast &broadcast : broadcasts) {
        if (broadcast.type == Broadcast::ActionPerformed && broadcast.action == HelperProtocol::actionName(action)) {
            return &broadcast;
        }
    }
    return nullptr;
}

} // namespace

class HelperPrivateReplyTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    std::unique_ptr<BroadcastListener> m_other;
    QStringList m_sessions;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("private1"), true);
        QVERIFY(m_login->valid());
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
        m_other = std::make_unique<BroadcastListener>(TestUser::other());
        QVERIFY(m_other->isListening());
    }

    void cleanupTestCase()
    {
        stopSessions(*m_root, m_sessions);
    }

    void refusedSnapshotTellsOnlyItsCaller()
    {
        // A program of the session connected to a socket outside it: the scan refuses the snapshot and names both.
        const QString outside = HelperTestEnvironment::workDirectory() + QStringLiteral("/outside");
        QVERIFY(QDir().mkpath(outside));
        QVERIFY(::chmod(QFile::encodeName(outside).constData(), 0755) == 0);
        QLocalServer server;
        server.setSocketOptions(QLocalServer::WorldAccessOption);
        const QString socketPath = outside + QStringLiteral("/private-reply.socket");
        QLocalServer::removeServer(socketPath);
        QVERIFY2(server.listen(socketPath), qPrintable(server.errorString()));
        QFile spec(HelperTestEnvironment::workDirectory() + QStringLiteral("/specs/outsider.conf"));
        QVERIFY(spec.open(QIODevice::WriteOnly));
        spec.write("[Session]\nName=outsider\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App holder]\nCommand=rewind-test-hold-open "
                   + socketPath.toUtf8() + "\n");
        spec.close();

        const HelperReply started = m_user->call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("outsider")}}));
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
        QVERIFY(!session.isEmpty());
        m_sessions.append(session);
        QString found;
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::startSession), {session}, found), qPrintable(found));
        QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 30000);
        std::unique_ptr<QLocalSocket> accepted(server.nextPendingConnection());
        QVERIFY(accepted);

        const QString label = QStringLiteral("Tax return draft");
        const HelperReply refused =
            m_user->call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}, {HelperProtocol::labelKey, label}}));
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error, int(HelperProtocol::OperationFailed));
        // The user's client shows the whole message, as before.
        // (QLocalServer binds its socket in a directory of its own below outside, then renames it.)
        QVERIFY2(refused.errorText.contains(outside + QLatin1Char('/')) && refused.errorText.contains(QLatin1String("rewind-test-hold-open"))
                     && refused.errorText.contains(session),
                 qPrintable(refused.errorText));
        // What the bus carried: a fixed message that names the file, nothing of the session.
        const QList<Broadcast> broadcasts = m_other->until(HelperProtocol::snapshot);
        QVERIFY2(holdNothingPrivate(broadcasts, {session, label, QStringLiteral("hold-open"), QStringLiteral("outside")}, found), qPrintable(found));
        const Broadcast *reply = replyIn(broadcasts, HelperProtocol::snapshot);
        QVERIFY(reply);
        QVERIFY2(reply->text().startsWith(refused.broadcastErrorText + QLatin1Char('\n')), qPrintable(reply->text()));
        QVERIFY2(HelperProtocol::replyFilePattern().match(refused.broadcastErrorText).hasMatch(), qPrintable(refused.broadcastErrorText));
        QVERIFY(refused.data.isEmpty());
        // The client took the file.
        QCOMPARE(waitingReplies(TestUser::owner()), QStringList());

        const HelperReply stopped = m_user->call(HelperRequest::of(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(stopped.ok(), qPrintable(stopped.errorText));
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::stopSession), {session}, found), qPrintable(found));
        // An unknown snapshot and a stopped session fail in the same way.
        const HelperReply unknown = m_user->call(HelperRequest::of(HelperProtocol::thumbnail, {{HelperProtocol::snapshotKey, qlonglong(987654321)}}));
        QVERIFY(!unknown.ok());
        QVERIFY2(unknown.errorText.contains(QLatin1String("987654321")), qPrintable(unknown.errorText));
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::thumbnail), {QStringLiteral("987654321")}, found), qPrintable(found));
        const HelperReply notRunning = m_user->call(HelperRequest::of(HelperProtocol::scan, {{HelperProtocol::sessionKey, session}}));
        QVERIFY(!notRunning.ok());
        QVERIFY2(notRunning.errorText.contains(session), qPrintable(notRunning.errorText));
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::scan), {session}, found), qPrintable(found));
    }

    void successfulRepliesTellOnlyTheirCaller()
    {
        pid_t initPid = 0;
        const QString session = startCountingSession(*m_user, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());
        QString found;
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::startSession), {session}, found), qPrintable(found));

        const QString label = QStringLiteral("Before the big refactoring");
        const HelperReply taken =
            m_user->call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}, {HelperProtocol::labelKey, label}}));
        QVERIFY2(taken.ok(), qPrintable(taken.errorText));
        const QString snapshot = QString::number(taken.json().toObject().value(QStringLiteral("id")).toInteger());
        QCOMPARE(taken.json().toObject().value(QStringLiteral("label")).toString(), label);
        QVERIFY(!taken.stages.isEmpty()); // progress still reaches the caller
        QCOMPARE(taken.data.keys(), QStringList{HelperProtocol::replyKey});
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::snapshot), {session, label}, found), qPrintable(found));

        const HelperReply listed = m_user->call(HelperRequest::of(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(listed.ok(), qPrintable(listed.errorText));
        const QJsonArray snapshots = listed.json().toArray();
        QCOMPARE(snapshots.size(), 1);
        QCOMPARE(QString::number(snapshots.first().toObject().value(QStringLiteral("id")).toInteger()), snapshot);
        QCOMPARE(snapshots.first().toObject().value(QStringLiteral("label")).toString(), label);
        QCOMPARE(listed.data.keys(), QStringList{HelperProtocol::replyKey});
        QVERIFY(HelperProtocol::isReplyFileName(listed.data.value(HelperProtocol::replyKey).toString()));
        const QList<Broadcast> broadcasts = m_other->until(HelperProtocol::listSnapshots);
        QVERIFY2(holdNothingPrivate(broadcasts, {session, label, QStringLiteral("\"id\""), QStringLiteral("label")}, found), qPrintable(found));
        QVERIFY(replyIn(broadcasts, HelperProtocol::listSnapshots));

        const HelperReply sessions = m_user->call(HelperRequest::of(HelperProtocol::listSessions));
        QVERIFY2(sessions.ok(), qPrintable(sessions.errorText));
        QVERIFY(!sessions.json().toArray().isEmpty());
        QVERIFY2(holdNothingPrivate(m_other->until(HelperProtocol::listSessions), {session, QStringLiteral("counting")}, found), qPrintable(found));
        QCOMPARE(waitingReplies(TestUser::owner()), QStringList());
    }

    void answersNoClientTookAreRemoved()
    {
        // Clients that died before taking their answers: at most a few wait at once.
        HelperRequest left = HelperRequest::of(HelperProtocol::listSessions);
        left.leaveAnswer = true;
        for (int i = 0; i < 24; ++i) {
            QVERIFY(m_user->call(left).ok());
        }
        const QStringList waiting = waitingReplies(TestUser::owner());
        QVERIFY2(!waiting.isEmpty() && waiting.size() <= 16, qPrintable(waiting.join(QLatin1Char(' '))));
        for (const QString &name : waiting) {
            const QFileInfo file(HelperProtocol::handOffDirectory(TestUser::owner().uid) + QLatin1Char('/') + name);
            QCOMPARE(file.ownerId(), TestUser::owner().uid);
            QCOMPARE(file.permissions() & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther), QFile::Permissions());
        }
        // Older than a minute: gone with the next answer.
        const QString old = HelperProtocol::handOffDirectory(TestUser::owner().uid) + QLatin1Char('/') + waiting.first();
        const timespec twoMinutesAgo[2] = {{::time(nullptr) - 120, 0}, {::time(nullptr) - 120, 0}};
        QVERIFY(::utimensat(AT_FDCWD, QFile::encodeName(old).constData(), twoMinutesAgo, AT_SYMLINK_NOFOLLOW) == 0);
        QVERIFY(m_user->call(HelperRequest::of(HelperProtocol::listSessions)).ok());
        QVERIFY(!QFile::exists(old));
        m_other->until(HelperProtocol::listSessions);
    }
};

REWIND_TEST_GUILESS_MAIN(HelperPrivateReplyTest)
#include "HelperPrivateReplyTest.moc"
