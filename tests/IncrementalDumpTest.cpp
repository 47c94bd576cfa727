// SPDX-License-Identifier: GPL-2.0-or-later
// IncrementalDump::makeWhole on pagemaps written as CRIU writes those of a
// dump with a parent: which pages come from where, the pagemaps made
// whole, and dumps it cannot make whole refused. (With CRIU's own images
// and a store: IncrementalStoreTest.)
#include "IncrementalDump.h"
#include "CriuPagemap.h"
#include "TestFiles.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace Rewind;

namespace
{

constexpr quint32 present = CriuPagemap::presentFlag;
constexpr quint32 inParent = CriuPagemap::parentFlag;

bool writePagemap(const QString &directory, const QString &name, quint32 pagesId, const QList<CriuPagemap::Entry> &entries)
{
    CriuPagemap pagemap;
    pagemap.pagesId = pagesId;
    pagemap.entries = entries;
    return writeFile(directory + QLatin1Char('/') + name, pagemap.serialize());
}

QList<CriuPagemap::Entry> entriesIn(const QString &path)
{
    const auto pagemap = CriuPagemap::parse(readWholeFile(path));
    return pagemap ? pagemap->entries : QList<CriuPagemap::Entry>();
}

struct Dirs {
    QTemporaryDir root;
    QString child = root.path() + QStringLiteral("/images");
    QString parent = root.path() + QStringLiteral("/parent");
    bool make()
    {
        return root.isValid() && QDir().mkpath(child) && QDir().mkpath(parent);
    }
};

} // namespace

namespace Rewind
{
char *toString(const PageRun &run)
{
    return qstrdup(QByteArray::number(run.pages) + "@" + QByteArray::number(run.parentPage));
}
}

class IncrementalDumpTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void pagesComeFromTheParentOrTheDump()
    {
        Dirs dirs;
        QVERIFY(dirs.make());
        // The parent's pages image: 0x10000-0x13fff are its pages 0-3, 0x20000-0x21fff its pages 4-5.
        QVERIFY(writePagemap(dirs.parent, QStringLiteral("pagemap-1.img"), 5, {{0x10000, 4, present}, {0x20000, 2, present}}));
        QVERIFY(writePagemap(dirs.child,
                             QStringLiteral("pagemap-1.img"),
                             9,
                             {{0x10000, 2, inParent}, {0x12000, 1, present}, {0x13000, 1, inParent}, {0x20000, 2, inParent}, {0x30000, 1, present}}));
        // A process new since the parent: nothing of it is in the parent.
        QVERIFY(writePagemap(dirs.child, QStringLiteral("pagemap-2.img"), 10, {{0x40000, 3, present}}));
        const QByteArray untouched = readWholeFile(dirs.child + QStringLiteral("/pagemap-2.img"));
        QVERIFY(::symlink("../parent", QFile::encodeName(dirs.child + QStringLiteral("/parent")).constData()) == 0);

        UniqueFd child = openDirectory(dirs.child);
        UniqueFd parent = openDirectory(dirs.parent);
        const auto assembly = IncrementalDump::makeWhole(child.get(), parent.get(), 42);
        QVERIFY2(assembly.ok(), qPrintable(assembly.errorMessage()));
        QCOMPARE(assembly->parentSnapshot, 42);
        QCOMPARE(assembly->files.keys(), QList<QString>{QStringLiteral("images/pages-9.img")});
        const AssembledPages &pages = assembly->files.value(QStringLiteral("images/pages-9.img"));
        QCOMPARE(pages.parentPath, QStringLiteral("images/pages-5.img"));
        // Parent pages 3 and 4 follow each other there: one run.
        const QList<PageRun> expected{{2, 0}, {1, -1}, {3, 3}, {1, -1}};
        QCOMPARE(pages.runs, expected);

        const QList<CriuPagemap::Entry> whole{{0x10000, 2, present},
                                              {0x12000, 1, present},
                                              {0x13000, 1, present},
                                              {0x20000, 2, present},
                                              {0x30000, 1, present}};
        QCOMPARE(entriesIn(dirs.child + QStringLiteral("/pagemap-1.img")), whole);
        QCOMPARE(readWholeFile(dirs.child + QStringLiteral("/pagemap-2.img")), untouched);
        QVERIFY(!QFileInfo(dirs.child + QStringLiteral("/parent")).isSymLink());
        QCOMPARE(QDir(dirs.child).entryList(QDir::Files | QDir::System | QDir::Hidden).size(), 2);
    }

    void dumpsItCannotMakeWholeAreRefused_data()
    {
        QTest::addColumn<QList<CriuPagemap::Entry>>("childEntries");
        QTest::addColumn<QList<CriuPagemap::Entry>>("parentEntries");
        QTest::addColumn<QString>("named");
        const QList<CriuPagemap::Entry> parent{{0x10000, 4, present}};
        QTest::newRow("a page the parent lacks") << QList<CriuPagemap::Entry>{{0x12000, 4, inParent}} << parent << QStringLiteral("14000");
        QTest::newRow("before the parent's pages") << QList<CriuPagemap::Entry>{{0x8000, 1, inParent}} << parent << QStringLiteral("8000");
        QTest::newRow("lazy pages") << QList<CriuPagemap::Entry>{{0x10000, 1, inParent}, {0x11000, 1, CriuPagemap::lazyFlag}} << parent
                                    << QStringLiteral("flags 2");
        QTest::newRow("a parent that is not whole") << QList<CriuPagemap::Entry>{{0x10000, 1, inParent}} << QList<CriuPagemap::Entry>{{0x10000, 1, inParent}}
                                                    << QStringLiteral("not whole");
        QTest::newRow("no parent pagemap") << QList<CriuPagemap::Entry>{{0x10000, 1, inParent}} << QList<CriuPagemap::Entry>()
                                           << QStringLiteral("pagemap-1.img");
    }

    void dumpsItCannotMakeWholeAreRefused()
    {
        QFETCH(QList<CriuPagemap::Entry>, childEntries);
        QFETCH(QList<CriuPagemap::Entry>, parentEntries);
        QFETCH(QString, named);
        Dirs dirs;
        QVERIFY(dirs.make());
        QVERIFY(writePagemap(dirs.child, QStringLiteral("pagemap-1.img"), 2, childEntries));
        if (!parentEntries.isEmpty()) {
            QVERIFY(writePagemap(dirs.parent, QStringLiteral("pagemap-1.img"), 1, parentEntries));
        }
        UniqueFd child = openDirectory(dirs.child);
        UniqueFd parent = openDirectory(dirs.parent);
        const auto assembly = IncrementalDump::makeWhole(child.get(), parent.get(), 7);
        QVERIFY(!assembly.ok());
        QVERIFY2(assembly.errorMessage().contains(named), qPrintable(assembly.errorMessage()));
    }

    void aDamagedPagemapIsRefused()
    {
        Dirs dirs;
        QVERIFY(dirs.make());
        QVERIFY(writeFile(dirs.child + QStringLiteral("/pagemap-1.img"), QByteArray("\x19\x43\x56\x54\x25\x40\x08\x56\xff\xff", 10)));
        UniqueFd child = openDirectory(dirs.child);
        UniqueFd parent = openDirectory(dirs.parent);
        const auto assembly = IncrementalDump::makeWhole(child.get(), parent.get(), 7);
        QVERIFY(!assembly.ok());
        QVERIFY2(assembly.errorMessage().contains(QLatin1String("damaged")), qPrintable(assembly.errorMessage()));
    }
};

REWIND_TEST_GUILESS_MAIN(IncrementalDumpTest)
#include "IncrementalDumpTest.moc"
