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
        // CRIU's own reason is carried along as the details, not just "it failed", and not in the message.
        QVERIFY2(result.error().details.contains(QStringLiteral("Error (")), qPrintable(result.error().fullText()));
        QVERIFY2(!result.errorMessage().contains(QStringLiteral("Error (")), qPrintable(result.errorMessage()));
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

    /// Only CRIU saying no to the session is a refusal the scan should have
    /// predicted; a full disk, or a CRIU that never got to a verdict, is not.
    void refusalsAreToldFromLackOfResources()
    {
        const QString refused = QStringLiteral(
            "Checkpointing process 305 failed. CRIU reported a failure.\n"
            "(00.093005) Error (criu/namespaces.c:505): Can't dump nested ipc namespace for 113\n"
            "(00.151545) Error (criu/cr-dump.c:1975): Dumping FAILED.");
        const QString diskFull = QStringLiteral(
            "Checkpointing process 305 failed. CRIU reported a failure.\n"
            "(01.209001) Error (criu/page-xfer.c:1012): Unable to write pages: No space left on device\n"
            "(01.351545) Error (criu/cr-dump.c:1975): Dumping FAILED.");
        const QString killed = QStringLiteral("Checkpointing process 305 failed. CRIU was ended after 300 seconds.");
        QVERIFY(CriuCheckpointer::isRefusal(Error{refused}));
        QVERIFY(!CriuCheckpointer::isRefusal(Error{diskFull}));
        QVERIFY(!CriuCheckpointer::isRefusal(Error{killed}));
    }
};

REWIND_TEST_GUILESS_MAIN(CriuCheckpointerTest)
#include "CriuCheckpointerTest.moc"
