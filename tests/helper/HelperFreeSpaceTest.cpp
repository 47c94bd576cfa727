// SPDX-License-Identifier: GPL-2.0-or-later
// The free space an administrator keeps on the store's file system: a
// snapshot of rewind-user's that would take it is refused through the
// helper, before the freeze, on a store that lives on a small tmpfs.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QDir>
#include <QFile>
#include <QTest>

#include <sys/mount.h>
#include <sys/statvfs.h>

namespace
{

qint64 freeBytes(const QString &path)
{
    struct statvfs fileSystem{};
    return ::statvfs(QFile::encodeName(path).constData(), &fileSystem) == 0 ? qint64(fileSystem.f_bavail) * qint64(fileSystem.f_frsize) : -1;
}

} // namespace

class HelperFreeSpaceTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    QString m_store;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        // Before the helper's first call, which opens the store: the store on 64 MiB.
        m_store = HelperTestEnvironment::stateDirectory() + QStringLiteral("/store");
        QVERIFY(QDir().mkpath(m_store));
        QVERIFY2(::mount("tmpfs", QFile::encodeName(m_store).constData(), "tmpfs", 0, "size=64m,mode=0700") == 0, strerror(errno));
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("space1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
    }

    void cleanupTestCase()
    {
        QFile::remove(HelperTestEnvironment::limitsFile());
        stopSessions(*m_root, m_sessions);
    }

    void aSnapshotMayNotTakeTheFloor()
    {
        pid_t initPid = 0;
        const QString session = startCountingSession(*m_user, m_sessions, &initPid);
        QVERIFY(!session.isEmpty());

        // More must stay free than the whole file system has: refused before the freeze.
        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nFreeSpaceFloor=100M\n"));
        const HelperReply refused = m_user->call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}}));
        QVERIFY(!refused.ok());
        qInfo() << refused.errorText;
        QVERIFY2(refused.errorText.contains(QLatin1String("must stay free")), qPrintable(refused.errorText));
        QVERIFY2(!refused.stages.contains(QStringLiteral("Freezing")), qPrintable(refused.stages.join(QLatin1Char(','))));
        QVERIFY(waitUntilCounting(initPid));
        QVERIFY(listOf(*m_user, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}).isEmpty());

        // A floor the snapshot leaves alone: it is taken, and the floor still holds.
        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nFreeSpaceFloor=16M\n"));
        QVERIFY(snapshotOf(*m_user, session) > 0);
        QVERIFY(freeBytes(m_store) >= 16 * 1024 * 1024);

        // A floor just under what is free now: the next snapshot's new
        // bytes would take it, so it is refused and leaves nothing behind.
        const qint64 free = freeBytes(m_store);
        QVERIFY(HelperTestEnvironment::writeLimits("[Store]\nFreeSpaceFloor=" + QByteArray::number((free - 4096) / 1024) + "K\n"));
        const QStringList packs = QDir(m_store + QStringLiteral("/packs")).entryList(QDir::Files);
        const HelperReply tooBig = m_user->call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}}));
        QVERIFY(!tooBig.ok());
        qInfo() << tooBig.errorText;
        QVERIFY2(tooBig.errorText.contains(QLatin1String("must stay free")), qPrintable(tooBig.errorText));
        QCOMPARE(QDir(m_store + QStringLiteral("/packs")).entryList(QDir::Files), packs);
        QCOMPARE(listOf(*m_user, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}).size(), 1);
        QVERIFY(waitUntilCounting(initPid));
    }
};

REWIND_TEST_GUILESS_MAIN(HelperFreeSpaceTest)
#include "HelperFreeSpaceTest.moc"
