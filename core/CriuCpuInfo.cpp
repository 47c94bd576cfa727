// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuCpuInfo.h"

#include "CriuCheckpointer.h"

#include <KLocalizedString>

#include <QFile>
#include <QHash>
#include <QMutex>
#include <QProcess>
#include <QTemporaryDir>

namespace Rewind
{
namespace
{

constexpr int criuTimeLimitMs = 30000;
constexpr const char *imageName = "cpuinfo.img";

/// Runs `criu cpuinfo OPERATION -D directory`; CRIU's last words on failure.
Result<void> runCriu(const QString &operation, const QString &directory)
{
    const QByteArray &criu = CriuCheckpointer::binary();
    if (criu.isEmpty()) {
        return Error{i18n("Could not start CRIU. Is the criu package (version 4.2 or newer) installed?")};
    }
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QFile::decodeName(criu), {QStringLiteral("cpuinfo"), operation, QStringLiteral("-D"), directory, QStringLiteral("-v1")});
    if (!process.waitForFinished(criuTimeLimitMs)) {
        process.kill();
        process.waitForFinished();
        return Error{i18n("CRIU did not describe the CPU within %1 seconds.", criuTimeLimitMs / 1000)};
    }
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        const QString output = QString::fromLocal8Bit(process.readAll()).trimmed();
        return Error{output.section(QLatin1Char('\n'), -3).left(1000)};
    }
    return {};
}

} // namespace

Result<QByteArray> CriuCpuInfo::dump()
{
    QTemporaryDir directory;
    if (!directory.isValid()) {
        return Error{i18n("Could not make a temporary directory: %1", directory.errorString())};
    }
    if (auto dumped = runCriu(QStringLiteral("dump"), directory.path()); !dumped) {
        return Error{i18n("CRIU could not describe this machine's CPU: %1", dumped.errorMessage())};
    }
    QFile image(directory.filePath(QLatin1String(imageName)));
    if (!image.open(QIODevice::ReadOnly)) {
        return Error{i18n("CRIU could not describe this machine's CPU: %1", image.errorString())};
    }
    return image.read(1024 * 1024);
}

Result<void> CriuCpuInfo::check(const QByteArray &image)
{
    // This CPU does not change while Rewind runs: each image is checked once.
    static QMutex mutex;
    static QHash<QByteArray, QString> verdicts;
    const QMutexLocker locker(&mutex);
    const auto known = verdicts.constFind(image);
    if (known != verdicts.cend()) {
        return known->isEmpty() ? Result<void>() : Result<void>(Error{*known});
    }
    auto checked = checkOnce(image);
    if (verdicts.size() > 64) {
        verdicts.clear();
    }
    verdicts.insert(image, checked.errorMessage());
    return checked;
}

Result<void> CriuCpuInfo::checkOnce(const QByteArray &image)
{
    QTemporaryDir directory;
    if (!directory.isValid()) {
        return Error{i18n("Could not make a temporary directory: %1", directory.errorString())};
    }
    QFile file(directory.filePath(QLatin1String(imageName)));
    if (!file.open(QIODevice::WriteOnly) || file.write(image) != image.size()) {
        return Error{i18n("Could not write a temporary file: %1", file.errorString())};
    }
    file.close();
    return runCriu(QStringLiteral("check"), directory.path());
}

} // namespace Rewind
