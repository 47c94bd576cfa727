// SPDX-License-Identifier: GPL-2.0-or-later
//
// A fork bomb as a user would set one off: rewind-user starts a session
// through the helper, and an app of it forks without end. The kernel stops
// it at the user's pids limit (limits.conf's TasksMax, kept by what the
// machine has), the session's other processes go on, the helper keeps
// answering the user while the bomb keeps trying, and the session stops
// cleanly, its cgroups gone in every hierarchy.

#include "TestSkip.h"

#include "CellLimits.h"
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSessions.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QTest>

#include <fcntl.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr qint64 tasksMax = 64;

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(content) == content.size();
}

/// How many forks the kernel refused the bomb, from its report "started N refused M".
long refusedForks(const QByteArray &report)
{
    const auto fields = report.simplified().split(' ');
    return fields.size() == 4 && fields[2] == "refused" ? fields[3].toLong() : 0;
}

QByteArray cellFile(pid_t initPid, const QString &path)
{
    QFile file(QStringLiteral("/proc/%1/root%2").arg(initPid).arg(path));
    return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
}

/// Lets the bomb go: a line into the fifo it waits on, once it listens.
bool letGo(pid_t initPid)
{
    const QByteArray fifo = QFile::encodeName(QStringLiteral("/proc/%1/root/tmp/go").arg(initPid));
    const int fd = ::open(fifo.constData(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool written = ::write(fd, "go\n", 3) == 3;
    ::close(fd);
    return written;
}

/// Processes and threads in the cgroup.
qint64 tasksIn(const QString &cgroup)
{
    QFile procs(cgroup + QStringLiteral("/cgroup.procs"));
    if (!procs.open(QIODevice::ReadOnly)) {
        return -1;
    }
    qint64 tasks = 0;
    const auto lines = procs.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (!line.trimmed().isEmpty()) {
            tasks += QDir(QStringLiteral("/proc/%1/task").arg(QString::fromLatin1(line.trimmed()))).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size();
        }
    }
    return tasks;
}

} // namespace

class HelperCellLimitsTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        const QString work = HelperTestEnvironment::workDirectory();
        // What an administrator sets; the helper reads it at each start (with-system-bus points it here).
        QVERIFY(HelperTestEnvironment::writeLimits("[Sessions]\nTasksMax=" + QByteArray::number(tasksMax) + "\n"));
        QVERIFY(writeFile(work + QStringLiteral("/specs/bomb.conf"),
                          "[Session]\nName=bomb\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n"
                          "[App counter]\nCommand=rewind-test-counter /tmp/counter\n"
                          "[App bomb]\nCommand=sh -c 'mkfifo /tmp/go && read go < /tmp/go && exec rewind-test-fork-bomb /tmp/bomb'\n"));
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("bomb1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        stopSessions(*m_root, m_sessions);
    }

    void aForkBombMeetsItsLimitAndTheHelperAnswers()
    {
        const auto limits = CellLimits::detect(HelperTestEnvironment::cellCgroupParent());
        QVERIFY2(limits.ok(), qPrintable(limits.errorMessage()));
        qInfo("Cells are limited here by %s", qPrintable(limits->describe()));

        const HelperReply started = m_user->call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("bomb")}}));
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
        const pid_t initPid = pid_t(started.json().toObject().value(QStringLiteral("pid")).toInteger());
        m_sessions.append(session);
        QVERIFY(waitUntilCounting(initPid));
        const QString cgroup = HelperTestEnvironment::cellCgroup(session);
        QCOMPARE(cgroup, CellLimits::userParent(HelperTestEnvironment::cellCgroupParent(), TestUser::owner().uid) + QLatin1Char('/') + session);

        // Once: QTRY checks its condition again after it held, and the app no longer listens then.
        bool released = false;
        QTRY_VERIFY_WITH_TIMEOUT(released || (released = letGo(initPid)), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(refusedForks(cellFile(initPid, QStringLiteral("/tmp/bomb"))) > 0, 20000);
        // While the bomb keeps trying, the helper answers the user, the cell stays within
        // its limit and its counter goes on. RLIMIT_NPROC counts the cell's root apart.
        const qint64 limit = tasksMax + (limits->tasks() == LimitMechanism::ProcessLimit ? 1 : 0);
        for (int round = 0; round < 5; ++round) {
            const long counted = TestSessions::counterIn(initPid, QStringLiteral("/tmp/counter"));
            const HelperReply status = m_user->call(HelperRequest::of(HelperProtocol::status));
            QVERIFY2(status.ok(), qPrintable(status.errorText));
            const QJsonArray sessions = listOf(*m_user, HelperProtocol::listSessions);
            QCOMPARE(sessions.size(), 1);
            QCOMPARE(sessions.first().toObject().value(QStringLiteral("state")).toString(), QStringLiteral("running"));
            const qint64 tasks = tasksIn(cgroup);
            QVERIFY2(tasks > 0 && tasks <= limit, qPrintable(QString::number(tasks)));
            QTRY_VERIFY(TestSessions::counterIn(initPid, QStringLiteral("/tmp/counter")) > counted);
        }
        qInfo("The bomb: %s; %lld processes and threads in the cell, limit %lld",
              cellFile(initPid, QStringLiteral("/tmp/bomb")).constData(),
              tasksIn(cgroup),
              tasksMax);

        // The session stops as any other, and its cgroups go in every hierarchy.
        const HelperReply stopped = m_user->call(HelperRequest::of(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}));
        QVERIFY2(stopped.ok(), qPrintable(stopped.errorText));
        QVERIFY(!QFileInfo::exists(cgroup));
        const QStringList legacy = limits->legacyDirectories(TestUser::owner().uid, session);
        for (const QString &directory : legacy) {
            QVERIFY2(!QFileInfo::exists(directory), qPrintable(directory));
        }
        QCOMPARE(listOf(*m_user, HelperProtocol::listSessions).first().toObject().value(QStringLiteral("state")).toString(), QStringLiteral("stopped"));
    }
};

REWIND_TEST_GUILESS_MAIN(HelperCellLimitsTest)
#include "HelperCellLimitsTest.moc"
