// SPDX-License-Identifier: GPL-2.0-or-later
// The gzip CRIU's tar runs when Rewind runs CRIU (core/criutools/gzip.cpp):
// what it writes, the system's gzip reads, and it reads what the system's
// gzip and tar write; damaged and truncated archives fail.
#include "RewindPaths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace Rewind;

namespace
{

struct Run {
    int exitCode = -1;
    QByteArray output;
    QByteArray errors;
};

Run run(const QString &program, const QStringList &arguments, const QByteArray &input)
{
    QProcess process;
    process.start(program, arguments);
    if (!process.waitForStarted()) {
        return {};
    }
    process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit) {
        return {};
    }
    return {process.exitCode(), process.readAllStandardOutput(), process.readAllStandardError()};
}

QByteArray randomBytes(qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator generator(11);
    generator.fillRange(reinterpret_cast<quint32 *>(bytes.data()), size / 4);
    return bytes;
}

} // namespace

class CriuGzipTest : public QObject
{
    Q_OBJECT

    QString m_gzip;
    QString m_systemGzip;
    // Random bytes and text: blocks of both kinds, more than one buffer.
    const QByteArray m_content = randomBytes(3 << 20) + QByteArray("a line of text\n").repeated(200000);

private Q_SLOTS:
    void initTestCase()
    {
        m_gzip = RewindPaths::findProgram(QStringLiteral("rewind-criu-tools/gzip"));
        QVERIFY2(!m_gzip.isEmpty(), "rewind-criu-tools/gzip is not built beside the tests");
        m_systemGzip = QStandardPaths::findExecutable(QStringLiteral("gzip"));
        QVERIFY2(!m_systemGzip.isEmpty() && m_systemGzip != m_gzip, qPrintable(m_systemGzip));
    }

    void storesWhatTheSystemsGzipReads()
    {
        const Run stored = run(m_gzip, {}, m_content);
        QCOMPARE(stored.exitCode, 0);
        // Stored, not compressed: the size of the content and a little framing.
        QVERIFY(stored.output.size() > m_content.size());
        QVERIFY(stored.output.size() < m_content.size() + m_content.size() / 1000 + 100);
        QCOMPARE((quint8(stored.output.at(10)) >> 1) & 3, 0); // BTYPE 00: a stored block
        const Run read = run(m_systemGzip, {QStringLiteral("-d")}, stored.output);
        QCOMPARE(read.exitCode, 0);
        QVERIFY(read.output == m_content);

        const Run empty = run(m_gzip, {}, {});
        QCOMPARE(empty.exitCode, 0);
        QCOMPARE(run(m_systemGzip, {QStringLiteral("-d")}, empty.output).output, QByteArray());
    }

    void readsWhatTheSystemsGzipWrites()
    {
        const Run compressed = run(m_systemGzip, {QStringLiteral("-6")}, m_content);
        QCOMPARE(compressed.exitCode, 0);
        const Run read = run(m_gzip, {QStringLiteral("-d")}, compressed.output);
        QCOMPARE(read.exitCode, 0);
        QVERIFY(read.output == m_content);

        // Members one after another, and the zeros tar pads records with.
        const QByteArray stored = run(m_gzip, {}, m_content).output;
        const Run both = run(m_gzip, {QStringLiteral("-d")}, compressed.output + stored + QByteArray(10240 - stored.size() % 10240, '\0'));
        QCOMPARE(both.exitCode, 0);
        QVERIFY(both.output == m_content + m_content);
    }

    void refusesDamagedAndTruncatedArchives()
    {
        const QByteArray stored = run(m_gzip, {}, m_content).output;
        QByteArray flipped = stored;
        flipped[flipped.size() - 6] = char(flipped.at(flipped.size() - 6) ^ 0x40); // in the CRC
        for (const auto &[what, archive] : {std::pair("truncated", stored.left(stored.size() / 2)),
                                            std::pair("without its trailer", stored.chopped(8)),
                                            std::pair("with a wrong checksum", flipped),
                                            std::pair("followed by garbage", stored + "garbage"),
                                            std::pair("not gzip", QByteArray("plain text")),
                                            std::pair("only zeros", QByteArray(512, '\0'))}) {
            const Run read = run(m_gzip, {QStringLiteral("-d")}, archive);
            QVERIFY2(read.exitCode == 1, what);
            QVERIFY2(read.errors.startsWith("gzip (Rewind): "), what);
        }
        QCOMPARE(run(m_gzip, {QStringLiteral("-9")}, {}).exitCode, 2);
    }

    void tarReadsAndWritesThroughIt()
    {
        // As CRIU runs tar for a tmpfs: tar finds this gzip first in its PATH.
        QTemporaryDir work;
        QVERIFY(work.isValid());
        const QString source = work.filePath(QStringLiteral("source"));
        QVERIFY(QDir().mkpath(source + QStringLiteral("/home/user")));
        QFile file(source + QStringLiteral("/home/user/notes.txt"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(m_content);
        file.close();
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("PATH"), QFileInfo(m_gzip).absolutePath() + QLatin1Char(':') + environment.value(QStringLiteral("PATH")));
        auto tar = [&environment](const QStringList &arguments, const QByteArray &input) {
            QProcess process;
            process.setProcessEnvironment(environment);
            process.start(QStringLiteral("tar"), arguments);
            process.write(input);
            process.closeWriteChannel();
            process.waitForFinished(60000);
            return Run{process.exitCode(), process.readAllStandardOutput(), process.readAllStandardError()};
        };
        const Run created = tar({QStringLiteral("--create"), QStringLiteral("--gzip"), QStringLiteral("--directory"), source, QStringLiteral(".")}, {});
        QVERIFY2(created.exitCode == 0, created.errors.constData());
        QCOMPARE((quint8(created.output.at(10)) >> 1) & 3, 0);
        const QString target = work.filePath(QStringLiteral("target"));
        QVERIFY(QDir().mkpath(target));
        const Run extracted = tar({QStringLiteral("--extract"), QStringLiteral("--gzip"), QStringLiteral("--directory"), target}, created.output);
        QVERIFY2(extracted.exitCode == 0, extracted.errors.constData());
        QFile copy(target + QStringLiteral("/home/user/notes.txt"));
        QVERIFY(copy.open(QIODevice::ReadOnly));
        QVERIFY(copy.readAll() == m_content);
    }
};

QTEST_GUILESS_MAIN(CriuGzipTest)
#include "CriuGzipTest.moc"
