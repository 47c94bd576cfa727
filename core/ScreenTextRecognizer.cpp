// SPDX-License-Identifier: GPL-2.0-or-later
#include "ScreenTextRecognizer.h"

#include "OwnerProcess.h"

#include <KLocalizedString>

#include <QDeadlineTimer>
#include <QProcess>
#include <QStandardPaths>

#include <algorithm>

namespace Rewind
{

QString ScreenTextRecognizer::program()
{
    // Fixed places only: the helper's PATH is not the caller's to choose.
    return QStandardPaths::findExecutable(QStringLiteral("tesseract"), {QStringLiteral("/usr/bin"), QStringLiteral("/bin")});
}

Result<QString> ScreenTextRecognizer::recognize(const QByteArray &png, uid_t uid, gid_t gid, std::chrono::milliseconds timeout)
{
    if (uid == 0) {
        return Error{i18n("The text on a screen is read with its owner's rights, and never as root.")};
    }
    const QString tesseract = program();
    if (tesseract.isEmpty()) {
        return Error{i18n("Reading the text on snapshots' screens needs tesseract. Install the package tesseract-ocr (and tesseract-ocr-eng).")};
    }
    QProcess process;
    process.setProgram(tesseract);
    // The picture from standard input, the text to standard output, English.
    // Sparse text (page segmentation mode 11): a screen is windows scattered
    // over a desktop, where the default layout analysis of a page often finds nothing.
    process.setArguments(
        {QStringLiteral("stdin"), QStringLiteral("stdout"), QStringLiteral("-l"), QStringLiteral("eng"), QStringLiteral("--psm"), QStringLiteral("11")});
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    // One thread: OCR of a snapshot is background work and must stay light.
    environment.insert(QStringLiteral("OMP_THREAD_LIMIT"), QStringLiteral("1"));
    process.setProcessEnvironment(environment);
    process.setWorkingDirectory(QStringLiteral("/"));
    process.setStandardErrorFile(QProcess::nullDevice());
    runAsOwner(process, uid, gid);
    process.start();
    if (!process.waitForStarted(10000)) {
        return Error{i18n("Could not start tesseract to read the text on a snapshot's screen: %1.", process.errorString())};
    }
    process.write(png);
    process.closeWriteChannel();

    // Until it ends or its time is up, never holding more than maximumTextBytes.
    const QDeadlineTimer deadline(timeout);
    QByteArray output;
    while (process.state() != QProcess::NotRunning && !deadline.hasExpired() && output.size() <= maximumTextBytes) {
        process.waitForReadyRead(int(std::clamp<qint64>(deadline.remainingTime(), 1, 1000)));
        output += process.readAllStandardOutput().left(maximumTextBytes + 1 - output.size());
    }
    if (process.state() != QProcess::NotRunning) {
        process.kill(); // its own pid only
        process.waitForFinished(5000);
        if (output.size() > maximumTextBytes) {
            return Error{i18n("tesseract said more than %1 KiB about a snapshot's screen; it was stopped.", maximumTextBytes / 1024)};
        }
        return Error{i18n("tesseract did not finish reading a snapshot's screen within %1 seconds; it was stopped.",
                          std::chrono::duration_cast<std::chrono::seconds>(timeout).count())};
    }
    output += process.readAllStandardOutput().left(maximumTextBytes + 1 - output.size());
    if (output.size() > maximumTextBytes) {
        return Error{i18n("tesseract said more than %1 KiB about a snapshot's screen; it was stopped.", maximumTextBytes / 1024)};
    }
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        return Error{i18n("tesseract could not read a snapshot's screen (exit code %1).", process.exitCode())};
    }
    return QString::fromUtf8(output);
}

} // namespace Rewind
