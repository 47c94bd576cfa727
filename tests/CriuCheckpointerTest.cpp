// SPDX-License-Identifier: GPL-2.0-or-later
// CriuCheckpointer against the real criu binary: versions and failure reports.
#include "CriuCheckpointer.h"
#include "TestSkip.h"
#include "UniqueFd.h"

#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>

using namespace Rewind;

class CriuCheckpointerTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void criuIsRecentEnough()
    {
        const auto version = CriuCheckpointer::version();
        QVERIFY2(version.ok(), qPrintable(version.errorMessage()));
        QVERIFY2(*version >= CriuCheckpointer::minimumVersion,
                 qPrintable(QStringLiteral("CRIU %1 is older than 4.2, which kernels from 6.16 on need").arg(*version)));
    }

    void dumpOfMissingProcessNamesTheFailure()
    {
        QTemporaryDir images;
        QVERIFY(images.isValid());
        UniqueFd dir(::open(QFile::encodeName(images.path()).constData(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        QVERIFY(dir.valid());

        // pid_max is at most 2^22: this pid cannot exist.
        DumpRequest request;
        request.rootPid = (1 << 22) + 7;
        request.imagesDirFd = dir.get();
        const auto result = CriuCheckpointer::dump(request);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("%1").arg((1 << 22) + 7)), qPrintable(result.errorMessage()));
        // CRIU's own reason is carried along, not just "it failed".
        QVERIFY2(result.errorMessage().contains(QStringLiteral("Error (")), qPrintable(result.errorMessage()));
    }

    void restoreFromEmptyDirectoryFails()
    {
        QTemporaryDir images;
        QVERIFY(images.isValid());
        UniqueFd dir(::open(QFile::encodeName(images.path()).constData(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        RestoreRequest request;
        request.imagesDirFd = dir.get();
        const auto result = CriuCheckpointer::restore(request);
        QVERIFY(!result.ok());
        QVERIFY(!result.errorMessage().isEmpty());
    }

    void requestsWithoutImagesAreRefused()
    {
        DumpRequest dump;
        dump.rootPid = 1;
        QVERIFY(!CriuCheckpointer::dump(dump).ok());
        QVERIFY(!CriuCheckpointer::restore(RestoreRequest{}).ok());
    }
};

REWIND_TEST_GUILESS_MAIN(CriuCheckpointerTest)
#include "CriuCheckpointerTest.moc"
