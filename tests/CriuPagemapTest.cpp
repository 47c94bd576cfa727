// SPDX-License-Identifier: GPL-2.0-or-later
// CriuPagemap: CRIU's pagemap images read and written back, and refused
// where damaged. (Real CRIU pagemaps are read in IncrementalStoreTest.)
#include "CriuPagemap.h"
#include "TestSkip.h"

#include <QTest>
#include <QtEndian>

using namespace Rewind;

namespace
{

QByteArray varint(quint64 value)
{
    QByteArray out;
    while (value >= 0x80) {
        out.append(char(quint8(value) | 0x80));
        value >>= 7;
    }
    out.append(char(value));
    return out;
}

QByteArray u32(quint32 value)
{
    const quint32 little = qToLittleEndian(value);
    return QByteArray(reinterpret_cast<const char *>(&little), 4);
}

QByteArray framed(const QList<QByteArray> &messages)
{
    QByteArray image = u32(0x54564319) + u32(0x56084025);
    for (const QByteArray &message : messages) {
        image += u32(quint32(message.size())) + message;
    }
    return image;
}

QByteArray head(quint32 pagesId)
{
    return varint(1 << 3) + varint(pagesId);
}

} // namespace

class CriuPagemapTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void writtenImageReadsBack()
    {
        CriuPagemap pagemap;
        pagemap.pagesId = 12;
        pagemap.entries = {{0x400000, 3, CriuPagemap::presentFlag},
                           {0x7ffd0000, 1, CriuPagemap::parentFlag},
                           {0x7ffe0000, (quint64(1) << 33), CriuPagemap::presentFlag}};
        const auto read = CriuPagemap::parse(pagemap.serialize());
        QVERIFY2(read.ok(), qPrintable(read.errorMessage()));
        QCOMPARE(read->pagesId, 12U);
        QCOMPARE(read->entries, pagemap.entries);
        QCOMPARE(read->pagesFileName(), QByteArray("pages-12.img"));
        QVERIFY(read->referencesParent());
    }

    void olderImagesReadAsCriuReadsThem()
    {
        // compat_nr_pages without nr_pages; in_parent without flags; neither flag: present.
        const QByteArray inParent = varint(1 << 3) + varint(0x1000) + varint(2 << 3) + varint(2) + varint(3 << 3) + varint(1);
        const QByteArray plain = varint(1 << 3) + varint(0x5000) + varint(2 << 3) + varint(4);
        const auto read = CriuPagemap::parse(framed({head(3), inParent, plain}));
        QVERIFY2(read.ok(), qPrintable(read.errorMessage()));
        const QList<CriuPagemap::Entry> expected{{0x1000, 2, CriuPagemap::parentFlag}, {0x5000, 4, CriuPagemap::presentFlag}};
        QCOMPARE(read->entries, expected);
    }

    void damagedImagesAreRefused_data()
    {
        QTest::addColumn<QByteArray>("image");
        const QByteArray entry = varint(1 << 3) + varint(0x2000) + varint(2 << 3) + varint(1);
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("other magic") << (u32(0x54564319) + u32(0x12345678) + u32(2) + head(1));
        QTest::newRow("no head") << framed({});
        QTest::newRow("length past the end") << (framed({head(1)}) + u32(1000) + entry);
        QTest::newRow("cut inside a length") << (framed({head(1)}) + QByteArray("\x05\x00", 2));
        QTest::newRow("unaligned address") << framed({head(1), varint(1 << 3) + varint(0x2001) + varint(2 << 3) + varint(1)});
        QTest::newRow("no pages") << framed({head(1), varint(1 << 3) + varint(0x2000) + varint(2 << 3) + varint(0)});
        QTest::newRow("overlapping entries") << framed({head(1), entry, varint(1 << 3) + varint(0x1000) + varint(2 << 3) + varint(2)});
        QTest::newRow("past the top of memory") << framed(
            {head(1), varint(1 << 3) + varint(0xfffffffffffff000ULL) + varint(2 << 3) + varint(1) + varint(5 << 3) + varint(2)});
        QTest::newRow("truncated varint") << framed({head(1), QByteArray("\x08\xff", 2)});
        QTest::newRow("pages id too big") << framed({varint(1 << 3) + varint(quint64(1) << 40)});
    }

    void damagedImagesAreRefused()
    {
        QFETCH(QByteArray, image);
        const auto read = CriuPagemap::parse(image);
        QVERIFY(!read.ok());
        QVERIFY2(read.errorMessage().contains(QLatin1String("damaged")), qPrintable(read.errorMessage()));
    }
};

REWIND_TEST_GUILESS_MAIN(CriuPagemapTest)
#include "CriuPagemapTest.moc"
