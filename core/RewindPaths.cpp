// SPDX-License-Identifier: GPL-2.0-or-later
#include "RewindPaths.h"

#include <QFile>
#include <QFileInfo>
#include <QStringList>

#include <unistd.h>

namespace Rewind
{
namespace
{
QString fromEnvironment(const char *name, const QString &fallback)
{
    const QString value = qEnvironmentVariable(name);
    return value.isEmpty() ? fallback : value;
}
}

QString RewindPaths::storeDirectory() const
{
    return stateDirectory + QStringLiteral("/store");
}

QString RewindPaths::sessionsDirectory() const
{
    return stateDirectory + QStringLiteral("/sessions");
}

QString RewindPaths::stagingDirectory() const
{
    return stateDirectory + QStringLiteral("/staging");
}

QString RewindPaths::cellInitProgram() const
{
    return libexecDirectory + QStringLiteral("/rewind-cell-init");
}

QString RewindPaths::sessionProgram() const
{
    return libexecDirectory + QStringLiteral("/rewind-session");
}

QString RewindPaths::liveRelayProgram() const
{
    return libexecDirectory + QStringLiteral("/rewind-live-relay");
}

QString RewindPaths::viewersCgroupParent() const
{
    return cgroupParent + QStringLiteral("/viewers");
}

QString RewindPaths::networkCgroupParent() const
{
    return cgroupParent + QStringLiteral("/network");
}

RewindPaths RewindPaths::system()
{
    return RewindPaths{
        .stateDirectory = fromEnvironment("REWIND_STATE_DIR", QStringLiteral("/var/lib/rewind")),
        .cgroupParent = fromEnvironment("REWIND_CGROUP_PARENT", QStringLiteral("/sys/fs/cgroup/rewind")),
        .libexecDirectory = fromEnvironment("REWIND_LIBEXEC_DIR", QStringLiteral(REWIND_LIBEXEC_DIR)),
    };
}

QString RewindPaths::findProgram(const QString &relativePath)
{
    QStringList directories;
    if (const QString fromEnvironment = qEnvironmentVariable("REWIND_LIBEXEC_DIR"); !fromEnvironment.isEmpty()) {
        directories.append(fromEnvironment);
    }
    char self[4096];
    const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (length > 0) {
        directories.append(QFileInfo(QFile::decodeName(QByteArray(self, length))).absolutePath());
    }
    directories.append(system().libexecDirectory);
    for (const QString &directory : std::as_const(directories)) {
        const QFileInfo program(directory + QLatin1Char('/') + relativePath);
        if (program.isFile() && program.isExecutable()) {
            return program.absoluteFilePath();
        }
    }
    return {};
}

} // namespace Rewind
