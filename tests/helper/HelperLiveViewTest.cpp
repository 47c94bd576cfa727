// SPDX-License-Identifier: GPL-2.0-or-later
// The live-view hand-off: a user reaches their own session's display
// without root, through a socket the helper hands over, and nobody else can.
// Everything real: the helper through KAuth and polkit, the relay running as
// the user, the session's Xvnc; the test connects as the user and as another
// user by changing its uid in a forked child.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include "LiveViewRelay.h"
#include "RewindPaths.h"
#include "TestSystem.h"
#include "VncScreenshot.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

/// Reads the greeting every VNC server sends first ("RFB 003.008\n"); true if it came.
bool readsVncGreeting(int fd, int timeoutMs = 10000)
{
    char greeting[12];
    size_t got = 0;
    while (got < sizeof greeting) {
        pollfd watched{fd, POLLIN, 0};
        if (::poll(&watched, 1, timeoutMs) <= 0) {
            return false;
        }
        const ssize_t n = ::read(fd, greeting + got, sizeof greeting - got);
        if (n <= 0) {
            return false;
        }
        got += size_t(n);
    }
    return std::memcmp(greeting, "RFB ", 4) == 0;
}

/// Whether nothing more comes from fd, within the timeout: the other side closed.
bool seesTheEnd(int fd, int timeoutMs = 10000)
{
    pollfd watched{fd, POLLIN, 0};
    char byte;
    return ::poll(&watched, 1, timeoutMs) == 1 && ::read(fd, &byte, 1) <= 0;
}

/// Connects to path as user (a forked child that changes its ids) and reads
/// the VNC greeting through it: 0 if that worked, else the errno of the
/// connection or -1 if no greeting came.
int greetingAs(const TestUser &user, const QString &path)
{
    const QByteArray encoded = QFile::encodeName(path);
    const pid_t child = ::fork();
    if (child == 0) {
        // Raw system calls only between fork and exit: other threads' locks may be held.
        if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, user.uid, user.uid, user.uid) != 0
            || ::syscall(SYS_setresuid, user.uid, user.uid, user.uid) != 0) {
            ::_exit(125);
        }
        const int fd = TestSystem::connectUnixSocket(encoded);
        if (fd < 0) {
            ::_exit(errno > 0 && errno < 120 ? errno : 124);
        }
        ::_exit(readsVncGreeting(fd) ? 0 : 123);
    }
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
        return -2;
    }
    return WEXITSTATUS(status) == 123 ? -1 : WEXITSTATUS(status);
}

/// The cgroup the session's relays run in; gone once they are ended.
QString viewersCgroup(const QString &session)
{
    return HelperTestEnvironment::cellCgroupParent() + QStringLiteral("/viewers/") + session;
}

RewindPaths helperPaths()
{
    RewindPaths paths = RewindPaths::system();
    paths.cgroupParent = HelperTestEnvironment::cellCgroupParent();
    return paths;
}

} // namespace

class HelperLiveViewTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_ownerLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_owner;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

    QString startSession(HelperClient &client)
    {
        return startCountingSession(client, m_sessions);
    }

    static HelperReply liveView(HelperClient &client, const QString &session)
    {
        return client.call(HelperRequest::of(HelperProtocol::liveView, {{HelperProtocol::sessionKey, session}}));
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_ownerLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("live1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("live2"), true);
        m_owner = std::make_unique<HelperClient>(TestUser::owner(), m_ownerLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_owner->isRunning() && m_other->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        stopSessions(*m_root, m_sessions);
    }

    void ownerReachesTheDisplayAndNobodyElse()
    {
        const QString session = startSession(*m_owner);
        QVERIFY(!session.isEmpty());

        const HelperReply reply = liveView(*m_owner, session);
        QVERIFY2(reply.ok(), qPrintable(reply.errorText));
        const QString socket = reply.json().toObject().value(QStringLiteral("socket")).toString();
        QCOMPARE(socket, HelperProtocol::handOffDirectory(TestUser::owner().uid) + QLatin1Char('/') + HelperProtocol::liveViewSocketName(session));

        // The socket and its directory are the owner's alone.
        struct stat info;
        QVERIFY(::lstat(QFile::encodeName(socket).constData(), &info) == 0);
        QVERIFY(S_ISSOCK(info.st_mode));
        QCOMPARE(info.st_uid, TestUser::owner().uid);
        QCOMPARE(info.st_mode & 0077, 0u);
        QVERIFY(::lstat(QFile::encodeName(HelperProtocol::handOffDirectory(TestUser::owner().uid)).constData(), &info) == 0);
        QCOMPARE(info.st_uid, TestUser::owner().uid);
        QCOMPARE(info.st_mode & 07777, 0700u);

        // The relay runs as the owner, in the session's viewers cgroup.
        const QList<pid_t> relays = LiveViewRelay::running(helperPaths(), session);
        QCOMPARE(relays.size(), 1);
        QCOMPARE(TestSystem::realUidOf(relays.first()), long(TestUser::owner().uid));

        QCOMPARE(greetingAs(TestUser::owner(), socket), 0);
        QCOMPARE(greetingAs(TestUser::other(), socket), EACCES);

        // The whole protocol passes: a complete picture of the session's screen.
        const auto picture = VncScreenshot::grab(socket, std::chrono::seconds(20));
        QVERIFY2(picture.ok(), qPrintable(picture.errorMessage()));
        QVERIFY(picture->width() >= 640 && picture->height() >= 480);

        // Another user may not look, and gets no socket of their own for it.
        const HelperReply refused = liveView(*m_other, session);
        QCOMPARE(refused.error, int(HelperProtocol::NotYours));
        QVERIFY(!QFile::exists(HelperProtocol::handOffDirectory(TestUser::other().uid) + QLatin1Char('/') + HelperProtocol::liveViewSocketName(session)));
        // Nor may root's client without administering (no live view is administered).
        QCOMPARE(liveView(*m_root, session).error, int(HelperProtocol::NotYours));

        // Asking again replaces the relay: still one, and it answers.
        const HelperReply again = liveView(*m_owner, session);
        QVERIFY2(again.ok(), qPrintable(again.errorText));
        const QList<pid_t> replaced = LiveViewRelay::running(helperPaths(), session);
        QCOMPARE(replaced.size(), 1);
        QVERIFY(replaced.first() != relays.first());
        QCOMPARE(greetingAs(TestUser::owner(), socket), 0);

        // The relay ends with the session.
        const HelperReply stopped = m_owner->call(HelperRequest::of(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(stopped.ok(), qPrintable(stopped.errorText));
        QVERIFY(!QFileInfo::exists(viewersCgroup(session)));
        QCOMPARE(greetingAs(TestUser::owner(), socket), ECONNREFUSED);
        const HelperReply notRunning = liveView(*m_owner, session);
        QVERIFY(!notRunning.ok());
        QVERIFY2(notRunning.errorText.contains(QLatin1String("running")), qPrintable(notRunning.errorText));
    }

    void whatIsInTheWayIsReplacedNotFollowed()
    {
        const QString session = startSession(*m_owner);
        QVERIFY(!session.isEmpty());
        QVERIFY(liveView(*m_owner, session).ok()); // makes the user's directory
        const QString socket = HelperProtocol::handOffDirectory(TestUser::owner().uid) + QLatin1Char('/') + HelperProtocol::liveViewSocketName(session);

        // The user puts a link where the socket goes, to a file of root's.
        const QString target = HelperTestEnvironment::workDirectory() + QStringLiteral("/live-target");
        QFile file(target);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("root's file\n");
        file.close();
        QVERIFY(QFile::remove(socket));
        QVERIFY(QFile::link(target, socket));
        QVERIFY(::lchown(QFile::encodeName(socket).constData(), TestUser::owner().uid, TestUser::owner().uid) == 0);

        const HelperReply reply = liveView(*m_owner, session);
        QVERIFY2(reply.ok(), qPrintable(reply.errorText));
        struct stat info;
        QVERIFY(::lstat(QFile::encodeName(socket).constData(), &info) == 0);
        QVERIFY(S_ISSOCK(info.st_mode));
        QVERIFY(::lstat(QFile::encodeName(target).constData(), &info) == 0);
        QVERIFY(S_ISREG(info.st_mode));
        QCOMPARE(info.st_uid, 0u);
        QFile check(target);
        QVERIFY(check.open(QIODevice::ReadOnly));
        QCOMPARE(check.readAll(), QByteArray("root's file\n"));
        QCOMPARE(greetingAs(TestUser::owner(), socket), 0);
    }

    void snapshotEndsTheViewWhichCanBeOpenedAgain()
    {
        // Root's own session: CRIU may not be able to dump a user's here (canDumpUserSessions).
        const QString session = startSession(*m_root);
        QVERIFY(!session.isEmpty());
        const HelperReply reply = liveView(*m_root, session);
        QVERIFY2(reply.ok(), qPrintable(reply.errorText));
        const QString socket = reply.json().toObject().value(QStringLiteral("socket")).toString();

        // A viewer stays connected: a connection from inside the cell to outside it.
        const int viewer = TestSystem::connectUnixSocket(QFile::encodeName(socket));
        QVERIFY(viewer >= 0);
        QVERIFY(readsVncGreeting(viewer));
        // It does not count as an obstacle: a snapshot ends it first.
        const HelperReply scan = m_root->call(HelperRequest::of(HelperProtocol::scan, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(scan.ok(), qPrintable(scan.errorText));
        QVERIFY2(scan.json().toArray().isEmpty(), QJsonDocument(scan.json().toArray()).toJson().constData());

        const HelperReply snapshot = m_root->call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorText));
        QVERIFY(seesTheEnd(viewer));
        ::close(viewer);
        QVERIFY(!QFileInfo::exists(viewersCgroup(session)));

        const HelperReply reopened = liveView(*m_root, session);
        QVERIFY2(reopened.ok(), qPrintable(reopened.errorText));
        const auto picture = VncScreenshot::grab(socket, std::chrono::seconds(20));
        QVERIFY2(picture.ok(), qPrintable(picture.errorMessage()));
    }
};

REWIND_TEST_GUILESS_MAIN(HelperLiveViewTest)
#include "HelperLiveViewTest.moc"
