// SPDX-License-Identifier: GPL-2.0-or-later
#include "CgroupFreezer.h"
#include "Cgroup.h"
#include "CgroupEvents.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QLoggingCategory>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(REWIND_FREEZER, "org.kde.rewind.freezer", QtInfoMsg)

namespace Rewind
{
namespace
{

QString systemError(int error = errno)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

Result<void> requestFreeze(const QString &cgroupDir, bool frozen)
{
    const QString path = cgroupDir + QStringLiteral("/cgroup.freeze");
    UniqueFd fd(::open(QFile::encodeName(path).constData(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        return Error{i18n("Cannot open the freezer of control group %1: %2", cgroupDir, systemError())};
    }
    const char value = frozen ? '1' : '0';
    if (::write(fd.get(), &value, 1) != 1) {
        return Error{i18n("Cannot write to the freezer of control group %1: %2", cgroupDir, systemError())};
    }
    return {};
}

} // namespace

Result<void> CgroupFreezer::freeze(const QString &cgroupDir, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto events = CgroupEvents::open(cgroupDir);
    if (!events) {
        return events.error();
    }
    if (auto requested = requestFreeze(cgroupDir, true); !requested) {
        return requested;
    }
    const auto frozen = events->waitFor("frozen", 1, deadline);
    if (frozen && *frozen) {
        return {};
    }
    const QString reason = frozen ? i18n("Its processes did not all stop within %1 ms.", qint64(timeout.count())) : frozen.errorMessage();
    const auto thawed = thaw(cgroupDir, std::max(timeout, std::chrono::milliseconds(1000)));
    if (!thawed) {
        return Error{i18n("Could not freeze control group %1: %2 Thawing it again failed too: %3", cgroupDir, reason, thawed.errorMessage())};
    }
    return Error{i18n("Could not freeze control group %1: %2 It runs on as before.", cgroupDir, reason)};
}

Result<void> CgroupFreezer::thaw(const QString &cgroupDir, std::chrono::milliseconds timeout)
{
    // Asked for first whatever else fails: a cell must never stay frozen
    // because its state could not be watched.
    if (auto requested = requestThaw(cgroupDir); !requested) {
        return requested;
    }
    return waitUntilThawed(cgroupDir, timeout);
}

Result<void> CgroupFreezer::requestThaw(const QString &cgroupDir)
{
    return requestFreeze(cgroupDir, false);
}

Result<void> CgroupFreezer::waitUntilThawed(const QString &cgroupDir, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto events = CgroupEvents::open(cgroupDir);
    if (!events) {
        return events.error();
    }
    const auto thawed = events->waitFor("frozen", 0, deadline);
    if (!thawed) {
        return thawed.error();
    }
    if (!*thawed) {
        return Error{i18n("Control group %1 did not resume within %2 ms.", cgroupDir, qint64(timeout.count()))};
    }
    return {};
}

Result<bool> CgroupFreezer::isFrozen(const QString &cgroupDir)
{
    auto events = CgroupEvents::open(cgroupDir);
    if (!events) {
        return events.error();
    }
    const auto frozen = events->value("frozen");
    if (!frozen) {
        return frozen.error();
    }
    return *frozen == 1;
}

Result<bool> CgroupFreezer::isFreezeRequested(const QString &cgroupDir)
{
    const QString path = cgroupDir + QStringLiteral("/cgroup.freeze");
    UniqueFd fd(::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    char value = 0;
    if (!fd || ::read(fd.get(), &value, 1) != 1) {
        return Error{i18n("Cannot read the freezer of control group %1: %2", cgroupDir, systemError())};
    }
    return value == '1';
}

QStringList CgroupFreezer::thawLeftovers(const QString &parent)
{
    QStringList thawed;
    const QDir parentDir(parent);
    const auto names = parentDir.entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks, QDir::Name);
    for (const QString &name : names) {
        if (!Cgroup::isValidName(name)) {
            continue;
        }
        const QString dir = parentDir.filePath(name);
        const auto requested = isFreezeRequested(dir);
        if (!requested || !*requested) {
            continue;
        }
        if (const auto result = thaw(dir); !result) {
            qCWarning(REWIND_FREEZER) << "Thawing the leftover frozen cell" << name << "failed:" << result.errorMessage();
        }
        thawed.append(name);
    }
    return thawed;
}

} // namespace Rewind
