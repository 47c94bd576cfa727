// SPDX-License-Identifier: GPL-2.0-or-later
// Where staging goes: memory only where it leaves the machine enough, and a
// staging directory in memory that holds files, refuses more than its limit
// and leaves nothing behind.
#include "StagingPlacement.h"
#include "StagingDirectory.h"

#include <QDir>
#include <QFileInfo>
#include <QTest>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr qint64 mib = 1024 * 1024;
constexpr qint64 gib = 1024 * mib;
} // namespace

class StagingPlacementTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void choosesMemoryOnlyWithRoomToSpare_data()
    {
        QTest::addColumn<qint64>("expected");
        QTest::addColumn<qint64>("total");
        QTest::addColumn<qint64>("available");
        QTest::addColumn<bool>("inMemory");
        QTest::addColumn<qint64>("limit");
        // The reserve is an eighth of the memory, at least 256 MiB; the images a quarter more than expected.
        QTest::newRow("plenty") << 2 * gib << 24 * gib << 20 * gib << true << 17 * gib;
        QTest::newRow("just fits") << 800 * mib << 8 * gib << (1024 + 1000) * mib << true << 1000 * mib;
        QTest::newRow("a byte too much") << 800 * mib + 4 << 8 * gib << (1024 + 1000) * mib << false << qint64(0);
        QTest::newRow("small machine, reserve 256 MiB") << 100 * mib << 1 * gib << 400 * mib << true << 144 * mib;
        QTest::newRow("nothing available") << 1 * mib << 4 * gib << 100 * mib << false << qint64(0);
        QTest::newRow("size unknown") << qint64(0) << 24 * gib << 20 * gib << false << qint64(0);
    }
    void choosesMemoryOnlyWithRoomToSpare()
    {
        QFETCH(qint64, expected);
        QFETCH(qint64, total);
        QFETCH(qint64, available);
        QFETCH(bool, inMemory);
        QFETCH(qint64, limit);
        const StagingPlacement placement = StagingPlacement::choose(expected, MemoryInfo{total, available});
        QCOMPARE(placement.place == StagingPlace::Memory, inMemory);
        QCOMPARE(placement.limitBytes, limit);
    }

    void unknownMemoryMeansDisk()
    {
        QCOMPARE(StagingPlacement::choose(mib, std::nullopt).place, StagingPlace::Disk);
    }

    void readsThisMachinesMemory()
    {
        const auto memory = MemoryInfo::read();
        QVERIFY(memory.has_value());
        QVERIFY(memory->totalBytes > 0);
        QVERIFY(memory->availableBytes > 0 && memory->availableBytes <= memory->totalBytes);
    }

    void memoryStagingHoldsFilesUpToItsLimit_data()
    {
        QTest::addColumn<StagingPages>("pages");
        QTest::newRow("small pages") << StagingPages::Small;
        QTest::newRow("huge pages where a file covers them") << StagingPages::Large;
    }

    void memoryStagingHoldsFilesUpToItsLimit()
    {
        QFETCH(StagingPages, pages);
        auto staging = StagingDirectory::createInMemory(4 * mib, pages);
        QVERIFY2(staging.ok(), qPrintable(staging.errorMessage()));
        QCOMPARE(staging->place(), StagingPlace::Memory);
        struct stat status{};
        QCOMPARE(::fstat(staging->fd(), &status), 0);
        QCOMPARE(status.st_mode & 07777, mode_t(0700));

        auto images = staging->makeSubdirectory("images");
        QVERIFY2(images.ok(), qPrintable(images.errorMessage()));
        const int fd = ::openat(images->get(), "pages-1.img", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        QVERIFY(fd >= 0);
        const QByteArray megabyte(int(mib), 'x');
        QCOMPARE(::write(fd, megabyte.constData(), std::size_t(megabyte.size())), ssize_t(megabyte.size()));
        QVERIFY(staging->bytesInMemory() >= mib);
        QVERIFY(staging->bytesInMemory() < 2 * mib);

        // The limit holds: a file system that is full, not a machine out of memory.
        ssize_t written = 0;
        for (int i = 0; i < 8 && written >= 0; ++i) {
            written = ::write(fd, megabyte.constData(), std::size_t(megabyte.size()));
        }
        QCOMPARE(written, ssize_t(-1));
        QCOMPARE(errno, ENOSPC);
        ::close(fd);
    }

    void diskStagingKeepsNothingInMemory()
    {
        const QString parent = QDir::tempPath() + QStringLiteral("/rewind-staging-test-") + QString::number(::getpid());
        {
            auto staging = StagingDirectory::create(parent);
            QVERIFY2(staging.ok(), qPrintable(staging.errorMessage()));
            QCOMPARE(staging->place(), StagingPlace::Disk);
            QCOMPARE(staging->bytesInMemory(), qint64(0));
            QCOMPARE(QDir(parent).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 1);
        }
        QCOMPARE(QDir(parent).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 0);
        QDir(parent).removeRecursively();
    }

    // What an incremental dump needed of its parent goes before the commit,
    // and a link in it takes nothing outside along.
    void subdirectoryGoesWithEverythingInItButNotWhatLinksLeadTo()
    {
        const QString outside = QDir::tempPath() + QStringLiteral("/rewind-staging-outside-") + QString::number(::getpid());
        QVERIFY(QDir().mkpath(outside + QStringLiteral("/kept")));
        auto staging = StagingDirectory::createInMemory(4 * mib, StagingPages::Small);
        QVERIFY2(staging.ok(), qPrintable(staging.errorMessage()));
        auto parent = staging->makeSubdirectory("parent");
        QVERIFY2(parent.ok(), qPrintable(parent.errorMessage()));
        QCOMPARE(::mkdirat(parent->get(), "images", 0700), 0);
        const int file = ::openat(parent->get(), "images/pagemap-1.img", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        QVERIFY(file >= 0);
        ::close(file);
        QCOMPARE(::symlinkat(QFile::encodeName(outside).constData(), parent->get(), "images/link"), 0);
        QCOMPARE(::symlinkat(QFile::encodeName(outside + QStringLiteral("/kept")).constData(), parent->get(), "dirlink"), 0);

        const auto removed = staging->removeSubdirectory("parent");
        QVERIFY2(removed.ok(), qPrintable(removed.errorMessage()));
        struct stat status{};
        QCOMPARE(::fstatat(staging->fd(), "parent", &status, AT_SYMLINK_NOFOLLOW), -1);
        QCOMPARE(errno, ENOENT);
        QVERIFY(QFileInfo(outside + QStringLiteral("/kept")).isDir());
        // Nothing there: nothing to do.
        QVERIFY(staging->removeSubdirectory("parent").ok());
        QDir(outside).removeRecursively();
    }
};

QTEST_GUILESS_MAIN(StagingPlacementTest)
#include "StagingPlacementTest.moc"
