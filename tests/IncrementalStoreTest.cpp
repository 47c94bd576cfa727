// SPDX-License-Identifier: GPL-2.0-or-later
// An incremental dump stored whole: the store takes the pages the dump left
// to its parent by id (PageAssembly), and the snapshot restores with CRIU.
//
// This kernel has no soft-dirty tracking, so CRIU cannot take an
// incremental dump here. The real-CRIU test takes two whole dumps of a
// running counter and rewrites the second as CRIU's dump with --track-mem
// against the first would be (a page the same at the same address in the
// first is left to it): the one stand-in for the kernel. Everything after
// that is the product's path: the parent's pagemaps materialized,
// IncrementalDump::makeWhole, the commit, and CRIU restoring the result.
#include "CriuCheckpointer.h"
#include "CriuPagemap.h"
#include "IncrementalDump.h"
#include "MountTable.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestFiles.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <fcntl.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

constexpr qsizetype pageSize = 4096;
const QString session = QStringLiteral("incremental-test");
const QString counterFile = QStringLiteral("/tmp/counter");

QByteArray pages(std::initializer_list<quint32> seeds)
{
    QByteArray out;
    for (const quint32 seed : seeds) {
        out += randomBytes(pageSize, seed);
    }
    return out;
}

Result<SnapshotInfo> commitTree(SnapshotStore &store, const QString &root, const PageAssembly &assembly = {})
{
    UniqueFd staging = openDirectory(root);
    return store.commit(session, ::getuid(), staging.get(), QStringLiteral("label"), SnapshotTrigger::Manual, {}, {}, assembly);
}

/// Each page of a dump's memory by address, from one pagemap and its pages image.
QHash<quint64, QByteArray> pagesByAddress(const QString &images, const QString &pagemapName)
{
    QHash<quint64, QByteArray> byAddress;
    const auto pagemap = CriuPagemap::parse(readWholeFile(images + QLatin1Char('/') + pagemapName));
    if (!pagemap) {
        return byAddress;
    }
    const QByteArray content = readWholeFile(images + QLatin1Char('/') + QString::fromLatin1(pagemap->pagesFileName()));
    qsizetype offset = 0;
    for (const CriuPagemap::Entry &entry : pagemap->entries) {
        for (quint64 page = 0; page < entry.pages; ++page) {
            if (entry.flags & CriuPagemap::presentFlag) {
                byAddress.insert(entry.address + page * pageSize, content.mid(offset, pageSize));
                offset += pageSize;
            }
        }
    }
    return byAddress;
}

struct Rewritten {
    int fromParent = 0;
    int present = 0;
};

/// Rewrites the whole dump in images as CRIU's dump with memory tracking
/// against parentImages would have written it.
Rewritten leaveUnchangedPagesToParent(const QString &images, const QString &parentImages)
{
    Rewritten counts;
    const QStringList names = QDir(images).entryList({QStringLiteral("pagemap-*.img")}, QDir::Files);
    for (const QString &name : names) {
        const auto parentPages = pagesByAddress(parentImages, name);
        auto pagemap = CriuPagemap::parse(readWholeFile(images + QLatin1Char('/') + name));
        if (!pagemap || parentPages.isEmpty()) {
            continue;
        }
        const QString pagesPath = images + QLatin1Char('/') + QString::fromLatin1(pagemap->pagesFileName());
        const QByteArray content = readWholeFile(pagesPath);
        QList<CriuPagemap::Entry> entries;
        QByteArray changed;
        qsizetype offset = 0;
        for (const CriuPagemap::Entry &entry : std::as_const(pagemap->entries)) {
            for (quint64 page = 0; page < entry.pages; ++page) {
                const quint64 address = entry.address + page * pageSize;
                const QByteArray bytes = content.mid(offset, pageSize);
                offset += pageSize;
                const bool same = parentPages.value(address) == bytes;
                const quint32 flags = same ? CriuPagemap::parentFlag : CriuPagemap::presentFlag;
                if (!entries.isEmpty() && entries.last().flags == flags && entries.last().address + entries.last().pages * pageSize == address) {
                    ++entries.last().pages;
                } else {
                    entries.append({address, 1, flags});
                }
                if (same) {
                    ++counts.fromParent;
                } else {
                    changed += bytes;
                    ++counts.present;
                }
            }
        }
        pagemap->entries = entries;
        writeFile(images + QLatin1Char('/') + name, pagemap->serialize());
        writeFile(pagesPath, changed);
    }
    return counts;
}

/// Microseconds since boot, as CRIU's inventory keeps the time of a dump.
quint64 uptimeMicroseconds()
{
    const QList<QByteArray> fields = readWholeFile(QStringLiteral("/proc/uptime")).split(' ');
    return quint64(fields.value(0).toDouble() * 1e6);
}

/// Adds dump_uptime (field 8) to an inventory.img, as CRIU writes it for a
/// dump with memory tracking (and reads it of a parent to tell reused pids).
bool addDumpUptime(const QString &path, quint64 uptime)
{
    QByteArray image = readWholeFile(path);
    // The inventory's magic, then a u32 length and the message.
    if (image.size() < 8) {
        return false;
    }
    QByteArray field(1, char(8 << 3));
    quint64 value = uptime;
    while (value >= 0x80) {
        field.append(char((value & 0x7f) | 0x80));
        value >>= 7;
    }
    field.append(char(value));
    const quint32 length = qFromLittleEndian<quint32>(image.constData() + 4);
    if (qsizetype(length) != image.size() - 8) {
        return false;
    }
    image.append(field);
    const quint32 grown = qToLittleEndian<quint32>(length + quint32(field.size()));
    image.replace(4, 4, reinterpret_cast<const char *>(&grown), 4);
    return writeFile(path, image);
}

/// A store in a scratch directory with one snapshot, of images/pages-1.img
/// made of parentPages: the parent of what a test assembles.
struct StoreWithParent {
    QTemporaryDir work;
    std::unique_ptr<SnapshotStore> store;
    SnapshotInfo parent;
    QString error;

    static StoreWithParent make(std::initializer_list<quint32> parentPages)
    {
        StoreWithParent made;
        auto store = SnapshotStore::open(made.work.filePath(QStringLiteral("store")));
        if (!made.work.isValid() || !store) {
            made.error = store ? QStringLiteral("no scratch directory") : store.errorMessage();
            return made;
        }
        made.store = std::move(*store);
        if (!writeFile(made.work.filePath(QStringLiteral("first/images/pages-1.img")), pages(parentPages))) {
            made.error = QStringLiteral("cannot write the parent's pages");
            return made;
        }
        const auto parent = commitTree(*made.store, made.work.filePath(QStringLiteral("first")));
        made.error = parent ? QString() : parent.errorMessage();
        made.parent = parent ? *parent : SnapshotInfo();
        return made;
    }
};

/// A counter in a cell of its own, and the mounts its dumps keep external.
struct Counter {
    TestCell cell;
    QStringList externalMounts;
    QString error;

    static Counter start()
    {
        Counter counter;
        counter.cell = TestCell::start({QStringLiteral(COUNTER_PATH), counterFile}, &counter.error);
        if (counter.cell.valid()) {
            const auto mounts = MountTable::read(counter.cell.pid());
            counter.externalMounts = mounts ? MountTable::externalMountPoints(*mounts) : QStringList();
            counter.error = mounts ? QString() : mounts.errorMessage();
        }
        return counter;
    }

    /// A whole dump into root/images, against parentImages if given.
    Result<void> dumpInto(const QString &root, const QString &parentImages = {}) const
    {
        if (!QDir().mkpath(root + QStringLiteral("/images"))) {
            return Error{QStringLiteral("cannot create ") + root};
        }
        UniqueFd images = openDirectory(root + QStringLiteral("/images"));
        DumpRequest request;
        request.rootPid = cell.pid();
        request.imagesDirFd = images.get();
        request.externalMounts = externalMounts;
        request.parentImages = parentImages;
        return CriuCheckpointer::dump(request);
    }
};

bool copyTree(const QString &from, const QString &to)
{
    const QDir source(from);
    if (!QDir().mkpath(to)) {
        return false;
    }
    for (const QFileInfo &entry : source.entryInfoList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System)) {
        const QString target = to + QLatin1Char('/') + entry.fileName();
        if (entry.isDir() ? !copyTree(entry.filePath(), target) : !QFile::copy(entry.filePath(), target)) {
            return false;
        }
    }
    return true;
}

} // namespace

class IncrementalStoreTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
    }

    void assembledImageTakesTheParentsPagesById()
    {
        auto fixture = StoreWithParent::make({1, 2, 3, 4});
        QVERIFY2(fixture.error.isEmpty(), qPrintable(fixture.error));
        QTemporaryDir &work = fixture.work;
        SnapshotStore &store = *fixture.store;
        const SnapshotInfo &parent = fixture.parent;

        // Pages 2 and 3 of the parent, a changed page, then the parent's page 1.
        QVERIFY(writeFile(work.filePath(QStringLiteral("second/images/pages-7.img")), pages({99})));
        PageAssembly assembly;
        assembly.parentSnapshot = parent.id;
        assembly.files.insert(QStringLiteral("images/pages-7.img"), AssembledPages{QStringLiteral("images/pages-1.img"), {{2, 1}, {1, -1}, {1, 0}}});
        const auto second = commitTree(store, work.filePath(QStringLiteral("second")), assembly);
        QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
        // Only the changed page is new to the store.
        QVERIFY(second->addedBytes.has_value());
        QVERIFY2(*second->addedBytes > 0 && *second->addedBytes <= pageSize + 64, qPrintable(QString::number(*second->addedBytes)));
        QCOMPARE(second->logicalBytes, 4 * pageSize);

        const QString whole = work.filePath(QStringLiteral("whole"));
        QVERIFY(QDir().mkpath(whole));
        UniqueFd target = openDirectory(whole);
        const auto materialized = store.materialize(second->id, target.get());
        QVERIFY2(materialized.ok(), qPrintable(materialized.errorMessage()));
        QCOMPARE(readWholeFile(whole + QStringLiteral("/images/pages-7.img")), pages({2, 3, 99, 1}));
    }

    void assembliesThatDoNotFitAreRefused_data()
    {
        QTest::addColumn<bool>("againstOlder");
        QTest::addColumn<QList<PageRun>>("runs");
        QTest::addColumn<QString>("named");
        QTest::newRow("parent not the newest") << true << QList<PageRun>{{1, 0}, {1, -1}} << QStringLiteral("not the newest");
        QTest::newRow("past the parent's end") << false << QList<PageRun>{{2, 3}, {1, -1}} << QStringLiteral("does not fit");
        QTest::newRow("a negative page count") << false << QList<PageRun>{{quint64(-1), 1}, {1, -1}} << QStringLiteral("does not fit");
        QTest::newRow("fewer staged pages than staged") << false << QList<PageRun>{{1, 0}} << QStringLiteral("does not fit");
        QTest::newRow("more staged pages than staged") << false << QList<PageRun>{{3, -1}} << QStringLiteral("does not fit");
        QTest::newRow("an empty run") << false << QList<PageRun>{{0, -1}, {1, -1}} << QStringLiteral("does not fit");
        QTest::newRow("staged runs that wrap around") << false << QList<PageRun>{{quint64(1) << 63, -1}, {(quint64(1) << 63) + 1, -1}}
                                                      << QStringLiteral("does not fit");
    }

    void assembliesThatDoNotFitAreRefused()
    {
        QFETCH(bool, againstOlder);
        QFETCH(QList<PageRun>, runs);
        QFETCH(QString, named);
        auto fixture = StoreWithParent::make({1, 2, 3, 4});
        QVERIFY2(fixture.error.isEmpty(), qPrintable(fixture.error));
        QTemporaryDir &work = fixture.work;
        SnapshotStore &store = *fixture.store;
        const SnapshotInfo &parent = fixture.parent;
        if (againstOlder) {
            QVERIFY(commitTree(store, work.filePath(QStringLiteral("first"))).ok());
        }
        const auto before = store.list(session);
        QVERIFY(before.ok());

        QVERIFY(writeFile(work.filePath(QStringLiteral("second/images/pages-7.img")), pages({99})));
        PageAssembly assembly;
        assembly.parentSnapshot = parent.id;
        assembly.files.insert(QStringLiteral("images/pages-7.img"), AssembledPages{QStringLiteral("images/pages-1.img"), runs});
        const auto refused = commitTree(store, work.filePath(QStringLiteral("second")), assembly);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(named), qPrintable(refused.errorMessage()));
        const auto after = store.list(session);
        QVERIFY(after.ok());
        QCOMPARE(after->size(), before->size());
        const auto checked = store.verify();
        QVERIFY2(checked.ok(), qPrintable(checked.errorMessage()));
    }

    void anAssembledImageMissingFromTheDumpIsRefused()
    {
        auto fixture = StoreWithParent::make({1, 2});
        QVERIFY2(fixture.error.isEmpty(), qPrintable(fixture.error));
        QTemporaryDir &work = fixture.work;
        SnapshotStore &store = *fixture.store;
        const SnapshotInfo &parent = fixture.parent;
        QVERIFY(writeFile(work.filePath(QStringLiteral("second/images/pagemap-1.img")), QByteArray("map")));
        PageAssembly assembly;
        assembly.parentSnapshot = parent.id;
        assembly.files.insert(QStringLiteral("images/pages-7.img"), AssembledPages{QStringLiteral("images/pages-1.img"), {{2, 0}}});
        const auto refused = commitTree(store, work.filePath(QStringLiteral("second")), assembly);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(QLatin1String("missing")), qPrintable(refused.errorMessage()));
        QCOMPARE(store.list(session)->size(), 1);
    }

    // CRIU reads the parent as the engine lays it out beside the images
    // (MaterializeScope::MemoryMaps, "../parent/images"), also where the
    // kernel cannot track pages: it links it, reads its inventory to tell
    // reused pids and opens its pagemaps, and dumps every page.
    void criuDumpsAgainstTheParentAsTheEngineLaysItOut()
    {
        const Counter counter = Counter::start();
        QVERIFY2(counter.error.isEmpty(), qPrintable(counter.error));
        QTRY_VERIFY(counter.cell.counter(counterFile) >= 5);
        QTemporaryDir work;
        QVERIFY(work.isValid());
        auto store = SnapshotStore::open(work.filePath(QStringLiteral("store")));
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        const QString first = work.filePath(QStringLiteral("first"));
        const auto firstDump = counter.dumpInto(first);
        QVERIFY2(firstDump.ok(), qPrintable(firstDump.errorMessage()));
        const quint64 firstDumpUptime = uptimeMicroseconds();
        // What CRIU writes of a dump with memory tracking, which this kernel refuses.
        QVERIFY(addDumpUptime(first + QStringLiteral("/images/inventory.img"), firstDumpUptime));
        const auto parent = commitTree(**store, first);
        QVERIFY2(parent.ok(), qPrintable(parent.errorMessage()));

        auto layParent = [&](const QString &root) {
            const QString parentDir = root + QStringLiteral("/parent");
            UniqueFd target = QDir().mkpath(parentDir) ? openDirectory(parentDir) : UniqueFd();
            return (*store)->materialize(parent->id, target.get(), SnapshotStore::MaterializeScope::MemoryMaps);
        };
        // Without the parent's inventory CRIU cannot tell reused pids: it refuses.
        const QString withoutInventory = work.filePath(QStringLiteral("without-inventory"));
        QVERIFY(layParent(withoutInventory).ok());
        QVERIFY(QFile::remove(withoutInventory + QStringLiteral("/parent/images/inventory.img")));
        QVERIFY(!counter.dumpInto(withoutInventory, QStringLiteral("../parent/images")).ok());

        const QString second = work.filePath(QStringLiteral("second"));
        const auto laid = layParent(second);
        QVERIFY2(laid.ok(), qPrintable(laid.errorMessage()));
        const auto secondDump = counter.dumpInto(second, QStringLiteral("../parent/images"));
        QVERIFY2(secondDump.ok(), qPrintable(secondDump.ok() ? QString() : secondDump.error().fullText()));
        QCOMPARE(QFileInfo(second + QStringLiteral("/images/parent")).symLinkTarget(),
                 QFileInfo(second + QStringLiteral("/parent/images")).canonicalFilePath());

        UniqueFd images = openDirectory(second + QStringLiteral("/images"));
        UniqueFd parentImages = openDirectory(second + QStringLiteral("/parent/images"));
        const auto assembly = IncrementalDump::makeWhole(images.get(), parentImages.get(), parent->id);
        QVERIFY2(assembly.ok(), qPrintable(assembly.errorMessage()));
        // Untracked, every page is in the dump.
        QVERIFY(assembly->files.isEmpty());
        QVERIFY(!QFileInfo(second + QStringLiteral("/images/parent")).isSymLink());
        QVERIFY(QDir(second + QStringLiteral("/parent")).removeRecursively());
        const auto stored = commitTree(**store, second, *assembly);
        QVERIFY2(stored.ok(), qPrintable(stored.errorMessage()));
    }

    void trackedDumpOfARunningProcessIsStoredWholeAndRestores()
    {
        Counter counter = Counter::start();
        QVERIFY2(counter.error.isEmpty(), qPrintable(counter.error));
        TestCell &cell = counter.cell;
        QTRY_VERIFY(cell.counter(counterFile) >= 5);
        QTemporaryDir work;
        QVERIFY(work.isValid());
        auto store = SnapshotStore::open(work.filePath(QStringLiteral("store")));
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));

        const QString first = work.filePath(QStringLiteral("first"));
        const auto firstDump = counter.dumpInto(first);
        QVERIFY2(firstDump.ok(), qPrintable(firstDump.errorMessage()));
        const auto parent = commitTree(**store, first);
        QVERIFY2(parent.ok(), qPrintable(parent.errorMessage()));

        const long atFirst = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > atFirst + 3);
        const long beforeSecond = cell.counter(counterFile);
        const QString second = work.filePath(QStringLiteral("second"));
        const auto secondDump = counter.dumpInto(second);
        QVERIFY2(secondDump.ok(), qPrintable(secondDump.ok() ? QString() : secondDump.error().fullText()));

        // The dump CRIU would have taken with the kernel tracking pages.
        const QString incremental = work.filePath(QStringLiteral("incremental"));
        QVERIFY(copyTree(second, incremental));
        const Rewritten rewritten = leaveUnchangedPagesToParent(incremental + QStringLiteral("/images"), first + QStringLiteral("/images"));
        QVERIFY2(rewritten.fromParent > 0 && rewritten.present > 0, qPrintable(QStringLiteral("%1 %2").arg(rewritten.fromParent).arg(rewritten.present)));
        QVERIFY(::symlink("../parent/images", QFile::encodeName(incremental + QStringLiteral("/images/parent")).constData()) == 0);

        // What the engine gives CRIU of the parent: inventory and pagemaps, memory images empty.
        const QString parentMaps = work.filePath(QStringLiteral("parent"));
        QVERIFY(QDir().mkpath(parentMaps));
        UniqueFd parentMapsDir = openDirectory(parentMaps);
        const auto maps = (*store)->materialize(parent->id, parentMapsDir.get(), SnapshotStore::MaterializeScope::MemoryMaps);
        QVERIFY2(maps.ok(), qPrintable(maps.errorMessage()));
        const QFileInfoList parentFiles = QDir(parentMaps + QStringLiteral("/images")).entryInfoList(QDir::Files);
        QVERIFY(!parentFiles.isEmpty());
        for (const QFileInfo &file : parentFiles) {
            const QString name = file.fileName();
            QVERIFY2(name == QLatin1String("inventory.img") || name.startsWith(QLatin1String("pagemap-")) || name.startsWith(QLatin1String("pages-")),
                     qPrintable(name));
            QVERIFY2(!name.startsWith(QLatin1String("pages-")) || file.size() == 0, qPrintable(name));
        }
        QVERIFY(QFileInfo::exists(parentMaps + QStringLiteral("/images/inventory.img")));

        UniqueFd incrementalImages = openDirectory(incremental + QStringLiteral("/images"));
        UniqueFd parentImages = openDirectory(parentMaps + QStringLiteral("/images"));
        const auto assembly = IncrementalDump::makeWhole(incrementalImages.get(), parentImages.get(), parent->id);
        QVERIFY2(assembly.ok(), qPrintable(assembly.errorMessage()));
        QVERIFY(!assembly->files.isEmpty());
        const auto stored = commitTree(**store, incremental, *assembly);
        QVERIFY2(stored.ok(), qPrintable(stored.errorMessage()));

        // Page for page what CRIU's whole second dump holds.
        const QString whole = work.filePath(QStringLiteral("whole"));
        QVERIFY(QDir().mkpath(whole));
        UniqueFd wholeDir = openDirectory(whole);
        const auto materialized = (*store)->materialize(stored->id, wholeDir.get());
        QVERIFY2(materialized.ok(), qPrintable(materialized.errorMessage()));
        const QString secondImages = second + QStringLiteral("/images");
        const QString wholeImages = whole + QStringLiteral("/images");
        QCOMPARE(QDir(wholeImages).entryList(QDir::Files), QDir(secondImages).entryList(QDir::Files));
        for (const QString &name : QDir(secondImages).entryList(QDir::Files)) {
            if (name.startsWith(QLatin1String("pagemap-"))) {
                const auto expected = pagesByAddress(secondImages, name);
                QVERIFY(!expected.isEmpty());
                QVERIFY2(pagesByAddress(wholeImages, name) == expected, qPrintable(name));
            } else if (!name.startsWith(QLatin1String("pages-"))) {
                QVERIFY2(readWholeFile(wholeImages + QLatin1Char('/') + name) == readWholeFile(secondImages + QLatin1Char('/') + name), qPrintable(name));
            }
        }

        // And CRIU restores it: the counter carries on from the second dump.
        cell.kill();
        UniqueFd restoreImages = openDirectory(wholeImages);
        RestoreRequest restore;
        restore.imagesDirFd = restoreImages.get();
        restore.externalMounts = counter.externalMounts;
        const auto restored = CriuCheckpointer::restore(restore);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        TestCell restoredCell(*restored);
        QTRY_VERIFY(restoredCell.counter(counterFile) > 0);
        const long resumed = restoredCell.counter(counterFile);
        QVERIFY2(resumed >= beforeSecond, qPrintable(QStringLiteral("restored counter %1, second dump at %2").arg(resumed).arg(beforeSecond)));
        QTRY_VERIFY(restoredCell.counter(counterFile) > resumed);
    }
};

REWIND_TEST_GUILESS_MAIN(IncrementalStoreTest)
#include "IncrementalStoreTest.moc"
