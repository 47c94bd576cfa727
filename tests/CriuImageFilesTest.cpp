// SPDX-License-Identifier: GPL-2.0-or-later
// The reader of CRIU's files.img and mm.img: what a restore would reopen,
// and nothing but errors from damaged images. Real images are read in
// RestoreAttackTest; these are made here, field by field.
#include "TestSkip.h"

#include "CriuImageFiles.h"

#include <QRandomGenerator>
#include <QTest>

#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace Rewind;

namespace
{

QByteArray varint(quint64 value)
{
    QByteArray bytes;
    do {
        quint8 byte = value & 0x7f;
        value >>= 7;
        bytes.append(char(value ? byte | 0x80 : byte));
    } while (value);
    return bytes;
}

QByteArray numberField(quint32 number, quint64 value)
{
    return varint(number << 3) + varint(value);
}

QByteArray bytesField(quint32 number, const QByteArray &value)
{
    return varint(number << 3 | 2) + varint(quint64(value.size())) + value;
}

QByteArray u32(quint32 value)
{
    return QByteArray(reinterpret_cast<const char *>(&value), sizeof value);
}

QByteArray image(quint32 magic, const QList<QByteArray> &entries)
{
    QByteArray result = u32(0x54564319) + u32(magic);
    for (const QByteArray &entry : entries) {
        result += u32(quint32(entry.size())) + entry;
    }
    return result;
}

QByteArray regularFile(quint32 id, const QByteArray &path, quint32 flags)
{
    const QByteArray fown = numberField(1, 0);
    const QByteArray regular = numberField(1, id) + numberField(2, flags) + numberField(3, 0) + bytesField(5, fown) + bytesField(6, path);
    return numberField(1, 1) + numberField(2, id) + bytesField(3, regular);
}

QByteArray unixSocket(const QByteArray &name)
{
    const QByteArray socket = numberField(1, 9) + numberField(2, 1234) + numberField(4, 10) + bytesField(11, name);
    return numberField(1, 5) + numberField(2, 9) + bytesField(16, socket);
}

/// A TCP or UDP socket of files.img with its local address (4 or 16 bytes).
QByteArray inetSocket(quint32 id, quint64 protocol, quint64 state, const QByteArray &address)
{
    QByteArray socket = numberField(1, id) + numberField(2, 5000 + id) + numberField(3, address.size() == 4 ? AF_INET : AF_INET6)
        + numberField(4, protocol == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) + numberField(5, protocol) + numberField(6, state);
    // Each word as CRIU keeps it: the address's bytes in memory, as a number.
    for (qsizetype at = 0; at + 4 <= address.size(); at += 4) {
        quint32 word;
        std::memcpy(&word, address.constData() + at, sizeof word);
        socket += numberField(11, word);
    }
    return numberField(1, 4) + numberField(2, id) + bytesField(4, socket);
}

QByteArray filesImage()
{
    return image(0x56303138,
                 {regularFile(3, "/home/user/notes.txt", O_RDONLY),
                  regularFile(4, "/var/tmp/shared", O_RDONLY),
                  unixSocket("/var/tmp/app.sock"),
                  unixSocket(QByteArray("\0abstract", 9))});
}

QByteArray mmImage()
{
    const QByteArray shared = numberField(1, 0x1000) + numberField(2, 0x2000) + numberField(3, 0) + numberField(4, 4) + numberField(5, 0x3)
        + numberField(6, 0x1) + numberField(7, (1 << 7) | 1);
    const QByteArray readOnly = numberField(1, 0x3000) + numberField(2, 0x4000) + numberField(3, 0) + numberField(4, 3) + numberField(5, 0x1)
        + numberField(6, 0x2) + numberField(7, (1 << 6) | 1);
    return image(0x57492820, {numberField(1, 0x400000) + numberField(12, 3) + bytesField(14, shared) + bytesField(14, readOnly)});
}

} // namespace

class CriuImageFilesTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsWhatARestoreReopens()
    {
        const auto paths = CriuImageFiles::parse(filesImage());
        QVERIFY2(paths.ok(), qPrintable(paths.errorMessage()));
        QCOMPARE(paths->size(), 3); // the abstract socket has no path
        QCOMPARE(paths->at(0).path, QByteArray("/home/user/notes.txt"));
        QCOMPARE(paths->at(0).kind, OpenedPath::Kind::File);
        QCOMPARE(paths->at(0).id, 3u);
        QCOMPARE(paths->at(1).path, QByteArray("/var/tmp/shared"));
        QCOMPARE(paths->at(2).path, QByteArray("/var/tmp/app.sock"));
        QCOMPARE(paths->at(2).kind, OpenedPath::Kind::BoundSocket);
    }

    void findsSharedWritableMappings()
    {
        const auto ids = CriuImageFiles::sharedWritableMappings(mmImage());
        QVERIFY2(ids.ok(), qPrintable(ids.errorMessage()));
        QCOMPARE(*ids, QList<quint32>{4});
    }

    void findsTheAddressesOfConnections()
    {
        constexpr quint64 established = 1;
        constexpr quint64 listening = 10;
        constexpr quint64 closed = 7;
        const QByteArray outside("\x0a\xc7\x00\x02", 4); // 10.199.0.2
        const QByteArray outsideV6 = QByteArray::fromHex("20010db8000000000000000000000005"); // 2001:db8::5
        const QByteArray mapped = QByteArray::fromHex("00000000000000000000ffffc0000207"); // ::ffff:192.0.2.7
        const auto addresses = CriuImageFiles::parseConnectionAddresses(image(0x56303138,
                                                                              {inetSocket(1, IPPROTO_TCP, established, outside),
                                                                               inetSocket(2, IPPROTO_TCP, established, QByteArray("\x7f\x00\x00\x01", 4)),
                                                                               inetSocket(3, IPPROTO_TCP, listening, QByteArray(4, '\0')),
                                                                               inetSocket(4, IPPROTO_TCP, established, outsideV6),
                                                                               inetSocket(5, IPPROTO_TCP, established, mapped),
                                                                               inetSocket(6, IPPROTO_UDP, established, QByteArray("\x0a\x00\x00\x09", 4)),
                                                                               inetSocket(7, IPPROTO_TCP, established, outside),
                                                                               inetSocket(8, IPPROTO_TCP, established, QByteArray(15, '\0') + '\1'),
                                                                               regularFile(9, "/home/user/notes.txt", O_RDONLY),
                                                                               inetSocket(10, IPPROTO_UDP, closed, QByteArray(4, '\0')),
                                                                               inetSocket(11, IPPROTO_TCP, closed, QByteArray("\x0a\x00\x00\x0b", 4))}));
        QVERIFY2(addresses.ok(), qPrintable(addresses.errorMessage()));
        // Loopback, listeners, closed TCP and wildcard UDP left out, bound
        // UDP in (a resolver's query), each address once, mapped IPv4 as IPv4.
        QCOMPARE(*addresses, (QList<QByteArray>{outside, outsideV6, QByteArray("\xc0\x00\x02\x07", 4), QByteArray("\x0a\x00\x00\x09", 4)}));
        QVERIFY(!CriuImageFiles::parseConnectionAddresses(mmImage()).ok());
    }

    void refusesWrongMagic()
    {
        QByteArray wrong = filesImage();
        wrong[5] = char(wrong[5] ^ 0x10);
        QVERIFY(!CriuImageFiles::parse(wrong).ok());
        QVERIFY(!CriuImageFiles::parse(mmImage()).ok());
        QVERIFY(!CriuImageFiles::sharedWritableMappings(filesImage()).ok());
        QVERIFY(!CriuImageFiles::parse(QByteArray()).ok());
    }

    void damagedImagesGiveErrorsNotCrashes()
    {
        // Every truncation, and mutations from a seed printed for a rerun.
        const QByteArray files = filesImage();
        for (qsizetype length = 0; length < files.size(); ++length) {
            const auto truncated = CriuImageFiles::parse(files.left(length));
            if (truncated.ok()) {
                QVERIFY(truncated->size() <= 3);
            }
        }
        const quint32 seed = QRandomGenerator::global()->generate();
        qInfo("mutation seed %u", seed);
        QRandomGenerator random(seed);
        int refused = 0;
        for (int round = 0; round < 5000; ++round) {
            QByteArray mutated = round % 2 ? files : mmImage();
            const int changes = 1 + int(random.bounded(4));
            for (int change = 0; change < changes; ++change) {
                mutated[qsizetype(random.bounded(quint32(mutated.size())))] = char(random.bounded(256));
            }
            const bool ok = round % 2 ? CriuImageFiles::parse(mutated).ok() : CriuImageFiles::sharedWritableMappings(mutated).ok();
            refused += ok ? 0 : 1;
        }
        QVERIFY(refused > 0);
    }
};

REWIND_TEST_GUILESS_MAIN(CriuImageFilesTest)
#include "CriuImageFilesTest.moc"
