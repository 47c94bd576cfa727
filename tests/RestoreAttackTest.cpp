// SPDX-License-Identifier: GPL-2.0-or-later
//
// A restore never gives a session more than its user has. CRIU reopens by
// path what the snapshot's processes held and follows links; a user who
// owns the directory replaces what their session held with a link to
// something of root's after the snapshot, and restores. Each case: a
// session of rewind-user (1500) holds a thing of theirs, is snapshotted,
// the thing becomes a link to root's, and both restores (in place and as
// a new session) are refused with the path named, before anything changes.
// Then CRIU itself, asked directly without Rewind's check, fails too, for
// lack of permission: the cell's user namespace gives it no more than the
// user has.

#include "TestSkip.h"

#include "CriuCheckpointer.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "StagingDirectory.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "UniqueFd.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
const QString readyFile = QStringLiteral("/tmp/hold-open.ready");

SessionSpec holderSpec(const QString &mode, const QString &path)
{
    const QByteArray text =
        "[Session]\nName=holder\n[Display]\nGeometry=640x480\n[WindowManager]\nCommand=openbox\n[App holder]\nCommand=rewind-test-hold-open " + mode.toUtf8()
        + ' ' + path.toUtf8() + "\n";
    auto spec = SessionSpec::parse(text, QStringLiteral("holder.conf"));
    Q_ASSERT_X(spec.ok(), "holderSpec", qPrintable(spec.errorMessage()));
    return *spec;
}

QByteArray contentOf(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &content, mode_t mode, uid_t owner)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size() && file.flush() && ::fchmod(file.handle(), mode) == 0
        && ::fchown(file.handle(), owner, owner) == 0;
}

bool makeDirectory(const QString &path, mode_t mode, uid_t owner)
{
    const QByteArray encoded = QFile::encodeName(path);
    return ::mkdir(encoded.constData(), mode) == 0 && ::chmod(encoded.constData(), mode) == 0 && ::chown(encoded.constData(), owner, owner) == 0;
}

} // namespace

class RestoreAttackTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    QTemporaryDir m_work{QStringLiteral("/var/tmp/rewind-attack-XXXXXX")};

    QString userPath(const QString &name) const
    {
        return m_work.filePath(QStringLiteral("user/") + name);
    }
    QString rootPath(const QString &name) const
    {
        return m_work.filePath(QStringLiteral("root/") + name);
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        QVERIFY(m_test.isValid() && m_work.isValid());
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
        QVERIFY(QFile::setPermissions(m_work.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ExeGroup | QFile::ExeOther));
    }

    void init()
    {
        // user/ is the user's own; root/ holds what is root's.
        QDir(userPath(QString())).removeRecursively();
        QDir(rootPath(QString())).removeRecursively();
        QVERIFY(makeDirectory(userPath(QString()), 0755, userUid));
        QVERIFY(makeDirectory(rootPath(QString()), 0755, 0));
        QVERIFY(writeFile(rootPath(QStringLiteral("readable")), "root's, readable by all, written by root alone\n", 0644, 0));
        QVERIFY(writeFile(rootPath(QStringLiteral("secret")), "root's secret, for root's eyes only\n", 0600, 0));
        QVERIFY(makeDirectory(rootPath(QStringLiteral("private")), 0700, 0));
        QVERIFY(writeFile(rootPath(QStringLiteral("private/inside")), "in root's private directory\n", 0600, 0));
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void linkToRootsIsRefused_data()
    {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<QString>("held"); ///< below user/, held by the session
        QTest::addColumn<QString>("replaced"); ///< below user/, replaced by the link
        QTest::addColumn<QString>("target"); ///< below root/, where the link leads
        QTest::addColumn<bool>("isDirectory");
        QTest::newRow("read-write file, root's 0644 file") << "--read-write"
                                                           << "p"
                                                           << "p"
                                                           << "readable" << false;
        QTest::newRow("read-only file, root's 0600 file") << "--read"
                                                          << "p"
                                                          << "p"
                                                          << "secret" << false;
        QTest::newRow("shared writable mapping, root's 0644 file") << "--map-shared"
                                                                   << "p"
                                                                   << "p"
                                                                   << "readable" << false;
        QTest::newRow("working directory, root-only directory") << "--cwd"
                                                                << "d"
                                                                << "d"
                                                                << "private" << true;
        QTest::newRow("open directory, root-only directory") << "--directory"
                                                             << "d"
                                                             << "d"
                                                             << "private" << true;
        QTest::newRow("socket bound in a directory that becomes a link") << "--listen"
                                                                         << "d/socket"
                                                                         << "d"
                                                                         << "private" << true;
    }

    void linkToRootsIsRefused()
    {
        QFETCH(QString, mode);
        QFETCH(QString, held);
        QFETCH(QString, replaced);
        QFETCH(QString, target);
        QFETCH(bool, isDirectory);

        // What the user holds looks like root's: same size and mode (CRIU
        // compares only those), or a directory of the same mode.
        const QByteArray targetContent = contentOf(rootPath(target));
        struct stat targetStatus;
        QCOMPARE(::stat(QFile::encodeName(rootPath(target)).constData(), &targetStatus), 0);
        const mode_t targetMode = targetStatus.st_mode & 07777;
        if (isDirectory) {
            QVERIFY(makeDirectory(userPath(replaced), targetMode, userUid));
        } else {
            QVERIFY(writeFile(userPath(replaced), QByteArray(targetContent.size(), 'u'), targetMode, userUid));
        }
        auto started = m_sessions->start(holderSpec(mode, userPath(held)), userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        const SessionRecord session = *started;
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(SessionManager::cellPath(session.initPid, readyFile)), 20000);
        auto snapshot = m_engine->snapshot(session.id, QStringLiteral("before the swap"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));

        // The user swaps their thing for a link to root's.
        const QString swapped = userPath(replaced);
        QVERIFY(isDirectory ? QDir(swapped).removeRecursively() : QFile::remove(swapped));
        QVERIFY(QFile::link(rootPath(target), swapped));

        const auto sessionsBefore = m_sessions->sessions().size();
        for (const RestoreMode restoreMode : {RestoreMode::InPlace, RestoreMode::AsNewSession}) {
            const auto restored = m_engine->restore(snapshot->id, restoreMode);
            QVERIFY(!restored.ok());
            QVERIFY2(restored.errorMessage().contains(userPath(held)) && restored.errorMessage().contains(QLatin1String("Nothing was changed")),
                     qPrintable(restored.errorMessage()));
            // The running session is the same one, untouched.
            auto now = m_sessions->session(session.id);
            QVERIFY(now.ok());
            QCOMPARE(now->initPid, session.initPid);
            QCOMPARE(m_sessions->state(*now), SessionState::Running);
            QCOMPARE(m_sessions->sessions().size(), sessionsBefore);
        }

        // CRIU on its own, without that check: the cell's root may not
        // either, so it fails, and nothing of root's is reached.
        auto staging = StagingDirectory::create(m_test.paths().stagingDirectory());
        QVERIFY2(staging.ok(), qPrintable(staging.errorMessage()));
        const auto materialized = m_store->materialize(snapshot->id, staging->fd());
        QVERIFY2(materialized.ok(), qPrintable(materialized.errorMessage()));
        const UniqueFd images(::openat(staging->fd(), "images", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        QVERIFY(images.valid());
        RestoreRequest request;
        request.imagesDirFd = images.get();
        request.externalMounts = snapshot->metadata.value(QStringLiteral("externalMounts")).toStringList();
        const auto direct = CriuCheckpointer::restore(request);
        TestCell leftover(direct.ok() ? *direct : -1); // killed at the end of the test if it ran
        QVERIFY2(!direct.ok(), "CRIU restored a session holding root's file");
        // Refused for lack of permission, not for a size or mode that differs.
        QFile log(QStringLiteral("/proc/self/fd/%1/%2").arg(images.get()).arg(QLatin1String(CriuCheckpointer::restoreLogName)));
        QVERIFY(log.open(QIODevice::ReadOnly));
        const QByteArray criuSaid = log.readAll();
        QVERIFY2(criuSaid.contains("Permission denied"), criuSaid.right(3000).constData());
        QVERIFY(!criuSaid.contains("mismatch"));

        QCOMPARE(contentOf(rootPath(target)), targetContent);
        QFileInfo targetInfo(rootPath(target));
        QCOMPARE(targetInfo.ownerId(), 0u);
        QCOMPARE(targetInfo.permissions() & (QFile::WriteGroup | QFile::WriteOther), QFile::Permissions());
        QVERIFY(!QFile::exists(rootPath(QStringLiteral("private/socket"))));
    }

    void snapshotOfACellWithoutUserNamespaceIsNotRestored()
    {
        // As an older Rewind stored them: CRIU restored those as host root.
        auto staging = StagingDirectory::create(m_test.paths().stagingDirectory());
        QVERIFY2(staging.ok(), qPrintable(staging.errorMessage()));
        auto images = staging->makeSubdirectory("images");
        QVERIFY(images.ok());
        const UniqueFd inventory(::openat(images->get(), "inventory.img", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        QVERIFY(inventory.valid() && ::write(inventory.get(), "old", 3) == 3);
        auto old = m_store->commit(QStringLiteral("old-0a1b2c"),
                                   uid_t(userUid),
                                   staging->fd(),
                                   QStringLiteral("before user namespaces"),
                                   SnapshotTrigger::Manual,
                                   {{QStringLiteral("owner"), qint64(userUid)}, {QStringLiteral("spec"), QStringLiteral("holder")}});
        QVERIFY2(old.ok(), qPrintable(old.errorMessage()));
        for (const RestoreMode mode : {RestoreMode::InPlace, RestoreMode::AsNewSession}) {
            const auto restored = m_engine->restore(old->id, mode);
            QVERIFY(!restored.ok());
            QVERIFY2(restored.errorMessage().contains(QLatin1String("user namespace")), qPrintable(restored.errorMessage()));
        }
        QVERIFY(m_sessions->sessions().isEmpty());
    }

    void untouchedFilesRestore()
    {
        // The same session without a swap restores: the check refuses only what it must.
        QVERIFY(writeFile(userPath(QStringLiteral("p")), "the user's own\n", 0644, userUid));
        auto started = m_sessions->start(holderSpec(QStringLiteral("--read-write"), userPath(QStringLiteral("p"))), userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(SessionManager::cellPath(started->initPid, readyFile)), 20000);
        auto snapshot = m_engine->snapshot(started->id, QStringLiteral("plain"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
        auto restored = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(SessionManager::cellPath(restored->session.initPid, readyFile)), 10000);
        QCOMPARE(contentOf(userPath(QStringLiteral("p"))), QByteArray("the user's own\n"));
    }
};

REWIND_TEST_GUILESS_MAIN(RestoreAttackTest)
#include "RestoreAttackTest.moc"
