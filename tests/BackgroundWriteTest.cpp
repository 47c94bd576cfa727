// SPDX-License-Identifier: GPL-2.0-or-later
// Writing a file's buffers from a thread of its own: order, what is still
// pending, and a failed write reported by the next call that waits for it.
#include "BackgroundWrite.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <fcntl.h>

using namespace Rewind;

class BackgroundWriteTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void buffersLandInOrder()
    {
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        const QString path = directory.filePath(QStringLiteral("out"));
        UniqueFd file(::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        QVERIFY(file.valid());
        QByteArray expected;
        {
            BackgroundWrite write(file.get(), BackgroundWrite::WriteBack::StartNow);
            for (int i = 0; i < 50; ++i) {
                // Alternately appended to and sized, as the store and a restore fill them.
                const QByteArray part = QByteArray(1000 + i * 3001, char('a' + i % 26));
                if (i % 2 == 0) {
                    write.buffer().append(part);
                } else {
                    QByteArray &buffer = write.nextBuffer(part.size());
                    std::copy(part.cbegin(), part.cend(), buffer.begin());
                }
                QCOMPARE(write.pendingBytes() >= part.size(), true);
                expected += part;
                QCOMPARE(write.start(), 0);
                QVERIFY(write.buffer().isEmpty());
            }
            QCOMPARE(write.start(), 0); // nothing filled: nothing written
            QCOMPARE(write.finish(), 0);
            QCOMPARE(write.pendingBytes(), 0);
            QCOMPARE(write.close(), 0);
        }
        QFile written(path);
        QVERIFY(written.open(QIODevice::ReadOnly));
        QCOMPARE(written.readAll(), expected);
    }

    void aFailedWriteIsReportedByTheNextWait()
    {
        // /dev/full refuses every write with ENOSPC, as a full store does.
        UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
        if (!full.valid()) {
            REWIND_SKIP("/dev/full cannot be opened here");
        }
        BackgroundWrite write(full.get());
        write.buffer().append(QByteArray(4096, 'x'));
        QCOMPARE(write.start(), 0); // handed over; not written yet
        write.buffer().append(QByteArray(4096, 'y'));
        QCOMPARE(write.start(), ENOSPC);
        QCOMPARE(write.finish(), 0); // reported once

        write.buffer().append(QByteArray(10, 'z'));
        QCOMPARE(write.start(), 0);
        QCOMPARE(write.finish(), ENOSPC);
    }
};

REWIND_TEST_GUILESS_MAIN(BackgroundWriteTest)
#include "BackgroundWriteTest.moc"
