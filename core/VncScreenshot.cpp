// SPDX-License-Identifier: GPL-2.0-or-later
#include "VncScreenshot.h"

#include "OwnerProcess.h"
#include "SocketFile.h"

#include "RewindPaths.h"

#include <KLocalizedString>

#include <QDeadlineTimer>
#include <QFile>
#include <QProcess>

#include <algorithm>
#include <cstring>

namespace Rewind
{
namespace
{

/// "RWPX" in host byte order, as rewind-screenshot writes it first.
constexpr quint32 rawPixelsMagic = 0x58505752;

/// The exit codes of rewind-screenshot (core/screenshotgrabber/main.cpp).
enum GrabberExit {
    GrabberSuccess = 0,
    GrabberNotASocket = 10,
    GrabberNothingListens = 11,
    GrabberQueueFull = 12,
    GrabberConnectFailed = 13,
    GrabberTimedOut = 14,
    GrabberHandshakeFailed = 15,
    GrabberFramebufferRefused = 16,
    GrabberFormatRefused = 17,
    GrabberServerWentAway = 18,
    GrabberUnreadable = 19,
    GrabberWaitFailed = 20,
    GrabberOutOfMemory = 21,
};

constexpr int maxSide = 8192;
constexpr auto grabberGrace = std::chrono::seconds(5);

Error grabberError(int code, const QString &path, const QString &detail, std::chrono::milliseconds timeout)
{
    const auto failure = [&](const QString &what) -> Error {
        return Error{detail.isEmpty() ? i18n("Could not take a picture of the display at %1: %2.", path, what)
                                      : i18n("Could not take a picture of the display at %1: %2 (%3).", path, what, detail)};
    };
    switch (code) {
    case GrabberNotASocket:
        return Error{i18n("%1 is not a socket, so it cannot be an Xvnc display's VNC socket.", path)};
    case GrabberNothingListens:
        return Error{i18n("Nothing listens on the VNC socket %1 (is the display's Xvnc running?).", path)};
    case GrabberQueueFull:
        return Error{i18n("The VNC server at %1 does not accept connections (its queue is full).", path)};
    case GrabberConnectFailed:
        return Error{i18n("Could not connect to the VNC socket %1: %2", path, detail)};
    case GrabberTimedOut:
        return Error{i18n("Could not take a picture of the display at %1: its VNC server did not answer within %2 ms.", path, timeout.count())};
    case GrabberHandshakeFailed:
        return failure(i18n("the VNC handshake failed"));
    case GrabberFramebufferRefused:
    case GrabberOutOfMemory:
        return failure(i18n("no framebuffer"));
    case GrabberFormatRefused:
        return failure(i18n("the VNC server refused the pixel format"));
    case GrabberServerWentAway:
        return failure(i18n("the VNC server went away"));
    case GrabberUnreadable:
        return failure(i18n("the VNC server sent something unreadable or went away"));
    case GrabberWaitFailed:
        return failure(i18n("waiting for the VNC server failed"));
    default:
        return failure(i18n("the screenshot program failed (exit code %1)", code));
    }
}

/// The picture rewind-screenshot wrote: "RWPX", width and height (32 bits
/// each, host order), and exactly width * height pixels of 0xffRRGGBB. It
/// comes from a process the display's owner controls: nothing is decoded,
/// only copied, and the sizes are checked before anything is.
Result<QImage> imageFromRawPixels(const QByteArray &output, QSize expectedSize, const QString &path)
{
    const auto refused = [&path](const QString &why) {
        return Error{i18n("Could not take a picture of the display at %1: %2.", path, why)};
    };
    quint32 header[3] = {};
    if (output.size() < qsizetype(sizeof header)) {
        return refused(i18n("the screenshot program wrote no picture"));
    }
    std::memcpy(header, output.constData(), sizeof header);
    const quint32 width = header[1];
    const quint32 height = header[2];
    if (header[0] != rawPixelsMagic || width == 0 || height == 0) {
        return refused(i18n("the screenshot program wrote no picture"));
    }
    if (width > quint32(expectedSize.width()) || height > quint32(expectedSize.height())) {
        return refused(i18n("the picture is larger than the display"));
    }
    const qint64 rowBytes = qint64(width) * 4;
    if (output.size() != qint64(sizeof header) + rowBytes * height) {
        return refused(i18n("the screenshot program wrote a picture of the wrong size"));
    }
    QImage image(int(width), int(height), QImage::Format_RGB32);
    if (image.isNull()) {
        return refused(i18n("out of memory"));
    }
    for (quint32 y = 0; y < height; ++y) {
        auto *row = reinterpret_cast<quint32 *>(image.scanLine(int(y)));
        std::memcpy(row, output.constData() + sizeof header + rowBytes * y, size_t(rowBytes));
        for (quint32 x = 0; x < width; ++x) {
            row[x] |= 0xff000000; // opaque, as RGB32 wants, whatever was sent
        }
    }
    return image;
}

/// Runs rewind-screenshot as uid:gid on the socket socketFile stands for
/// and takes the raw pixels it writes, reading no more than such a picture needs.
Result<QImage> runGrabber(const UniqueFd &socketFile, const QString &path, std::chrono::milliseconds timeout, uid_t uid, gid_t gid, QSize expectedSize)
{
    const QString program = RewindPaths::findProgram(QStringLiteral("rewind-screenshot"));
    if (program.isEmpty()) {
        return Error{i18n("Could not take a picture of the display at %1: the program rewind-screenshot is missing.", path)};
    }
    if (!expectedSize.isValid() || expectedSize.width() > maxSide || expectedSize.height() > maxSide) {
        expectedSize = QSize(maxSide, maxSide);
    }
    // The header and the pixels of a picture of that size.
    const qint64 maxOutput = qint64(expectedSize.width()) * expectedSize.height() * 4 + 12;

    QProcess process;
    process.setProgram(program);
    process.setArguments({QStringLiteral("--socket-fd"),
                          QString::number(socketFile.get()),
                          QStringLiteral("--timeout-ms"),
                          QString::number(std::max<qint64>(1, timeout.count())),
                          QStringLiteral("--max-size"),
                          QStringLiteral("%1x%2").arg(expectedSize.width()).arg(expectedSize.height())});
    process.setProcessEnvironment(QProcessEnvironment());
    process.setWorkingDirectory(QStringLiteral("/"));
    process.setStandardInputFile(QProcess::nullDevice());
    process.setStandardErrorFile(QProcess::nullDevice());
    runAsOwner(process, uid, gid, {socketFile.get()});
    process.start(QIODevice::ReadOnly);
    if (!process.waitForStarted(10000)) {
        return Error{i18n("Could not take a picture of the display at %1: %2.", path, process.errorString())};
    }

    // Until the program ends or its time is up, never holding more than maxOutput.
    QDeadlineTimer deadline(timeout + grabberGrace);
    QByteArray output;
    bool tooMuch = false;
    while (process.state() != QProcess::NotRunning && !deadline.hasExpired()) {
        process.waitForReadyRead(int(std::clamp<qint64>(deadline.remainingTime(), 1, 1000)));
        output += process.read(maxOutput + 1 - output.size());
        if (output.size() > maxOutput) {
            tooMuch = true;
            break;
        }
    }
    if (process.state() != QProcess::NotRunning) {
        process.kill();
        process.waitForFinished(5000);
        if (tooMuch) {
            return Error{i18n("Could not take a picture of the display at %1: %2.", path, i18n("the picture is larger than the display"))};
        }
        return grabberError(GrabberTimedOut, path, {}, timeout);
    }
    output += process.read(maxOutput + 1 - output.size());
    if (output.size() > maxOutput) {
        return Error{i18n("Could not take a picture of the display at %1: %2.", path, i18n("the picture is larger than the display"))};
    }
    if (process.exitStatus() != QProcess::NormalExit) {
        return grabberError(-1, path, {}, timeout);
    }
    if (process.exitCode() != GrabberSuccess) {
        return grabberError(process.exitCode(), path, printableLine(output.left(300)), timeout);
    }

    return imageFromRawPixels(output, expectedSize, path);
}

} // namespace

Result<QImage> VncScreenshot::grab(const QString &unixSocketPath, std::chrono::milliseconds timeout)
{
    auto socketFile = openSocketFile(unixSocketPath);
    if (!socketFile) {
        return socketFile.error();
    }
    return runGrabber(*socketFile, unixSocketPath, timeout, ::geteuid(), ::getegid(), {});
}

Result<QImage> VncScreenshot::grabInCell(pid_t initPid, const QString &pathInCell, std::chrono::milliseconds timeout, uid_t uid, gid_t gid, QSize expectedSize)
{
    auto cellSocket = openCellSocket(initPid, pathInCell);
    if (!cellSocket) {
        return cellSocket.error();
    }
    return runGrabber(cellSocket->socket, pathInCell, timeout, uid, gid, expectedSize);
}

QImage VncScreenshot::thumbnail(const QImage &image, int width)
{
    if (image.isNull() || width <= 0) {
        return {};
    }
    if (image.width() <= width) {
        return image;
    }
    return image.scaledToWidth(width, Qt::SmoothTransformation);
}

double VncScreenshot::differingFraction(const QImage &a, const QImage &b, const QRect &ignore)
{
    if (a.size() != b.size()) {
        return 1.0;
    }
    const QImage first = a.convertToFormat(QImage::Format_RGB32);
    const QImage second = b.convertToFormat(QImage::Format_RGB32);
    const QRect ignored = ignore.intersected(first.rect());
    qint64 compared = 0;
    qint64 differing = 0;
    for (int y = 0; y < first.height(); ++y) {
        const auto *lineA = reinterpret_cast<const QRgb *>(first.constScanLine(y));
        const auto *lineB = reinterpret_cast<const QRgb *>(second.constScanLine(y));
        const bool rowIgnored = y >= ignored.top() && y <= ignored.bottom();
        for (int x = 0; x < first.width(); ++x) {
            if (rowIgnored && x >= ignored.left() && x <= ignored.right()) {
                continue;
            }
            ++compared;
            if ((lineA[x] & 0xffffffu) != (lineB[x] & 0xffffffu)) {
                ++differing;
            }
        }
    }
    return compared == 0 ? 0.0 : static_cast<double>(differing) / static_cast<double>(compared);
}

} // namespace Rewind
