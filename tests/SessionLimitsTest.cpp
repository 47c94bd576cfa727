// SPDX-License-Identifier: GPL-2.0-or-later
// What an administrator's limits.conf allows one user: so many running
// sessions, and a /tmp (and /dev/shm) of so many bytes a cell. Real sessions
// of rewind-user; a session that writes past its /dev/shm is refused by the
// kernel, not by Rewind.
#include "TestSkip.h"

#include "SessionLimits.h"
#include "SessionManager.h"
#include "TestCell.h"
#include "TestSessions.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <pwd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;

SessionSpec fillingSpec()
{
    // Writes 16 MB into its /dev/shm (sized as its /tmp, which the display
    // server needs a little of), then marks that it is done.
    const QByteArray text =
        "[Session]\nName=filling\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App fill]\n"
        "Command=sh -c 'head -c 16000000 /dev/zero > /dev/shm/fill; mv /dev/shm/fill /dev/shm/filled; exec sleep 600'\n";
    auto spec = SessionSpec::parse(text, QStringLiteral("filling.conf"));
    Q_ASSERT_X(spec.ok(), "fillingSpec", qPrintable(spec.errorMessage()));
    return *spec;
}

QByteArray fileIn(pid_t initPid, const QString &path)
{
    QFile file(SessionManager::cellPath(initPid, path));
    return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
}

} // namespace

class SessionLimitsTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_config{QStringLiteral("/var/tmp/rewind-limits-XXXXXX")};
    TestSessions m_test;

    void writeLimits(const QByteArray &content)
    {
        QFile file(m_config.filePath(QStringLiteral("limits.conf")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        QCOMPARE(file.write(content), content.size());
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        QVERIFY(m_config.isValid() && m_test.isValid());
        qputenv("REWIND_LIMITS_FILE", QFile::encodeName(m_config.filePath(QStringLiteral("limits.conf"))));
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void limitsAreReadWithDefaults()
    {
        QFile::remove(m_config.filePath(QStringLiteral("limits.conf")));
        auto defaults = SessionLimits::read();
        QVERIFY(defaults.ok());
        QCOMPARE(defaults->runningPerUser, 4);
        QCOMPARE(defaults->tmpBytes, 2LL * 1024 * 1024 * 1024);
        writeLimits("[Sessions]\nRunningPerUser=2\nTmpSize=512M\n");
        auto set = SessionLimits::read();
        QVERIFY(set.ok());
        QCOMPARE(set->runningPerUser, 2);
        QCOMPARE(set->tmpBytes, 512LL * 1024 * 1024);
        writeLimits("[Sessions]\nTmpSize=lots\n");
        auto wrong = SessionLimits::read();
        QVERIFY(!wrong.ok());
        QVERIFY2(wrong.errorMessage().contains(QLatin1String("TmpSize")), qPrintable(wrong.errorMessage()));
        writeLimits("[Sessions]\nRunningPerUser=0\n");
        QVERIFY(!SessionLimits::read().ok());
    }

    void storeQuotasAreReadWithDefaults()
    {
        QFile::remove(m_config.filePath(QStringLiteral("limits.conf")));
        auto defaults = SessionLimits::read();
        QVERIFY(defaults.ok());
        const StoreQuota user = defaults->storeQuotaFor(1500);
        QCOMPARE(user.bytesPerOwner, 20LL * 1024 * 1024 * 1024);
        QCOMPARE(user.snapshotsPerOwner, 500);
        QCOMPARE(user.freeSpaceFloor, 1024LL * 1024 * 1024);
        // Root's snapshots have no quota, only the floor.
        const StoreQuota root = defaults->storeQuotaFor(0);
        QCOMPARE(root.bytesPerOwner, 0);
        QCOMPARE(root.snapshotsPerOwner, 0);
        QCOMPARE(root.freeSpaceFloor, user.freeSpaceFloor);

        writeLimits("[Sessions]\nBytesPerUser=1K\n[Store]\nBytesPerUser=5G\nSnapshotsPerUser=20\nFreeSpaceFloor=300M # a comment\n");
        auto set = SessionLimits::read();
        QVERIFY2(set.ok(), qPrintable(set.errorMessage()));
        QCOMPARE(set->storeQuotaFor(1500).bytesPerOwner, 5LL * 1024 * 1024 * 1024);
        QCOMPARE(set->storeQuotaFor(1500).snapshotsPerOwner, 20);
        QCOMPARE(set->storeQuotaFor(1500).freeSpaceFloor, 300LL * 1024 * 1024);
        for (const QByteArray &wrong :
             {QByteArray("[Store]\nBytesPerUser=-1\n"), QByteArray("[Store]\nSnapshotsPerUser=none\n"), QByteArray("[Store]\nFreeSpaceFloor=1T\n")}) {
            writeLimits(wrong);
            auto refused = SessionLimits::read();
            QVERIFY(!refused.ok());
            QVERIFY2(refused.errorMessage().contains(QString::fromLatin1(wrong.mid(8, wrong.indexOf('=') - 8))), qPrintable(refused.errorMessage()));
        }
    }

    void oneUserRunsSoManySessions()
    {
        writeLimits("[Sessions]\nRunningPerUser=1\n");
        auto first = m_test.manager().start(fillingSpec(), userUid);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        const auto second = m_test.manager().start(fillingSpec(), userUid);
        QVERIFY(!second.ok());
        QVERIFY2(second.errorMessage().contains(QLatin1String("as many as one user may run")), qPrintable(second.errorMessage()));
        QCOMPARE(m_test.manager().sessions().size(), 1);
        // Root, who administers the machine, is not limited.
        auto roots = m_test.manager().start(fillingSpec(), 0);
        QVERIFY2(roots.ok(), qPrintable(roots.errorMessage()));
        // With the first stopped, the user may start another.
        QVERIFY(m_test.manager().stop(first->id).ok());
        auto third = m_test.manager().start(fillingSpec(), userUid);
        QVERIFY2(third.ok(), qPrintable(third.errorMessage()));
    }

    void aCellsTmpHasItsSize()
    {
        writeLimits("[Sessions]\nTmpSize=8M\n");
        auto session = m_test.manager().start(fillingSpec(), userUid);
        QVERIFY2(session.ok(), qPrintable(session.errorMessage()));
        // The kernel stops the writer at the size (head's "No space left on device").
        const QString filled = SessionManager::cellPath(session->initPid, QStringLiteral("/dev/shm/filled"));
        QTRY_VERIFY2_WITH_TIMEOUT(QFile::exists(filled), fileIn(session->initPid, QStringLiteral("/tmp/session.log")).right(1500).constData(), 20000);
        const qint64 written = QFileInfo(filled).size();
        QVERIFY2(written > 4 * 1024 * 1024 && written <= 8 * 1024 * 1024, qPrintable(QString::number(written)));
        QVERIFY2(fileIn(session->initPid, QStringLiteral("/tmp/session.log")).contains("No space left on device"),
                 fileIn(session->initPid, QStringLiteral("/tmp/session.log")).right(1500).constData());
        QFile mounts(QStringLiteral("/proc/%1/mountinfo").arg(session->initPid));
        QVERIFY(mounts.open(QIODevice::ReadOnly));
        const QByteArray table = mounts.readAll();
        for (const QByteArray mountPoint : {" /tmp rw", " /dev/shm rw"}) {
            const qsizetype line = table.indexOf(mountPoint);
            QVERIFY2(line >= 0, table.constData());
            QVERIFY2(table.mid(line, table.indexOf('\n', line) - line).contains("size=8192k"), table.constData());
        }
    }
};

REWIND_TEST_GUILESS_MAIN(SessionLimitsTest)
#include "SessionLimitsTest.moc"
