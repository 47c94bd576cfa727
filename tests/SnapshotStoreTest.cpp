// SPDX-License-Identifier: GPL-2.0-or-later
// SnapshotStore on real files: round trips, dedup, damage, garbage collection,
// symbolic links, a full disk and commits killed half way.
#include "SnapshotStore.h"
#include "ChunkKeys.h"
#include "ChunkStore.h"
#include "ContentChunker.h"
#include "SnapshotCatalog.h"
#include "TestCatalog.h"
#include "TestFiles.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

/// A chunk record in a pack file: 32-byte header ("RWPR", version, flags,
/// 2 reserved bytes, the id in binary, raw size, stored size) and the data.
struct PackRecord {
    QString file; ///< path of the pack file
    qint64 offset = 0;
    qint64 length = 0;
    QString id;
};

/// The records of every file in the store's packs directory, in file name order.
QList<PackRecord> packRecords(const QString &store)
{
    QList<PackRecord> records;
    const QDir packs(store + QStringLiteral("/packs"));
    for (const QString &name : packs.entryList(QDir::Files | QDir::Hidden | QDir::System, QDir::Name)) {
        QFile pack(packs.filePath(name));
        if (!pack.open(QIODevice::ReadOnly)) {
            continue;
        }
        const QByteArray content = pack.readAll();
        qint64 offset = 0;
        while (offset + 32 <= content.size() && content.mid(offset, 4) == "RWPR") {
            const qint64 stored = qFromLittleEndian<quint32>(content.constData() + offset + 28);
            records.append(PackRecord{pack.fileName(), offset, 32 + stored, QString::fromLatin1(content.mid(offset + 8, 16).toHex())});
            offset += 32 + stored;
        }
    }
    return records;
}

/// Ids of the chunks in the store's pack files, sorted.
QStringList chunkFiles(const QString &store)
{
    QStringList ids;
    for (const PackRecord &record : packRecords(store)) {
        ids.append(record.id);
    }
    ids.sort();
    return ids;
}

/// Name and size of every file in the store's packs directory.
QStringList packFiles(const QString &store)
{
    QStringList files;
    const QDir packs(store + QStringLiteral("/packs"));
    for (const QFileInfo &info : packs.entryInfoList(QDir::Files | QDir::Hidden | QDir::System, QDir::Name)) {
        files.append(info.fileName() + QLatin1Char(':') + QString::number(info.size()));
    }
    return files;
}

qint64 packBytes(const QString &store)
{
    qint64 bytes = 0;
    for (const QFileInfo &info : QDir(store + QStringLiteral("/packs")).entryInfoList(QDir::Files | QDir::Hidden | QDir::System)) {
        bytes += info.size();
    }
    return bytes;
}

void flipByte(const QString &path, qint64 offset)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.seek(offset));
    char byte = 0;
    QVERIFY(file.getChar(&byte));
    QVERIFY(file.seek(offset));
    QVERIFY(file.putChar(char(byte ^ 0x10)));
}

qint64 freeBytes(const QString &path)
{
    struct statvfs fileSystem{};
    ::statvfs(QFile::encodeName(path).constData(), &fileSystem);
    return qint64(fileSystem.f_bavail) * qint64(fileSystem.f_frsize);
}

/// A tmpfs mounted for the length of a test, unmounted even if it fails.
class TmpfsMount
{
public:
    explicit TmpfsMount(const QString &path)
        : m_path(QFile::encodeName(path))
    {
    }
    ~TmpfsMount()
    {
        if (m_mounted) {
            ::umount2(m_path.constData(), MNT_DETACH);
        }
    }
    bool mount(const char *options)
    {
        m_mounted = ::mount("tmpfs", m_path.constData(), "tmpfs", MS_NOSUID | MS_NODEV, options) == 0;
        return m_mounted;
    }

private:
    QByteArray m_path;
    bool m_mounted = false;
};

/// A commit in a child process, stopped (SIGSTOP) after it looked its
/// chunks up and before its catalog transaction, holding the store's locks.
/// Killed and reaped when this goes, unless finished or killed before.
class StoppedCommit
{
public:
    StoppedCommit(const QString &storePath, const QString &stagingPath, const QString &session)
    {
        m_pid = ::fork();
        if (m_pid == 0) {
            ::setenv(SnapshotStore::crashPointVariable, "before-catalog:stop", 1);
            auto store = SnapshotStore::open(storePath);
            if (!store) {
                ::_exit(2);
            }
            UniqueFd staging = openDirectory(stagingPath);
            ::_exit((*store)->commit(session, ::getuid(), staging.get(), QString(), SnapshotTrigger::Manual, {}).ok() ? 0 : 1);
        }
        int status = 0;
        m_stopped = m_pid > 0 && ::waitpid(m_pid, &status, WUNTRACED) == m_pid && WIFSTOPPED(status);
    }
    ~StoppedCommit()
    {
        kill();
    }
    StoppedCommit(const StoppedCommit &) = delete;
    StoppedCommit &operator=(const StoppedCommit &) = delete;

    /// Whether it stopped where it should.
    bool isStopped() const
    {
        return m_stopped;
    }
    /// Lets it go on; true if it stored its snapshot.
    bool finish()
    {
        int status = 0;
        const bool reaped = m_pid > 0 && ::kill(m_pid, SIGCONT) == 0 && ::waitpid(m_pid, &status, 0) == m_pid;
        m_pid = -1;
        return reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    /// Ends it where it stopped, as a crash would.
    void kill()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
            m_pid = -1;
        }
    }

private:
    pid_t m_pid = -1;
    bool m_stopped = false;
};

} // namespace

class SnapshotStoreTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_work;
    int m_next = 0;

    QString freshPath(const QString &what)
    {
        return m_work.filePath(what + QString::number(++m_next));
    }

    std::unique_ptr<SnapshotStore> openStore(const QString &path)
    {
        auto store = SnapshotStore::open(path);
        if (!store) {
            qWarning() << store.errorMessage();
            return nullptr;
        }
        return std::move(*store);
    }

    Result<SnapshotInfo> commitTree(SnapshotStore &store, const QString &stagingPath, const QString &session = QStringLiteral("session-a"))
    {
        UniqueFd staging = openDirectory(stagingPath);
        return store.commit(session, ::getuid(), staging.get(), QStringLiteral("label"), SnapshotTrigger::Manual, {});
    }

    /// Materializes into a fresh directory and returns its tree.
    std::optional<QMap<QString, QByteArray>> materialized(const SnapshotStore &store, qint64 id)
    {
        const QString target = freshPath(QStringLiteral("restored"));
        QDir().mkpath(target);
        UniqueFd fd = openDirectory(target);
        auto result = store.materialize(id, fd.get());
        if (!result) {
            qWarning() << result.errorMessage();
            return std::nullopt;
        }
        return treeOf(target);
    }

    /// Two snapshots of a session: PAGES pages of memory and a file of notes, then the same with one page changed.
    struct OnePageApart {
        qint64 firstId = 0;
        qint64 secondId = 0;
        qint64 chunks = 0; ///< in the store after both
        QMap<QString, QByteArray> firstTree;
        QMap<QString, QByteArray> secondTree;
    };
    std::optional<OnePageApart> commitOnePageApart(const QString &storePath, qsizetype pages, quint32 seed)
    {
        const QString staging = freshPath(QStringLiteral("staging"));
        const QString memoryPath = staging + QStringLiteral("/images/pages-1.img");
        QByteArray memory = randomBytes(pages * 4096, seed);
        if (!writeFile(memoryPath, memory) || !writeFile(staging + QStringLiteral("/files/notes.txt"), randomBytes(300 * 1024, seed + 1))) {
            return std::nullopt;
        }
        auto store = openStore(storePath);
        if (!store) {
            return std::nullopt;
        }
        OnePageApart result;
        result.firstTree = treeOf(staging);
        auto first = commitTree(*store, staging);
        memory.replace(pages / 2 * 4096, 4096, randomBytes(4096, seed + 2));
        if (!first || !writeFile(memoryPath, memory)) {
            return std::nullopt;
        }
        result.secondTree = treeOf(staging);
        auto second = commitTree(*store, staging);
        if (!second) {
            return std::nullopt;
        }
        result.firstId = first->id;
        result.secondId = second->id;
        result.chunks = store->verify()->chunksChecked;
        return result;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
    }

    void triggerNamesRoundTrip()
    {
        for (const auto trigger : {SnapshotTrigger::Manual, SnapshotTrigger::Scheduled, SnapshotTrigger::BeforeRestore, SnapshotTrigger::Imported}) {
            QCOMPARE(triggerFromName(triggerName(trigger)), std::optional<SnapshotTrigger>(trigger));
        }
        QCOMPARE(triggerFromName(u"nonsense"), std::nullopt);
    }

    void chunkerCutsByContent()
    {
        const QByteArray original = randomBytes(8 * 1024 * 1024, 11);
        QByteArray changed = original;
        changed.insert(4 * 1024 * 1024 + 123, randomBytes(4096, 12));
        auto cuts = [](const QByteArray &data) {
            QList<qsizetype> ends;
            qsizetype position = 0;
            while (position < data.size()) {
                const auto length =
                    ContentChunker::cut(reinterpret_cast<const unsigned char *>(data.constData()) + position, std::size_t(data.size() - position));
                position += qsizetype(length);
                ends.append(position);
            }
            return ends;
        };
        const auto before = cuts(original);
        const auto after = cuts(changed);
        for (qsizetype i = 0; i + 1 < before.size(); ++i) {
            const qsizetype length = before[i] - (i ? before[i - 1] : 0);
            QVERIFY(length >= qsizetype(ContentChunker::minimumSize) && length <= qsizetype(ContentChunker::maximumSize));
        }
        const double average = double(original.size()) / double(before.size());
        QVERIFY2(average > 0.6 * ContentChunker::averageSize && average < 1.6 * ContentChunker::averageSize, qPrintable(QString::number(average)));
        // Cut points after the insertion are the same, shifted by 4096.
        const QSet<qsizetype> shifted = [&] {
            QSet<qsizetype> set;
            for (qsizetype end : after) {
                set.insert(end - 4096);
            }
            return set;
        }();
        int kept = 0;
        int later = 0;
        for (qsizetype end : before) {
            if (end > 4 * 1024 * 1024 + 256 * 1024) {
                ++later;
                kept += shifted.contains(end) ? 1 : 0;
            }
        }
        QCOMPARE(kept, later);
    }

    void roundTripKeepsEveryByte()
    {
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/inventory.img"), "small CRIU image"));
        QVERIFY(writeFile(staging + QStringLiteral("/empty.img"), QByteArray()));
        QVERIFY(writeFile(staging + QStringLiteral("/images/pages-1.img"), randomBytes(20 * 1024 * 1024, 1)));
        QVERIFY(writeFile(staging + QStringLiteral("/screenshot.png"), randomBytes(100000, 2)));
        QVERIFY(writeFile(staging + QStringLiteral("/run.sh"), "#!/bin/sh\n", QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
        QVERIFY(QDir().mkpath(staging + QStringLiteral("/home/empty-dir")));
        QVERIFY(writeFile(staging + QStringLiteral("/home/.hidden"), QByteArray(300000, 'x')));
        QVERIFY(writeFile(staging + QStringLiteral("/setuid"), "x"));
        QCOMPARE(::chmod(QFile::encodeName(staging + QStringLiteral("/setuid")).constData(), 04755), 0);

        auto store = openStore(freshPath(QStringLiteral("store")));
        QVERIFY(store);
        struct stat storeStatus{};
        QCOMPARE(::stat(QFile::encodeName(store->path()).constData(), &storeStatus), 0);
        QCOMPARE(storeStatus.st_mode & 07777, 0700u);

        UniqueFd stagingFd = openDirectory(staging);
        // Metadata comes back as JSON types: qlonglong, double, QString, QVariantList, QVariantMap.
        const QVariantMap metadata{{QStringLiteral("frozenMs"), qlonglong(12)}, {QStringLiteral("mounts"), QVariantList{QStringLiteral("/data")}}};
        QElapsedTimer timer;
        timer.start();
        auto info = store->commit(QStringLiteral("session-a"), ::getuid(), stagingFd.get(), QStringLiteral("first"), SnapshotTrigger::Scheduled, metadata);
        const auto committedIn = std::chrono::milliseconds(timer.elapsed() + 1);
        QVERIFY2(info.ok(), qPrintable(info.errorMessage()));
        qInfo("committed 20.7 MB in %lld ms", qint64(timer.elapsed()));
        // The store's account of its steps: each one ran, and together they fit in the commit.
        const CommitTimes steps = store->lastCommitTimes();
        for (const auto step : {steps.naming, steps.lookingUp, steps.encoding, steps.writing, steps.syncing, steps.cataloguing}) {
            QVERIFY(step > std::chrono::nanoseconds(0));
        }
        QVERIFY(steps.naming + steps.lookingUp + steps.encoding + steps.writing + steps.syncing + steps.cataloguing <= committedIn);
        QVERIFY(info->id > 0);
        QCOMPARE(info->sessionId, QStringLiteral("session-a"));
        QCOMPARE(info->label, QStringLiteral("first"));
        QCOMPARE(info->trigger, SnapshotTrigger::Scheduled);
        QCOMPARE(info->metadata, metadata);
        QCOMPARE(info->logicalBytes, qint64(16 + 20 * 1024 * 1024 + 100000 + 10 + 300000 + 1));
        QVERIFY(info->storedBytes > 0);
        QCOMPARE(info->newBytes, info->storedBytes);
        QCOMPARE(info->sharedBytes, 0);
        QVERIFY(qAbs(info->createdAt.secsTo(QDateTime::currentDateTimeUtc())) < 60);

        auto restored = materialized(*store, info->id);
        QVERIFY(restored);
        QCOMPARE(restored->value(QStringLiteral("setuid")), QByteArray("755:x"));
        QCOMPARE(::chmod(QFile::encodeName(staging + QStringLiteral("/setuid")).constData(), 0755), 0);
        QCOMPARE(*restored, treeOf(staging));

        auto screenshot = store->readFile(info->id, QStringLiteral("screenshot.png"));
        QVERIFY2(screenshot.ok(), qPrintable(screenshot.errorMessage()));
        QCOMPARE(*screenshot, readWholeFile(staging + QStringLiteral("/screenshot.png")));
        QVERIFY(!store->readFile(info->id, QStringLiteral("missing.png")).ok());

        // The catalog survives reopening.
        const QString path = store->path();
        store.reset();
        store = openStore(path);
        QVERIFY(store);
        auto listed = store->list();
        QVERIFY(listed.ok());
        QCOMPARE(listed->size(), 1);
        QCOMPARE(listed->first().id, info->id);
        QCOMPARE(listed->first().metadata, metadata);
        QCOMPARE(listed->first().createdAt, info->createdAt);
        QCOMPARE(store->list(QStringLiteral("other-session"))->size(), 0);
        auto report = store->verify();
        QVERIFY(report.ok());
        QVERIFY(report->clean());
        QVERIFY(report->chunksChecked > 20 * 1024 * 1024 / qint64(ContentChunker::maximumSize));
    }

    void commitsShareChunks()
    {
        const QString staging = freshPath(QStringLiteral("staging"));
        const QByteArray pages = randomBytes(20 * 1024 * 1024, 3);
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), pages));
        QVERIFY(writeFile(staging + QStringLiteral("/core.img"), randomBytes(50000, 4)));
        auto store = openStore(freshPath(QStringLiteral("store")));
        QVERIFY(store);

        auto first = commitTree(*store, staging);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        auto same = commitTree(*store, staging);
        QVERIFY2(same.ok(), qPrintable(same.errorMessage()));
        QCOMPARE(same->newBytes, 0);
        QCOMPARE(same->sharedBytes, same->storedBytes);
        QCOMPARE(same->storedBytes, first->storedBytes);

        // One 4 KiB page inserted in the middle of the big file.
        QByteArray changed = pages;
        changed.insert(10 * 1024 * 1024 + 4096, randomBytes(4096, 5));
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), changed));
        auto inserted = commitTree(*store, staging, QStringLiteral("session-b"));
        QVERIFY2(inserted.ok(), qPrintable(inserted.errorMessage()));
        const double newShare = double(inserted->newBytes) / double(inserted->storedBytes);
        qInfo("a 4 KiB page inserted into 20 MiB: %lld of %lld bytes new (%.2f %%)", inserted->newBytes, inserted->storedBytes, newShare * 100);
        QVERIFY2(newShare <= 0.10, qPrintable(QString::number(newShare)));
        QVERIFY(inserted->newBytes > 0);

        auto restored = materialized(*store, inserted->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(staging));
        auto older = store->readFile(first->id, QStringLiteral("pages-1.img"));
        QVERIFY(older.ok());
        QVERIFY(*older == pages);

        auto sessionB = store->list(QStringLiteral("session-b"));
        QCOMPARE(sessionB->size(), 1);
        auto all = store->list();
        QCOMPARE(all->size(), 3);
        // Newest first.
        QCOMPARE(all->at(0).id, inserted->id);
        QCOMPARE(all->at(2).id, first->id);
        // A session's newest is list()'s first, of that session alone.
        QCOMPARE(*store->newestSnapshotId(QStringLiteral("session-a")), std::optional(same->id));
        QCOMPARE(*store->newestSnapshotId(QStringLiteral("session-b")), std::optional(inserted->id));
        QCOMPARE(*store->newestSnapshotId(QStringLiteral("other-session")), std::optional<qint64>());
        QVERIFY(store->remove(same->id).ok());
        QCOMPARE(*store->newestSnapshotId(QStringLiteral("session-a")), std::optional(first->id));
    }

    void damagedChunkIsNamed()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        auto store = openStore(storePath);
        QVERIFY(store);
        const QString stagingA = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(stagingA + QStringLiteral("/pages-1.img"), randomBytes(1024 * 1024, 6)));
        auto a = commitTree(*store, stagingA);
        QVERIFY(a.ok());
        const QList<PackRecord> chunksOfA = packRecords(storePath);
        const QString stagingB = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(stagingB + QStringLiteral("/pages-1.img"), randomBytes(1024 * 1024, 7)));
        auto b = commitTree(*store, stagingB);
        QVERIFY(b.ok());

        // One byte in the data of a record in the middle of A's pack.
        const PackRecord record = chunksOfA.at(chunksOfA.size() / 2);
        const QString damaged = record.id;
        flipByte(record.file, record.offset + 32 + (record.length - 32) / 2);

        auto report = store->verify();
        QVERIFY2(report.ok(), qPrintable(report.errorMessage()));
        QVERIFY(!report->clean());
        QCOMPARE(report->damagedChunks, QStringList{damaged});
        QCOMPARE(report->damagedSnapshots, QList<qint64>{a->id});
        QCOMPARE(report->chunksChecked, qint64(chunkFiles(storePath).size()));

        const QString target = freshPath(QStringLiteral("restored"));
        QVERIFY(QDir().mkpath(target));
        UniqueFd targetFd = openDirectory(target);
        auto restored = store->materialize(a->id, targetFd.get());
        QVERIFY(!restored.ok());
        QVERIFY2(restored.errorMessage().contains(QStringLiteral("Snapshot %1 ").arg(a->id)), qPrintable(restored.errorMessage()));
        QVERIFY2(restored.errorMessage().contains(damaged), qPrintable(restored.errorMessage()));
        QVERIFY(materialized(*store, b->id));
    }

    void garbageCollectionFreesExactlyUnsharedChunks()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        auto store = openStore(storePath);
        QVERIFY(store);
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/shared.img"), randomBytes(2 * 1024 * 1024, 8)));
        auto a = commitTree(*store, staging);
        QVERIFY(a.ok());
        const QMap<QString, QByteArray> treeA = treeOf(staging);
        const int chunksOfA = chunkFiles(storePath).size();
        QVERIFY(writeFile(staging + QStringLiteral("/only-b.img"), randomBytes(3 * 1024 * 1024, 9)));
        auto b = commitTree(*store, staging);
        QVERIFY(b.ok());
        QCOMPARE(b->sharedBytes, a->storedBytes);
        const int chunksOfAandB = chunkFiles(storePath).size();

        QVERIFY(store->remove(b->id).ok());
        QCOMPARE(store->remove(b->id).errorMessage(), QStringLiteral("There is no snapshot %1.").arg(b->id));
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QCOMPARE(stats->bytesFreed, b->newBytes);
        QCOMPARE(stats->chunksRemoved, qint64(chunksOfAandB - chunksOfA));
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        QCOMPARE(chunkFiles(storePath).size(), chunksOfA);
        auto restored = materialized(*store, a->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeA);
        auto again = store->collectGarbage();
        QCOMPARE(again->chunksRemoved, 0);
        QCOMPARE(again->bytesFreed, 0);

        // Removing the older of two snapshots hands its chunks to the newer one.
        auto c = commitTree(*store, staging);
        QVERIFY(c.ok());
        QVERIFY(store->remove(a->id).ok());
        QCOMPARE(store->snapshot(c->id)->newBytes, c->storedBytes);
        const qint64 chunksBefore = chunkFiles(storePath).size();
        auto afterA = store->collectGarbage();
        QVERIFY(afterA.ok());
        QCOMPARE(afterA->chunksRemoved, 0);
        QCOMPARE(chunkFiles(storePath).size(), chunksBefore);
        QVERIFY(store->verify()->clean());
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        restored = materialized(*store, c->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(staging));
    }

    void unknownSnapshotsAreNamed()
    {
        auto store = openStore(freshPath(QStringLiteral("store")));
        QVERIFY(store);
        const QString expected = QStringLiteral("There is no snapshot 42.");
        QCOMPARE(store->snapshot(42).errorMessage(), expected);
        QCOMPARE(store->readFile(42, QStringLiteral("screenshot.png")).errorMessage(), expected);
        QCOMPARE(store->setLabel(42, QStringLiteral("x")).errorMessage(), expected);
        QCOMPARE(store->setPinned(42, true).errorMessage(), expected);
        QCOMPARE(store->remove(42).errorMessage(), expected);
        const QString target = freshPath(QStringLiteral("restored"));
        QVERIFY(QDir().mkpath(target));
        UniqueFd targetFd = openDirectory(target);
        QCOMPARE(store->materialize(42, targetFd.get()).errorMessage(), expected);

        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/a"), "a"));
        auto info = commitTree(*store, staging);
        QVERIFY(info.ok());
        QVERIFY(store->setLabel(info->id, QStringLiteral("before the update")).ok());
        QVERIFY(store->setPinned(info->id, true).ok());
        auto changed = store->snapshot(info->id);
        QCOMPARE(changed->label, QStringLiteral("before the update"));
        QVERIFY(changed->pinned);
    }

    void storeDirectoryIsPrivateAndOwned()
    {
        const QString path = freshPath(QStringLiteral("store"));
        QCOMPARE(::mkdir(QFile::encodeName(path).constData(), 0755), 0);
        QVERIFY(openStore(path));
        struct stat status{};
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &status), 0);
        QCOMPARE(status.st_mode & 07777, 0700u);

        const QString foreign = freshPath(QStringLiteral("store"));
        QCOMPARE(::mkdir(QFile::encodeName(foreign).constData(), 0700), 0);
        QCOMPARE(::chown(QFile::encodeName(foreign).constData(), 65534, 65534), 0);
        auto refused = SnapshotStore::open(foreign);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("another user")), qPrintable(refused.errorMessage()));
        QCOMPARE(QDir(foreign).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).size(), 0);
    }

    void newerCatalogsAreRefused()
    {
        const QString path = freshPath(QStringLiteral("store"));
        QVERIFY(openStore(path));
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("newer"));
            database.setDatabaseName(path + QStringLiteral("/catalog.sqlite"));
            QVERIFY(database.open());
            QSqlQuery query(database);
            QVERIFY(query.exec(QStringLiteral("INSERT INTO schema_version (version) VALUES (99)")));
            database.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("newer"));
        auto refused = SnapshotStore::open(path);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("newer version of Rewind")), qPrintable(refused.errorMessage()));
    }

    void symbolicLinksInTheStagingTreeAreRefused()
    {
        const QString outside = freshPath(QStringLiteral("outside"));
        QVERIFY(writeFile(outside + QStringLiteral("/secret"), "secret"));
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/dir/file.img"), randomBytes(100000, 10)));
        QVERIFY(QFile::link(outside + QStringLiteral("/secret"), staging + QStringLiteral("/dir/link")));
        const QString storePath = freshPath(QStringLiteral("store"));
        auto store = openStore(storePath);
        QVERIFY(store);
        auto refused = commitTree(*store, staging);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("dir/link is a symbolic link")), qPrintable(refused.errorMessage()));
        QCOMPARE(store->list()->size(), 0);
        QCOMPARE(chunkFiles(storePath).size(), 0);

        QVERIFY(QFile::remove(staging + QStringLiteral("/dir/link")));
        QCOMPARE(::mkfifo(QFile::encodeName(staging + QStringLiteral("/dir/fifo")).constData(), 0600), 0);
        refused = commitTree(*store, staging);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("dir/fifo")), qPrintable(refused.errorMessage()));
        QCOMPARE(store->list()->size(), 0);
    }

    void symbolicLinksInTheStoreAreRefused()
    {
        const QString outside = freshPath(QStringLiteral("outside"));
        QVERIFY(QDir().mkpath(outside));
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(500000, 13)));

        // The store itself.
        const QString linkedStore = freshPath(QStringLiteral("store-link"));
        QVERIFY(QFile::link(outside, linkedStore));
        auto refused = SnapshotStore::open(linkedStore);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(refused.errorMessage()));

        // Its pack directory, replaced while the store was closed.
        const QString storePath = freshPath(QStringLiteral("store"));
        QVERIFY(openStore(storePath));
        QVERIFY(QDir(storePath).rename(QStringLiteral("packs"), QStringLiteral("packs-moved")));
        QVERIFY(QFile::link(outside, storePath + QStringLiteral("/packs")));
        refused = SnapshotStore::open(storePath);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(refused.errorMessage()));
        QVERIFY(QFile::remove(storePath + QStringLiteral("/packs")));
        QVERIFY(QDir(storePath).rename(QStringLiteral("packs-moved"), QStringLiteral("packs")));
        // A chunk directory of the layout before packs, the same.
        QVERIFY(QFile::link(outside, storePath + QStringLiteral("/chunks")));
        refused = SnapshotStore::open(storePath);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(refused.errorMessage()));
        QVERIFY(QFile::remove(storePath + QStringLiteral("/chunks")));

        // A pack file replaced by a link to a copy of itself elsewhere, and
        // links planted under the names of leftover packs, while the store is open.
        auto store = openStore(storePath);
        QVERIFY(store);
        auto commit = commitTree(*store, staging);
        QVERIFY2(commit.ok(), qPrintable(commit.errorMessage()));
        const QStringList packs = QDir(storePath + QStringLiteral("/packs")).entryList(QDir::Files);
        QCOMPARE(packs.size(), 1);
        const QString elsewhere = freshPath(QStringLiteral("elsewhere"));
        QVERIFY(QDir().mkpath(elsewhere));
        const QString pack = storePath + QStringLiteral("/packs/") + packs.first();
        QVERIFY(QFile::rename(pack, elsewhere + QStringLiteral("/copy")));
        QVERIFY(QFile::link(elsewhere + QStringLiteral("/copy"), pack));
        const QByteArray copy = readWholeFile(elsewhere + QStringLiteral("/copy"));
        QVERIFY(
            QFile::link(elsewhere + QStringLiteral("/copy"), storePath + QStringLiteral("/packs/") + QString(32, QLatin1Char('a')) + QStringLiteral(".tmp")));
        QVERIFY(
            QFile::link(elsewhere + QStringLiteral("/copy"), storePath + QStringLiteral("/packs/") + QString(32, QLatin1Char('b')) + QStringLiteral(".pack")));
        const QString target = freshPath(QStringLiteral("restored"));
        QVERIFY(QDir().mkpath(target));
        UniqueFd targetFd = openDirectory(target);
        auto restored = store->materialize(commit->id, targetFd.get());
        QVERIFY(!restored.ok());
        QVERIFY2(restored.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(restored.errorMessage()));
        QVERIFY(!store->readFile(commit->id, QStringLiteral("pages-1.img")).ok());
        auto report = store->verify();
        QVERIFY(report.ok());
        QCOMPARE(report->damagedSnapshots, QList<qint64>{commit->id});
        // gc removes the planted links, not what they point to, and never rewrites through a link.
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QVERIFY(QFileInfo(pack).isSymLink());
        QCOMPARE(QDir(storePath + QStringLiteral("/packs")).entryList(QDir::Files | QDir::System).size(), 1);
        QCOMPARE(readWholeFile(elsewhere + QStringLiteral("/copy")), copy);
        QCOMPARE(QDir(elsewhere).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System).size(), 1);
        // The pack put back: all is well again.
        QVERIFY(QFile::remove(pack));
        QVERIFY(QFile::rename(elsewhere + QStringLiteral("/copy"), pack));
        QVERIFY(store->verify()->clean());
        QVERIFY(materialized(*store, commit->id));
        store.reset();

        // The catalog.
        const QString otherStore = freshPath(QStringLiteral("store"));
        QVERIFY(openStore(otherStore));
        for (const char *suffix : {"", "-wal", "-shm"}) {
            QFile::remove(otherStore + QStringLiteral("/catalog.sqlite") + QLatin1String(suffix));
        }
        QVERIFY(QFile::link(outside + QStringLiteral("/catalog.sqlite"), otherStore + QStringLiteral("/catalog.sqlite")));
        refused = SnapshotStore::open(otherStore);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QStringLiteral("catalog.sqlite")), qPrintable(refused.errorMessage()));

        QCOMPARE(countFiles(outside), 0);
        QCOMPARE(QDir(outside).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System).size(), 0);
    }

    void fullDiskLeavesTheCatalogAlone()
    {
        const QString mountPoint = freshPath(QStringLiteral("tmpfs"));
        QVERIFY(QDir().mkpath(mountPoint));
        TmpfsMount tmpfs(mountPoint);
        if (!tmpfs.mount("size=8m,mode=0700")) {
            REWIND_SKIP("mounting a tmpfs needs root in a private mount namespace");
        }
        const QString storePath = mountPoint + QStringLiteral("/store");
        auto store = openStore(storePath);
        QVERIFY(store);
        const QString small = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(small + QStringLiteral("/pages-1.img"), randomBytes(1024 * 1024, 14)));
        auto first = commitTree(*store, small);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        const QStringList packsBefore = packFiles(storePath);
        const qint64 freeBefore = freeBytes(mountPoint);

        const QString big = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(big + QStringLiteral("/pages-1.img"), randomBytes(16 * 1024 * 1024, 15)));
        auto full = commitTree(*store, big);
        QVERIFY(!full.ok());
        qInfo() << full.errorMessage();
        QVERIFY2(full.errorMessage().startsWith(QStringLiteral("The snapshot store on %1 is full").arg(storePath)), qPrintable(full.errorMessage()));
        QVERIFY2(full.errorMessage().contains(QStringLiteral("Delete old snapshots")), qPrintable(full.errorMessage()));
        QVERIFY2(full.errorMessage().contains(storePath), qPrintable(full.errorMessage()));
        QCOMPARE(store->list()->size(), 1);
        QCOMPARE(packFiles(storePath), packsBefore);
        QVERIFY(freeBytes(mountPoint) >= freeBefore);
        auto restored = materialized(*store, first->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(small));
        QVERIFY(store->verify()->clean());

        // No chunk to write, but the catalog cannot grow: SQLite's "full" is
        // reported the same way.
        const QString manyFiles = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(manyFiles + QStringLiteral("/pages-1.img"), readWholeFile(small + QStringLiteral("/pages-1.img"))));
        for (int i = 0; i < 5000; ++i) {
            QVERIFY(writeFile(manyFiles + QStringLiteral("/empty-file-with-a-rather-long-name-%1").arg(i), QByteArray()));
        }
        {
            QFile filler(mountPoint + QStringLiteral("/filler"));
            QVERIFY(filler.open(QIODevice::WriteOnly));
            const QByteArray block(64 * 1024, 'f');
            while (filler.write(block) == block.size() && filler.flush()) { }
        }
        QVERIFY(freeBytes(mountPoint) < 64 * 1024);
        auto catalogFull = commitTree(*store, manyFiles);
        QVERIFY(!catalogFull.ok());
        qInfo() << catalogFull.errorMessage();
        QVERIFY2(catalogFull.errorMessage().startsWith(QStringLiteral("The snapshot store on %1 is full").arg(storePath)),
                 qPrintable(catalogFull.errorMessage()));
        QVERIFY2(catalogFull.errorMessage().contains(QStringLiteral("Delete old snapshots")), qPrintable(catalogFull.errorMessage()));
        QCOMPARE(store->list()->size(), 1);
        QVERIFY(QFile::remove(mountPoint + QStringLiteral("/filler")));
        auto fits = commitTree(*store, manyFiles);
        QVERIFY2(fits.ok(), qPrintable(fits.errorMessage()));
        QCOMPARE(fits->newBytes, 0);
        QCOMPARE(store->list()->size(), 2);
        QVERIFY(store->verify()->clean());
    }

    void theFreeSpaceFloorIsKept()
    {
        const QString mountPoint = freshPath(QStringLiteral("tmpfs"));
        QVERIFY(QDir().mkpath(mountPoint));
        TmpfsMount tmpfs(mountPoint);
        if (!tmpfs.mount("size=32m,mode=0700")) {
            REWIND_SKIP("mounting a tmpfs needs root in a private mount namespace");
        }
        const QString storePath = mountPoint + QStringLiteral("/store");
        auto store = openStore(storePath);
        QVERIFY(store);
        StoreQuota quota;
        quota.freeSpaceFloor = 24 * 1024 * 1024;
        auto commitWithFloor = [&](const QString &staging) {
            UniqueFd stagingFd = openDirectory(staging);
            return store->commit(QStringLiteral("session-a"), 1500, stagingFd.get(), QString(), SnapshotTrigger::Manual, {}, quota);
        };
        const QString small = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(small + QStringLiteral("/pages-1.img"), randomBytes(1024 * 1024, 16)));
        auto first = commitWithFloor(small);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        const QStringList packsBefore = packFiles(storePath);

        // 12 MiB would fit on the disk, not above the floor: refused, nothing kept.
        const QString big = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(big + QStringLiteral("/pages-1.img"), randomBytes(12 * 1024 * 1024, 17)));
        QVERIFY(store->checkQuota(1500, quota).ok());
        auto refused = commitWithFloor(big);
        QVERIFY(!refused.ok());
        qInfo() << refused.errorMessage();
        QVERIFY2(refused.errorMessage().contains(QLatin1String("must stay free")), qPrintable(refused.errorMessage()));
        QCOMPARE(packFiles(storePath), packsBefore);
        QCOMPARE(store->list()->size(), 1);
        QVERIFY(freeBytes(mountPoint) >= quota.freeSpaceFloor);

        // Below the floor already: refused before anything is frozen.
        {
            QFile filler(mountPoint + QStringLiteral("/filler"));
            QVERIFY(filler.open(QIODevice::WriteOnly));
            QVERIFY(filler.write(randomBytes(8 * 1024 * 1024, 18)) == 8 * 1024 * 1024);
        }
        auto before = store->checkQuota(1500, quota);
        QVERIFY(!before.ok());
        QVERIFY2(before.errorMessage().contains(QLatin1String("must stay free")), qPrintable(before.errorMessage()));
        QVERIFY(QFile::remove(mountPoint + QStringLiteral("/filler")));
        QVERIFY(store->checkQuota(1500, quota).ok());
    }

    void killedCommitsLeaveTheOldState_data()
    {
        QTest::addColumn<QByteArray>("crashPoint");
        QTest::addColumn<bool>("committed");
        QTest::newRow("after-first-chunk") << QByteArray("after-first-chunk") << false;
        QTest::newRow("after-chunks") << QByteArray("after-chunks") << false;
        QTest::newRow("before-catalog") << QByteArray("before-catalog") << false;
        QTest::newRow("in-catalog") << QByteArray("in-catalog") << false;
        QTest::newRow("after-catalog") << QByteArray("after-catalog") << true;
    }

    void killedCommitsLeaveTheOldState()
    {
        QFETCH(QByteArray, crashPoint);
        QFETCH(bool, committed);
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString baseline = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(baseline + QStringLiteral("/pages-1.img"), randomBytes(1024 * 1024, 16)));
        qint64 baselineId = 0;
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto first = commitTree(*store, baseline);
            QVERIFY(first.ok());
            baselineId = first->id;
        } // No SQLite connection may be open across fork().
        const QString big = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(big + QStringLiteral("/pages-1.img"), randomBytes(8 * 1024 * 1024, 17)));
        QVERIFY(writeFile(big + QStringLiteral("/pages-2.img"), randomBytes(2 * 1024 * 1024, 18)));

        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            ::setenv(SnapshotStore::crashPointVariable, crashPoint.constData(), 1);
            auto store = SnapshotStore::open(storePath);
            if (!store) {
                ::_exit(2);
            }
            UniqueFd staging = openDirectory(big);
            auto result = (*store)->commit(QStringLiteral("session-a"), ::getuid(), staging.get(), QString(), SnapshotTrigger::Manual, {});
            if (!result) {
                qWarning() << result.errorMessage();
            }
            ::_exit(result.ok() ? 0 : 1);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, qPrintable(QString::number(status)));

        // The baseline's pack and the one the killed commit started.
        QCOMPARE(packFiles(storePath).size(), 2);
        auto store = openStore(storePath);
        QVERIFY(store);
        auto listed = store->list();
        QVERIFY(listed.ok());
        QCOMPARE(listed->size(), committed ? 2 : 1);
        QCOMPARE(listed->last().id, baselineId);
        QVERIFY(store->verify()->clean());
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        if (committed) {
            QCOMPARE(stats->chunksRemoved, 0);
            QCOMPARE(packFiles(storePath).size(), 2);
            auto restored = materialized(*store, listed->first().id);
            QVERIFY(restored);
            QCOMPARE(*restored, treeOf(big));
        } else {
            // The killed commit's pack is gone, under its temporary or its final name.
            QCOMPARE(packFiles(storePath).size(), 1);
            QVERIFY(stats->bytesFreed > 0 || crashPoint == "after-first-chunk");
            if (crashPoint == "before-catalog" || crashPoint == "in-catalog") {
                QVERIFY(stats->chunksRemoved >= 10 * 1024 * 1024 / qint64(ContentChunker::maximumSize));
            }
        }
        // What is left is exactly what the catalog references.
        auto report = store->verify();
        QVERIFY(report->clean());
        QCOMPARE(report->chunksChecked, qint64(chunkFiles(storePath).size()));
        auto restored = materialized(*store, baselineId);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(baseline));
    }

    void killedGarbageCollectionIsFinishedByTheNextOne()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/kept.img"), randomBytes(1024 * 1024, 22)));
        qint64 keptId = 0;
        qint64 removedId = 0;
        const QMap<QString, QByteArray> keptTree = treeOf(staging);
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto kept = commitTree(*store, staging);
            QVERIFY(kept.ok());
            keptId = kept->id;
            QVERIFY(writeFile(staging + QStringLiteral("/removed.img"), randomBytes(1024 * 1024, 23)));
            auto removed = commitTree(*store, staging);
            QVERIFY(removed.ok());
            removedId = removed->id;
        }
        const int chunksBefore = chunkFiles(storePath).size();

        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            ::setenv(SnapshotStore::crashPointVariable, "gc-after-catalog", 1);
            auto store = SnapshotStore::open(storePath);
            if (!store || !(*store)->remove(removedId).ok()) {
                ::_exit(2);
            }
            ::_exit((*store)->collectGarbage().ok() ? 0 : 1);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, qPrintable(QString::number(status)));
        QCOMPARE(chunkFiles(storePath).size(), chunksBefore);

        auto store = openStore(storePath);
        QVERIFY(store);
        QCOMPARE(store->snapshot(removedId).errorMessage(), QStringLiteral("There is no snapshot %1.").arg(removedId));
        QVERIFY(store->verify()->clean());
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QVERIFY(stats->chunksRemoved > 0);
        QCOMPARE(store->verify()->chunksChecked, qint64(chunkFiles(storePath).size()));
        auto restored = materialized(*store, keptId);
        QVERIFY(restored);
        QCOMPARE(*restored, keptTree);
    }

    void commitsExcludeGarbageCollectionButNotReaders()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString baseline = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(baseline + QStringLiteral("/pages-1.img"), randomBytes(300000, 20)));
        qint64 baselineId = 0;
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto first = commitTree(*store, baseline);
            QVERIFY(first.ok());
            baselineId = first->id;
        }
        const QString big = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(big + QStringLiteral("/pages-1.img"), randomBytes(2 * 1024 * 1024, 21)));

        StoppedCommit commit(storePath, big, QStringLiteral("session-a"));
        QVERIFY(commit.isStopped());

        // The stopped commit holds the store's lock shared: gc would wait,
        // reading goes on.
        UniqueFd lock(::open(QFile::encodeName(storePath + QStringLiteral("/lock")).constData(), O_RDWR | O_CLOEXEC));
        QVERIFY(lock.valid());
        QCOMPARE(::flock(lock.get(), LOCK_EX | LOCK_NB), -1);
        QCOMPARE(errno, EWOULDBLOCK);
        QCOMPARE(::flock(lock.get(), LOCK_SH | LOCK_NB), 0);
        QCOMPARE(::flock(lock.get(), LOCK_UN), 0);
        // ... and keeps other commits out.
        UniqueFd commitLock(::open(QFile::encodeName(storePath + QStringLiteral("/commit.lock")).constData(), O_RDWR | O_CLOEXEC));
        QVERIFY(commitLock.valid());
        QCOMPARE(::flock(commitLock.get(), LOCK_EX | LOCK_NB), -1);
        QCOMPARE(errno, EWOULDBLOCK);
        auto store = openStore(storePath);
        QVERIFY(store);
        auto restored = materialized(*store, baselineId);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(baseline));

        commit.kill();
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QVERIFY(stats->chunksRemoved >= 8);
        QCOMPARE(store->list()->size(), 1);
    }

    void aCommitKeepsChunksOfASnapshotDeletedMeanwhile_data()
    {
        // The session's previous snapshot answers for its pages; another
        // session's chunks are looked up in the chunk index.
        QTest::addColumn<QString>("session");
        QTest::newRow("same session") << QStringLiteral("session-a");
        QTest::newRow("another session") << QStringLiteral("session-b");
    }

    void aCommitKeepsChunksOfASnapshotDeletedMeanwhile()
    {
        // Garbage collection removes the chunks no snapshot uses first. A
        // commit that found a chunk present while the only snapshot using it
        // was deleted must become that chunk's first user, or the next
        // collection would remove what the new snapshot needs.
        QFETCH(QString, session);
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/images/pages-1.img"), randomBytes(64 * 4096, 24)));
        QVERIFY(writeFile(staging + QStringLiteral("/notes.txt"), randomBytes(200 * 1024, 25)));
        const QMap<QString, QByteArray> tree = treeOf(staging);
        qint64 deletedId = 0;
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto deleted = commitTree(*store, staging);
            QVERIFY(deleted.ok());
            deletedId = deleted->id;
        }

        // The commit stops after it looked its chunks up, before its catalog transaction.
        StoppedCommit commit(storePath, staging, session);
        QVERIFY(commit.isStopped());
        auto store = openStore(storePath);
        QVERIFY(store);
        QVERIFY(store->remove(deletedId).ok());
        QVERIFY(commit.finish());

        auto snapshots = store->list();
        QVERIFY(snapshots.ok());
        QCOMPARE(snapshots->size(), 1);
        // It brought nothing to the store and is the first to use all it has.
        QCOMPARE(snapshots->first().addedBytes, std::optional<qint64>(0));
        QCOMPARE(snapshots->first().newBytes, snapshots->first().storedBytes);
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QCOMPARE(stats->chunksRemoved, 0);
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        QCOMPARE(materialized(*store, snapshots->first().id), std::optional(tree));
        QVERIFY(store->verify()->clean());
    }

    void garbageCollectionRewritesPacksThatAreMostlyGarbage_data()
    {
        QTest::addColumn<QByteArray>("crashPoint");
        QTest::newRow("no crash") << QByteArray();
        QTest::newRow("gc-after-repack-write") << QByteArray("gc-after-repack-write");
        QTest::newRow("gc-in-repack-catalog") << QByteArray("gc-in-repack-catalog");
        QTest::newRow("gc-after-repack-catalog") << QByteArray("gc-after-repack-catalog");
    }

    void garbageCollectionRewritesPacksThatAreMostlyGarbage()
    {
        QFETCH(QByteArray, crashPoint);
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString staging = freshPath(QStringLiteral("staging"));
        for (int i = 0; i < 4; ++i) {
            QVERIFY(writeFile(staging + QStringLiteral("/pages-%1.img").arg(i), randomBytes(3 * 1024 * 1024, quint32(30 + i))));
        }
        const QString kept = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(kept + QStringLiteral("/pages-1.img"), readWholeFile(staging + QStringLiteral("/pages-1.img"))));
        QVERIFY(writeFile(kept + QStringLiteral("/other.img"), randomBytes(100000, 40)));
        const QMap<QString, QByteArray> keptTree = treeOf(kept);
        qint64 keptId = 0;
        qint64 keptStored = 0;
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto all = commitTree(*store, staging);
            QVERIFY(all.ok());
            auto some = commitTree(*store, kept);
            QVERIFY(some.ok());
            QVERIFY(some->sharedBytes > 3 * 1024 * 1024);
            keptId = some->id;
            keptStored = some->storedBytes;
            QVERIFY(store->remove(all->id).ok());
        }
        const qint64 bytesBefore = packBytes(storePath);
        QVERIFY(bytesBefore > 12 * 1024 * 1024);
        QCOMPARE(packFiles(storePath).size(), 2);

        if (!crashPoint.isEmpty()) {
            const pid_t child = ::fork();
            QVERIFY(child >= 0);
            if (child == 0) {
                ::setenv(SnapshotStore::crashPointVariable, crashPoint.constData(), 1);
                auto store = SnapshotStore::open(storePath);
                ::_exit(store && (*store)->collectGarbage().ok() ? 0 : 1);
            }
            int status = 0;
            QCOMPARE(::waitpid(child, &status, 0), child);
            QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, qPrintable(QString::number(status)));
            // Old and new pack both there: whichever the catalog names is whole.
            QCOMPARE(packFiles(storePath).size(), 3);
            auto store = openStore(storePath);
            QVERIFY(store);
            QVERIFY(store->verify()->clean());
            auto restored = materialized(*store, keptId);
            QVERIFY(restored);
            QCOMPARE(*restored, keptTree);
        }

        auto store = openStore(storePath);
        QVERIFY(store);
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        // Only the live records are left: exactly what the kept snapshot stores.
        QCOMPARE(packBytes(storePath), keptStored);
        QCOMPARE(packFiles(storePath).size(), 2);
        QVERIFY(stats->bytesFreed > 0);
        if (crashPoint.isEmpty()) {
            QCOMPARE(stats->bytesFreed, bytesBefore - keptStored);
            QVERIFY(stats->chunksRemoved >= 9 * 1024 * 1024 / qint64(ContentChunker::maximumSize));
        }
        auto report = store->verify();
        QVERIFY(report->clean());
        QCOMPARE(report->chunksChecked, qint64(chunkFiles(storePath).size()));
        auto restored = materialized(*store, keptId);
        QVERIFY(restored);
        QCOMPARE(*restored, keptTree);
        QCOMPARE(*store->readFile(keptId, QStringLiteral("other.img")), readWholeFile(kept + QStringLiteral("/other.img")));
        QCOMPARE(store->snapshot(keptId)->storedBytes, keptStored);
        auto again = store->collectGarbage();
        QCOMPARE(again->bytesFreed, 0);
        QCOMPARE(packBytes(storePath), keptStored);
    }

    void storesOfSchemaOneAreMigrated()
    {
        // A store as schema 1 wrote it: one chunk file, no packs, unkeyed
        // ids, and two users' snapshots sharing the chunk.
        const QString storePath = freshPath(QStringLiteral("store"));
        const QByteArray content("a chunk written before packs\n");
        const QByteArray id = ChunkKeys::legacyIdOf(reinterpret_cast<const unsigned char *>(content.constData()), std::size_t(content.size()));
        QByteArray file("RWCK");
        file += QByteArray("\x01\x00\x00\x00", 4);
        file += char(content.size()) + QByteArray(7, '\0');
        // A zstd frame holding one raw block: magic, single segment with a 1-byte size, block header.
        file += QByteArray("\x28\xb5\x2f\xfd\x20", 5) + char(content.size());
        const quint32 blockHeader = quint32(content.size()) << 3 | 1;
        file += char(blockHeader & 0xff) + QByteArray(1, char((blockHeader >> 8) & 0xff)) + char((blockHeader >> 16) & 0xff);
        file += content;
        QVERIFY(writeFile(storePath + QStringLiteral("/chunks/") + QString::fromLatin1(id.left(2)) + QLatin1Char('/') + QString::fromLatin1(id.mid(2)), file));
        QVERIFY(writeFile(storePath + QStringLiteral("/chunks/00/") + QString(30, QLatin1Char('0')), "an unreferenced chunk file"));
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("schema1"));
            database.setDatabaseName(storePath + QStringLiteral("/catalog.sqlite"));
            QVERIFY(database.open());
            QSqlQuery query(database);
            for (const char *statement : {
                     "CREATE TABLE schema_version (version INTEGER NOT NULL)",
                     "INSERT INTO schema_version (version) VALUES (1)",
                     "CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
                     " label TEXT NOT NULL DEFAULT '', trigger_name TEXT NOT NULL, pinned INTEGER NOT NULL DEFAULT 0,"
                     " metadata_json TEXT NOT NULL DEFAULT '{}', logical_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL)",
                     "CREATE INDEX snapshots_by_session ON snapshots(session_id, created_at)",
                     "CREATE TABLE files (id INTEGER PRIMARY KEY, snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
                     " ordinal INTEGER NOT NULL, path TEXT NOT NULL, mode INTEGER NOT NULL, size INTEGER NOT NULL, UNIQUE (snapshot_id, path))",
                     "CREATE TABLE chunks (id TEXT PRIMARY KEY, stored_bytes INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
                     " first_snapshot INTEGER REFERENCES snapshots(id) ON DELETE SET NULL)",
                     "CREATE INDEX chunks_by_first_snapshot ON chunks(first_snapshot)",
                     "CREATE TABLE file_chunks (file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
                     " chunk_id TEXT NOT NULL REFERENCES chunks(id), PRIMARY KEY (file_id, seq)) WITHOUT ROWID",
                     "CREATE INDEX file_chunks_by_chunk ON file_chunks(chunk_id)",
                 }) {
                QVERIFY2(query.exec(QString::fromLatin1(statement)), qPrintable(query.lastError().text()));
            }
            query.prepare(QStringLiteral(
                "INSERT INTO snapshots (id, session_id, created_at, trigger_name, logical_bytes, stored_bytes) VALUES (1, 'old', 0, 'manual', ?, ?)"));
            query.addBindValue(content.size());
            query.addBindValue(file.size());
            QVERIFY(query.exec());
            QVERIFY(query.exec(QStringLiteral("INSERT INTO files (id, snapshot_id, ordinal, path, mode, size) VALUES (1, 1, 0, 'old.img', %1, %2)")
                                   .arg(S_IFREG | 0600)
                                   .arg(content.size())));
            QVERIFY(query.exec(QStringLiteral("INSERT INTO chunks (id, stored_bytes, raw_bytes, first_snapshot) VALUES ('%1', %2, %3, 1)")
                                   .arg(QString::fromLatin1(id))
                                   .arg(file.size())
                                   .arg(content.size())));
            QVERIFY(query.exec(QStringLiteral("INSERT INTO file_chunks (file_id, seq, chunk_id) VALUES (1, 0, '%1')").arg(QString::fromLatin1(id))));
            // rewind-user's snapshot of the same content.
            QVERIFY(query.exec(QStringLiteral("INSERT INTO snapshots (id, session_id, created_at, trigger_name, metadata_json, logical_bytes, stored_bytes)"
                                              " VALUES (2, 'other', 0, 'manual', '{\"owner\":1500}', %1, %2)")
                                   .arg(content.size())
                                   .arg(file.size())));
            QVERIFY(query.exec(QStringLiteral("INSERT INTO files (id, snapshot_id, ordinal, path, mode, size) VALUES (2, 2, 0, 'old.img', %1, %2)")
                                   .arg(S_IFREG | 0600)
                                   .arg(content.size())));
            QVERIFY(query.exec(QStringLiteral("INSERT INTO file_chunks (file_id, seq, chunk_id) VALUES (2, 0, '%1')").arg(QString::fromLatin1(id))));
            database.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("schema1"));

        // Opening migrates: each owner gets the chunk under its own id, in a pack.
        auto store = openStore(storePath);
        QVERIFY(store);
        QCOMPARE(store->snapshot(1)->owner, uid_t(0));
        QCOMPARE(store->snapshot(2)->owner, uid_t(1500));
        // What they added when they were stored nobody wrote down then.
        QVERIFY(!store->snapshot(1)->addedBytes.has_value());
        QVERIFY(!store->snapshot(2)->addedBytes.has_value());
        for (const qint64 snapshot : {1, 2}) {
            auto old = store->readFile(snapshot, QStringLiteral("old.img"));
            QVERIFY2(old.ok(), qPrintable(old.errorMessage()));
            QCOMPARE(*old, content);
        }
        auto report = store->verify();
        QVERIFY(report->clean());
        QCOMPARE(report->chunksChecked, 2);
        // The chunk files are gone; each owner's chunks went to a pack of their own.
        QCOMPARE(countFiles(storePath + QStringLiteral("/chunks")), 0);
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        const QStringList migratedPacks = packFiles(storePath);
        QCOMPARE(migratedPacks.size(), 2);
        // Opening again finds nothing left to migrate.
        store.reset();
        store = openStore(storePath);
        QVERIFY(store);
        QCOMPARE(packFiles(storePath), migratedPacks);

        // New snapshots share the owner's migrated chunk, and only the owner's.
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/old.img"), content));
        auto next = commitTree(*store, staging);
        QVERIFY2(next.ok(), qPrintable(next.errorMessage()));
        QCOMPARE(next->newBytes, 0);
        QCOMPARE(next->addedBytes.value_or(-1), qint64(0));
        QCOMPARE(next->sharedBytes, qint64(ChunkStore::recordHeaderSize) + content.size());
        QVERIFY(store->remove(1).ok());
        QVERIFY(store->remove(2).ok());
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QCOMPARE(stats->chunksRemoved, 1);
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        auto restored = materialized(*store, next->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(staging));
    }

    void aSessionsPreviousSnapshotAnswersForItsPages()
    {
        // A commit finds the pages of the session's previous snapshot, and
        // their stored sizes, in that snapshot's lists. What it stores and
        // the size it gives must be what the chunk index alone gives: the
        // same tree committed for a session without snapshots.
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString staging = freshPath(QStringLiteral("staging"));
        constexpr qsizetype pages = 96;
        QByteArray memory = randomBytes(pages * 4096, 71);
        for (qsizetype page = 0; page < pages; page += 3) {
            memory.replace(page * 4096, 4096, QByteArray(4096, char('a' + page % 7))); // compressed to different sizes
        }
        QVERIFY(writeFile(staging + QStringLiteral("/images/pages-1.img"), memory));
        QVERIFY(writeFile(staging + QStringLiteral("/images/core-1.img"), randomBytes(9000, 72)));
        const auto commitChanged = [&](SnapshotStore &store, int seed) -> Result<SnapshotInfo> {
            memory.replace((seed % pages) * 4096, 4096, randomBytes(4096, seed)); // a new page
            memory.replace(((seed + 5) % pages) * 4096, 4096, memory.mid(((seed + 1) % pages) * 4096, 4096)); // a page twice
            if (!writeFile(staging + QStringLiteral("/images/pages-1.img"), memory)) {
                return Error{QStringLiteral("cannot write the staging")};
            }
            auto taken = commitTree(store, staging);
            if (!taken) {
                return taken;
            }
            // The same tree for a session with no snapshot: every page asked of the chunk index.
            auto alone = commitTree(store, staging, QStringLiteral("session-%1").arg(seed));
            if (!alone) {
                return alone;
            }
            if (alone->storedBytes != taken->storedBytes || alone->newBytes != 0) {
                return Error{
                    QStringLiteral("stored %1 bytes, the chunk index says %2 (%3 new)").arg(taken->storedBytes).arg(alone->storedBytes).arg(alone->newBytes)};
            }
            return taken;
        };
        {
            auto store = openStore(storePath);
            QVERIFY(store);
            auto first = commitTree(*store, staging);
            QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
            auto second = commitChanged(*store, 73);
            QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
            QVERIFY(second->newBytes > 0);
            QVERIFY(second->newBytes < second->storedBytes / 10);
            const auto restored = materialized(*store, second->id);
            QVERIFY(restored);
            QCOMPARE(*restored, treeOf(staging));
        }
        // A previous snapshot from before schema 7 has no sizes: the chunk index answers.
        const QString reverted = revertCatalog(storePath + QStringLiteral("/catalog.sqlite"), 6);
        QVERIFY2(reverted.isEmpty(), qPrintable(reverted));
        auto store = openStore(storePath);
        QVERIFY(store);
        auto third = commitChanged(*store, 74);
        QVERIFY2(third.ok(), qPrintable(third.errorMessage()));
        auto fourth = commitChanged(*store, 75);
        QVERIFY2(fourth.ok(), qPrintable(fourth.errorMessage()));
        const auto restored = materialized(*store, fourth->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(staging));
        QVERIFY(store->verify()->clean());
    }

    void restoresFindChunksWhereTheirRunsSay()
    {
        // A file's runs (schema 8) give its chunks' places, so that a restore
        // asks the chunk index nothing: they must be where the index says,
        // also for a commit that took them from the previous snapshot's
        // runs. A pack the garbage collector rewrites clears the runs that
        // name it; restores then ask the index, and the next commit writes
        // whole runs again.
        const QString storePath = freshPath(QStringLiteral("store"));
        const QString staging = freshPath(QStringLiteral("staging"));
        for (int i = 0; i < 4; ++i) {
            QVERIFY(writeFile(staging + QStringLiteral("/images/pages-%1.img").arg(i), randomBytes(3 * 1024 * 1024, quint32(80 + i))));
        }
        QVERIFY(writeFile(staging + QStringLiteral("/images/core-1.img"), randomBytes(90000, 84)));
        const QString kept = freshPath(QStringLiteral("staging"));
        QByteArray memory = readWholeFile(staging + QStringLiteral("/images/pages-1.img"));
        QVERIFY(writeFile(kept + QStringLiteral("/images/pages-1.img"), memory));
        QVERIFY(writeFile(kept + QStringLiteral("/images/core-1.img"), randomBytes(90000, 85)));

        auto store = openStore(storePath);
        QVERIFY(store);
        auto catalog = SnapshotCatalog::open(storePath + QStringLiteral("/catalog.sqlite"));
        QVERIFY2(catalog.ok(), qPrintable(catalog.errorMessage()));
        // How many of the snapshot's chunks have their place from runs; each must be where the index says.
        const auto placedFromRuns = [&](qint64 id) -> Result<qsizetype> {
            auto files = (*catalog)->files(id);
            if (!files) {
                return files.error();
            }
            qsizetype placed = 0;
            for (const SnapshotCatalog::FileEntry &file : std::as_const(*files)) {
                auto known = (*catalog)->knownChunks(ChunkList::hexIds(file.chunkList));
                if (!known) {
                    return known.error();
                }
                for (const SnapshotCatalog::ChunkEntry &chunk : file.stored) {
                    const SnapshotCatalog::ChunkEntry indexed = known->value(chunk.id);
                    if (chunk.pack != indexed.pack || chunk.packOffset != indexed.packOffset || chunk.storedBytes != indexed.storedBytes
                        || chunk.owner != indexed.owner) {
                        return Error{QStringLiteral("%1: chunk %2 is at %3+%4, the index says %5+%6")
                                         .arg(file.path, QString::fromLatin1(chunk.id), QString::fromLatin1(chunk.pack))
                                         .arg(chunk.packOffset)
                                         .arg(QString::fromLatin1(indexed.pack))
                                         .arg(indexed.packOffset)};
                    }
                    placed += chunk.rawBytes < 0 ? 1 : 0;
                }
            }
            return placed;
        };
        const auto chunkCount = [&](qint64 id) {
            qsizetype count = 0;
            const auto files = (*catalog)->files(id);
            for (const SnapshotCatalog::FileEntry &file : files.value()) {
                count += ChunkList::count(file.chunkList);
            }
            return count;
        };

        auto all = commitTree(*store, staging);
        QVERIFY2(all.ok(), qPrintable(all.errorMessage()));
        auto placed = placedFromRuns(all->id);
        QVERIFY2(placed.ok(), qPrintable(placed.errorMessage()));
        QCOMPARE(*placed, chunkCount(all->id));
        // The same session again, a few pages changed: most places come from the previous snapshot's runs.
        memory.replace(5 * 4096, 4096, randomBytes(4096, 86));
        memory.replace(300 * 4096, 4096, randomBytes(4096, 87));
        QVERIFY(writeFile(kept + QStringLiteral("/images/pages-1.img"), memory));
        auto some = commitTree(*store, kept);
        QVERIFY2(some.ok(), qPrintable(some.errorMessage()));
        QVERIFY(some->sharedBytes > 3 * 1024 * 1024 - 3 * 4096);
        placed = placedFromRuns(some->id);
        QVERIFY2(placed.ok(), qPrintable(placed.errorMessage()));
        QCOMPARE(*placed, chunkCount(some->id));
        auto restored = materialized(*store, some->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(kept));

        // The first snapshot gone, its pack is mostly garbage and rewritten.
        const QStringList packsBefore = packFiles(storePath);
        QVERIFY(store->remove(all->id).ok());
        auto collected = store->collectGarbage();
        QVERIFY2(collected.ok(), qPrintable(collected.errorMessage()));
        QVERIFY(packFiles(storePath) != packsBefore);
        placed = placedFromRuns(some->id);
        QVERIFY2(placed.ok(), qPrintable(placed.errorMessage()));
        QVERIFY2(*placed < chunkCount(some->id) - 700, qPrintable(QString::number(*placed))); // pages-1.img asks the index
        restored = materialized(*store, some->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(kept));
        auto next = commitTree(*store, kept);
        QVERIFY2(next.ok(), qPrintable(next.errorMessage()));
        QCOMPARE(next->newBytes, 0);
        placed = placedFromRuns(next->id);
        QVERIFY2(placed.ok(), qPrintable(placed.errorMessage()));
        QCOMPARE(*placed, chunkCount(next->id));
        restored = materialized(*store, next->id);
        QVERIFY(restored);
        QCOMPARE(*restored, treeOf(kept));

        // Runs that point elsewhere are caught by the check of every record: a clear error, no wrong byte.
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("shift-runs"));
            database.setDatabaseName(storePath + QStringLiteral("/catalog.sqlite"));
            QVERIFY(database.open());
            QSqlQuery query(database);
            query.prepare(QStringLiteral("SELECT id, chunk_runs FROM files WHERE snapshot_id = ? AND path = 'images/pages-1.img'"));
            query.addBindValue(next->id);
            QVERIFY(query.exec() && query.next());
            const qint64 fileId = query.value(0).toLongLong();
            QByteArray runs = query.value(1).toByteArray();
            QVERIFY(runs.size() >= 28);
            qToLittleEndian<qint64>(qFromLittleEndian<qint64>(runs.constData() + 16) + 4096 + 32, runs.data() + 16);
            query.finish();
            QSqlQuery update(database);
            update.prepare(QStringLiteral("UPDATE files SET chunk_runs = ? WHERE id = ?"));
            update.addBindValue(runs);
            update.addBindValue(fileId);
            QVERIFY2(update.exec(), qPrintable(update.lastError().text()));
            database.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("shift-runs"));
        const QString target = freshPath(QStringLiteral("restored"));
        QDir().mkpath(target);
        UniqueFd targetFd = openDirectory(target);
        auto shifted = store->materialize(next->id, targetFd.get());
        QVERIFY(!shifted);
        QVERIFY2(shifted.errorMessage().contains(QStringLiteral("is damaged")), qPrintable(shifted.errorMessage()));
    }

    void catalogsOfSchemaFiveAreMigrated()
    {
        // Schema 5 kept a row a chunk (file_chunks); 6 keeps a file's chunks
        // in one list. Memory is a chunk a page, so the order matters.
        const QString storePath = freshPath(QStringLiteral("store"));
        constexpr qsizetype pages = 64;
        const auto snapshots = commitOnePageApart(storePath, pages, 61);
        QVERIFY(snapshots);
        const auto &[firstId, secondId, chunks, firstTree, secondTree] = *snapshots;
        QVERIFY(chunks > pages);
        const QString reverted = revertCatalog(storePath + QStringLiteral("/catalog.sqlite"), 5);
        QVERIFY2(reverted.isEmpty(), qPrintable(reverted));

        auto store = openStore(storePath);
        QVERIFY(store);
        QCOMPARE(materialized(*store, firstId), std::optional(firstTree));
        QCOMPARE(materialized(*store, secondId), std::optional(secondTree));
        auto report = store->verify();
        QVERIFY(report->clean());
        QCOMPARE(report->chunksChecked, chunks);

        // Migrating added up what each owner's chunks take and what each snapshot added first.
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        QVERIFY(store->usage(::getuid())->storedBytes > 0);
        // What the first added and the second uses is the second's now; the
        // page only the first had is garbage.
        QVERIFY(store->snapshot(secondId)->newBytes < store->snapshot(secondId)->storedBytes);
        QVERIFY(store->remove(firstId).ok());
        QCOMPARE(store->snapshot(secondId)->newBytes, store->snapshot(secondId)->storedBytes);
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QCOMPARE(store->verify()->chunksChecked, chunks - 1);
        QCOMPARE(materialized(*store, secondId), std::optional(secondTree));
    }

    void migrationTenSetsEveryChunksFirstSnapshot()
    {
        // From schema 10 garbage collection trusts first_snapshot instead of
        // reading every list, so migrating sets it again from the lists:
        // here a catalog whose first uses are all wrong.
        const QString storePath = freshPath(QStringLiteral("store"));
        const auto snapshots = commitOnePageApart(storePath, 32, 64);
        QVERIFY(snapshots);
        const auto &[firstId, secondId, chunks, firstTree, secondTree] = *snapshots;
        const QString catalogPath = storePath + QStringLiteral("/catalog.sqlite");
        const QString reverted = revertCatalog(catalogPath, 9);
        QVERIFY2(reverted.isEmpty(), qPrintable(reverted));
        {
            QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("schema9"));
            database.setDatabaseName(catalogPath);
            QVERIFY(database.open());
            QSqlQuery query(database);
            // Every chunk the second snapshot's (wrong for those the first uses), one none.
            QVERIFY(query.exec(QStringLiteral("UPDATE chunks SET first_snapshot = %1").arg(secondId)));
            QVERIFY(query.exec(QStringLiteral("UPDATE chunks SET first_snapshot = NULL WHERE rowid = (SELECT MIN(rowid) FROM chunks)")));
            database.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("schema9"));
        QVERIFY(!catalogTotalsMismatch(catalogPath).isEmpty());

        auto store = openStore(storePath);
        QVERIFY(store);
        QCOMPARE(catalogTotalsMismatch(catalogPath), QString());
        auto stats = store->collectGarbage();
        QVERIFY2(stats.ok(), qPrintable(stats.errorMessage()));
        QCOMPARE(store->verify()->chunksChecked, chunks);
        QCOMPARE(materialized(*store, firstId), std::optional(firstTree));
        QCOMPARE(materialized(*store, secondId), std::optional(secondTree));
        // The page only the first snapshot has goes with it, and only that.
        QVERIFY(store->remove(firstId).ok());
        QVERIFY(store->collectGarbage().ok());
        QCOMPARE(store->verify()->chunksChecked, chunks - 1);
        QCOMPARE(catalogTotalsMismatch(catalogPath), QString());
        QCOMPARE(materialized(*store, secondId), std::optional(secondTree));
    }

    void chunksAreSharedWithinOneOwnerOnly()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        auto store = openStore(storePath);
        QVERIFY(store);
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(3 * 1024 * 1024, 51)));
        auto commitAs = [&](uid_t owner) {
            UniqueFd stagingFd = openDirectory(staging);
            return store->commit(QStringLiteral("session-a"), owner, stagingFd.get(), QString(), SnapshotTrigger::Manual, {});
        };
        auto first = commitAs(1500);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        QCOMPARE(first->owner, uid_t(1500));
        QCOMPARE(first->sharedBytes, 0);
        QCOMPARE(first->addedBytes.value_or(-1), first->storedBytes);
        // Another user with the same bytes stores them again and learns nothing.
        auto other = commitAs(1501);
        QVERIFY2(other.ok(), qPrintable(other.errorMessage()));
        QCOMPARE(other->sharedBytes, 0);
        QCOMPARE(other->newBytes, other->storedBytes);
        QCOMPARE(other->addedBytes.value_or(-1), other->storedBytes);
        QCOMPARE(packBytes(storePath), first->storedBytes + other->storedBytes);
        // The same user shares everything.
        auto again = commitAs(1500);
        QVERIFY2(again.ok(), qPrintable(again.errorMessage()));
        QCOMPARE(again->newBytes, 0);
        QCOMPARE(again->sharedBytes, again->storedBytes);
        QCOMPARE(again->addedBytes.value_or(-1), qint64(0));
        QCOMPARE(store->usage(1500)->storedBytes, first->storedBytes);
        QCOMPARE(store->usage(1500)->snapshots, 2);
        QCOMPARE(store->usage(1501)->snapshots, 1);
        // By session: the distinct chunks of its snapshots, the owner's only.
        auto bySession = store->usageBySession(1500);
        QVERIFY2(bySession.ok(), qPrintable(bySession.errorMessage()));
        QCOMPARE(bySession->size(), 1);
        QCOMPARE(bySession->first().sessionId, QStringLiteral("session-a"));
        QCOMPARE(bySession->first().snapshots, 2);
        QCOMPARE(bySession->first().storedBytes, first->storedBytes);
        QCOMPARE(store->usageBySession(1501)->first().storedBytes, other->storedBytes);
        QVERIFY(store->usageBySession(1502)->isEmpty());
        // The first one deleted: its chunks are the next one's now, but what
        // that one added when it was stored stays what it was.
        QVERIFY(store->remove(first->id).ok());
        QCOMPARE(store->snapshot(again->id)->newBytes, again->storedBytes);
        QCOMPARE(store->snapshot(again->id)->addedBytes.value_or(-1), qint64(0));

        // The secret that keys the ids is the store owner's alone.
        struct stat secret{};
        QCOMPARE(::lstat(QFile::encodeName(storePath + QStringLiteral("/chunk-secret")).constData(), &secret), 0);
        QVERIFY(S_ISREG(secret.st_mode));
        QCOMPARE(secret.st_mode & 07777, mode_t(0600));
        QCOMPARE(secret.st_size, off_t(32));
        QCOMPARE(secret.st_uid, ::geteuid());
    }

    void aSecretThatIsNotPrivateIsRefused()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        QVERIFY(openStore(storePath));
        const QByteArray secret = QFile::encodeName(storePath + QStringLiteral("/chunk-secret"));
        QCOMPARE(::chmod(secret.constData(), 0644), 0);
        auto readable = SnapshotStore::open(storePath);
        QVERIFY(!readable.ok());
        QVERIFY2(readable.errorMessage().contains(QLatin1String("not safe")), qPrintable(readable.errorMessage()));
        QCOMPARE(::unlink(secret.constData()), 0);
        QCOMPARE(::symlink("/etc/hostname", secret.constData()), 0);
        auto linked = SnapshotStore::open(storePath);
        QVERIFY(!linked.ok());
    }

    void quotasRefuseBeforeStoringAndDeletingFreesSpace()
    {
        const QString storePath = freshPath(QStringLiteral("store"));
        auto store = openStore(storePath);
        QVERIFY(store);
        const QString staging = freshPath(QStringLiteral("staging"));
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(2 * 1024 * 1024, 61)));
        auto commitAs = [&](uid_t owner, const StoreQuota &quota) {
            UniqueFd stagingFd = openDirectory(staging);
            return store->commit(QStringLiteral("session-a"), owner, stagingFd.get(), QString(), SnapshotTrigger::Manual, {}, quota);
        };
        StoreQuota quota;
        quota.bytesPerOwner = 3 * 1024 * 1024;
        quota.snapshotsPerOwner = 2;
        auto first = commitAs(1500, quota);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        const qint64 packsBefore = packBytes(storePath);

        // New content that does not fit: nothing of it stays.
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(2 * 1024 * 1024, 62)));
        auto over = commitAs(1500, quota);
        QVERIFY(!over.ok());
        QVERIFY2(over.errorMessage().contains(QLatin1String("quota")) && over.errorMessage().contains(QLatin1String("Delete snapshots")),
                 qPrintable(over.errorMessage()));
        QCOMPARE(packBytes(storePath), packsBefore);
        QCOMPARE(store->list()->size(), 1);
        QVERIFY(store->checkQuota(1500, quota).ok());
        // Another user's quota is their own.
        QVERIFY(commitAs(1501, quota).ok());

        // The count: the same content again fits in bytes, not in number.
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(2 * 1024 * 1024, 61)));
        QVERIFY(commitAs(1500, quota).ok());
        auto counted = store->checkQuota(1500, quota);
        QVERIFY(!counted.ok());
        QVERIFY2(counted.errorMessage().contains(QLatin1String("2 snapshots")), qPrintable(counted.errorMessage()));

        // Deleting frees what only the deleted snapshots used, without gc.
        const qint64 usedBefore = store->usage(1500)->storedBytes;
        auto released = store->release({first->id});
        QVERIFY2(released.ok(), qPrintable(released.errorMessage()));
        QCOMPARE(released->bytesFreed, 0); // the other snapshot of 1500 still uses it
        QCOMPARE(store->usage(1500)->storedBytes, usedBefore);
        const qint64 packsWithBoth = packBytes(storePath);
        const auto remaining = store->list();
        QVERIFY(remaining.ok());
        QList<qint64> ownersIds;
        for (const SnapshotInfo &info : *remaining) {
            if (info.owner == 1500) {
                ownersIds.append(info.id);
            }
        }
        QCOMPARE(ownersIds.size(), 1);
        released = store->release(ownersIds);
        QVERIFY2(released.ok(), qPrintable(released.errorMessage()));
        QCOMPARE(released->bytesFreed, usedBefore);
        QCOMPARE(packBytes(storePath), packsWithBoth - usedBefore);
        QCOMPARE(store->usage(1500)->storedBytes, 0);
        QVERIFY(store->checkQuota(1500, quota).ok());
        QCOMPARE(catalogTotalsMismatch(storePath + QStringLiteral("/catalog.sqlite")), QString());
    }

    void throughputOfALargeFile()
    {
        // 100 MiB that compresses somewhat, like memory pages: random runs and zero runs.
        const QString staging = freshPath(QStringLiteral("staging"));
        QByteArray pages = randomBytes(100 * 1024 * 1024, 19);
        for (qsizetype offset = 0; offset < pages.size(); offset += 3 * 4096) {
            std::memset(pages.data() + offset, 0, 4096);
        }
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), pages));
        pages.clear();
        auto store = openStore(freshPath(QStringLiteral("store")));
        QVERIFY(store);
        QElapsedTimer timer;
        timer.start();
        auto info = commitTree(*store, staging);
        QVERIFY2(info.ok(), qPrintable(info.errorMessage()));
        const qint64 commitMs = std::max<qint64>(1, timer.restart());
        const QString target = freshPath(QStringLiteral("restored"));
        QVERIFY(QDir().mkpath(target));
        UniqueFd targetFd = openDirectory(target);
        QVERIFY(store->materialize(info->id, targetFd.get()).ok());
        const qint64 materializeMs = std::max<qint64>(1, timer.elapsed());
        qInfo("100 MiB: commit %lld ms (%.0f MiB/s), stored %.1f MiB; materialize %lld ms (%.0f MiB/s)",
              commitMs,
              100000.0 / double(commitMs),
              double(info->storedBytes) / 1048576.0,
              materializeMs,
              100000.0 / double(materializeMs));
        QCOMPARE(QFileInfo(target + QStringLiteral("/pages-1.img")).size(), qint64(100 * 1024 * 1024));

        // 100 MiB of random memory: nothing compresses, every chunk is stored as it is.
        QVERIFY(writeFile(staging + QStringLiteral("/pages-1.img"), randomBytes(100 * 1024 * 1024, 29)));
        timer.restart();
        auto random = commitTree(*store, staging);
        QVERIFY2(random.ok(), qPrintable(random.errorMessage()));
        const qint64 randomMs = std::max<qint64>(1, timer.elapsed());
        qInfo("100 MiB incompressible: commit %lld ms (%.0f MiB/s), stored %.1f MiB",
              randomMs,
              100000.0 / double(randomMs),
              double(random->newBytes) / 1048576.0);
    }
};

REWIND_TEST_GUILESS_MAIN(SnapshotStoreTest)

#include "SnapshotStoreTest.moc"
