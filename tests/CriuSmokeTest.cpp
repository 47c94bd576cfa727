// SPDX-License-Identifier: GPL-2.0-or-later
// Proves that CRIU works where the tests run: a counter in a cell with its
// own pid, ipc, uts and mount namespaces is checkpointed, killed, restored,
// and carries on counting from where it was.
#include "CriuCheckpointer.h"
#include "MountTable.h"
#include "TestCell.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
const QString counterFile = QStringLiteral("/tmp/counter");

QString namespaceOf(pid_t pid, const char *kind)
{
    return QFileInfo(QStringLiteral("/proc/%1/ns/%2").arg(pid).arg(QLatin1String(kind))).symLinkTarget();
}
}

class CriuSmokeTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
    }

    void counterCarriesOnAfterKillAndRestore()
    {
        QString error;
        TestCell cell = TestCell::start({QStringLiteral(COUNTER_PATH), counterFile}, &error);
        QVERIFY2(cell.valid(), qPrintable(error));
        for (const char *kind : {"pid", "ipc", "uts", "mnt"}) {
            QVERIFY2(namespaceOf(cell.pid(), kind) != namespaceOf(::getpid(), kind), kind);
        }
        QTRY_VERIFY(cell.counter(counterFile) >= 5);

        QTemporaryDir images;
        QVERIFY(images.isValid());
        UniqueFd imagesDir(::open(QFile::encodeName(images.path()).constData(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        QVERIFY(imagesDir.valid());

        const long beforeDump = cell.counter(counterFile);
        DumpRequest request;
        request.rootPid = cell.pid();
        request.imagesDirFd = imagesDir.get();
        request.leaveRunning = true;
        const auto mounts = MountTable::read(cell.pid());
        QVERIFY2(mounts.ok(), qPrintable(mounts.errorMessage()));
        request.externalMounts = MountTable::externalMountPoints(*mounts);
        const auto dumped = CriuCheckpointer::dump(request);
        QVERIFY2(dumped.ok(), qPrintable(dumped.errorMessage()));

        // Left running: it keeps counting after the dump.
        const long afterDump = cell.counter(counterFile);
        QTRY_VERIFY(cell.counter(counterFile) > afterDump);

        const pid_t oldPid = cell.pid();
        cell.kill();
        QVERIFY(!QFileInfo::exists(QStringLiteral("/proc/%1/root").arg(oldPid)) || namespaceOf(oldPid, "pid").isEmpty());

        RestoreRequest restore;
        restore.imagesDirFd = imagesDir.get();
        restore.externalMounts = request.externalMounts;
        const auto restored = CriuCheckpointer::restore(restore);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        TestCell restoredCell(*restored);

        QTRY_VERIFY(restoredCell.counter(counterFile) > 0);
        const long first = restoredCell.counter(counterFile);
        // A fresh counter would start at 1: this one carries on from the dump.
        QVERIFY2(first >= beforeDump, qPrintable(QStringLiteral("restored counter %1, dumped at %2").arg(first).arg(beforeDump)));
        QTRY_VERIFY(restoredCell.counter(counterFile) > first);
        QVERIFY(namespaceOf(restoredCell.pid(), "pid") != namespaceOf(::getpid(), "pid"));
    }
};

REWIND_TEST_GUILESS_MAIN(CriuSmokeTest)
#include "CriuSmokeTest.moc"
