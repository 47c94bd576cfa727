// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellLimits.h"

#include "CgroupFiles.h"

#include <KLocalizedString>

#include <QDir>

#include <optional>

namespace Rewind
{
namespace
{

/// PATH below DIRECTORY, as path names, with no "..".
bool isBelow(const QString &path, const QString &directory)
{
    return QDir::cleanPath(path) == path && (directory == QLatin1String("/") || path.startsWith(directory + QLatin1Char('/')));
}

std::optional<qint64> sliceValue(const QByteArray &content)
{
    bool ok = false;
    const qint64 value = content.trimmed().toLongLong(&ok);
    return ok && value > 0 ? std::optional<qint64>(value) : std::nullopt;
}

QByteArray limitValue(qint64 value, const QByteArray &none)
{
    return value > 0 ? QByteArray::number(value) : none;
}

QString userDirectory(uid_t uid)
{
    return QStringLiteral("user-%1").arg(uid);
}

} // namespace

UserLimits UserLimits::of(uid_t uid, const QString &sliceRoot, const SessionLimits &configured)
{
    const QString slice = QStringLiteral("user-%1.slice").arg(uid);
    const QString directory = sliceRoot + QStringLiteral("/user.slice/") + slice;
    const auto pids = CgroupFiles::read(directory + QStringLiteral("/pids.max"));
    const auto memory = CgroupFiles::read(directory + QStringLiteral("/memory.max"));
    return fromSlice(slice, pids ? *pids : QByteArray(), memory ? *memory : QByteArray(), configured);
}

UserLimits UserLimits::fromSlice(const QString &slice, const QByteArray &pidsMax, const QByteArray &memoryMax, const SessionLimits &configured)
{
    UserLimits limits;
    const QString config = SessionLimits::configFile();
    if (const auto tasks = sliceValue(pidsMax)) {
        limits.tasks = *tasks;
        limits.tasksSource = slice;
    } else {
        limits.tasks = configured.tasksMax;
        limits.tasksSource = config;
    }
    if (const auto memory = sliceValue(memoryMax)) {
        limits.memoryBytes = *memory;
        limits.memorySource = slice;
    } else {
        limits.memoryBytes = configured.memoryMaxBytes;
        limits.memorySource = config;
    }
    return limits;
}

Result<CellLimits> CellLimits::detect(const QString &parent)
{
    auto mounts = MountTable::read(::getpid());
    if (!mounts) {
        return mounts.error();
    }
    return detect(parent, *mounts);
}

Result<CellLimits> CellLimits::detect(const QString &parent, const QList<MountEntry> &mounts)
{
    CellLimits limits;
    limits.m_parent = QDir::cleanPath(parent);
    if (!QDir::isAbsolutePath(parent)) {
        return Error{i18n("The control group directory %1 is not an absolute path.", parent)};
    }
    // The cgroup2 mount holding the parent; the deepest one if several do.
    for (const MountEntry &mount : mounts) {
        if (mount.fsType == QLatin1String("cgroup2") && isBelow(limits.m_parent, mount.mountPoint) && mount.mountPoint.size() >= limits.m_unifiedMount.size()) {
            limits.m_unifiedMount = mount.mountPoint;
        }
    }
    if (limits.m_unifiedMount.isEmpty()) {
        return Error{
            i18n("The control group directory of the sessions, %1, is not below a cgroup version 2 hierarchy. Mount one, or set "
                 "REWIND_CGROUP_PARENT to a directory below one.",
                 parent)};
    }
    limits.m_relativeParent = limits.m_unifiedMount == QLatin1String("/") ? limits.m_parent : limits.m_parent.mid(limits.m_unifiedMount.size());

    const auto available = CgroupFiles::read(limits.m_unifiedMount + QStringLiteral("/cgroup.controllers"));
    const QList<QByteArray> controllers = available ? available->simplified().split(' ') : QList<QByteArray>();
    // A cgroup v1 hierarchy of the controller, the first listed.
    const auto legacyMount = [&mounts](const QString &controller) {
        for (const MountEntry &mount : mounts) {
            if (mount.fsType == QLatin1String("cgroup") && mount.superOptions.contains(controller)) {
                return mount.mountPoint;
            }
        }
        return QString();
    };
    if (controllers.contains("pids")) {
        limits.m_tasks = LimitMechanism::UnifiedCgroup;
    } else if (limits.m_legacyPidsMount = legacyMount(QStringLiteral("pids")); !limits.m_legacyPidsMount.isEmpty()) {
        limits.m_tasks = LimitMechanism::LegacyCgroup;
    } else {
        limits.m_tasks = LimitMechanism::ProcessLimit;
    }
    if (controllers.contains("memory")) {
        limits.m_memory = LimitMechanism::UnifiedCgroup;
    } else if (limits.m_legacyMemoryMount = legacyMount(QStringLiteral("memory")); !limits.m_legacyMemoryMount.isEmpty()) {
        limits.m_memory = LimitMechanism::LegacyCgroup;
    } else {
        limits.m_memory = LimitMechanism::None;
    }
    return limits;
}

QString CellLimits::describe() const
{
    QString tasks;
    switch (m_tasks) {
    case LimitMechanism::UnifiedCgroup:
        tasks = i18n("processes: the pids controller of the cgroup v2 hierarchy at %1", m_unifiedMount);
        break;
    case LimitMechanism::LegacyCgroup:
        tasks = i18n("processes: the cgroup v1 pids hierarchy at %1", m_legacyPidsMount);
        break;
    case LimitMechanism::ProcessLimit:
    case LimitMechanism::None:
        tasks = i18n("processes: RLIMIT_NPROC of each cell (no pids controller)");
        break;
    }
    QString memory;
    switch (m_memory) {
    case LimitMechanism::UnifiedCgroup:
        memory = i18n("memory: the memory controller of the cgroup v2 hierarchy at %1", m_unifiedMount);
        break;
    case LimitMechanism::LegacyCgroup:
        memory = i18n("memory: the cgroup v1 memory hierarchy at %1", m_legacyMemoryMount);
        break;
    case LimitMechanism::ProcessLimit:
    case LimitMechanism::None:
        memory = i18n("memory: not limited (no memory controller)");
        break;
    }
    return tasks + QStringLiteral("; ") + memory;
}

QString CellLimits::userParent(const QString &parent, uid_t uid)
{
    return QDir::cleanPath(parent) + QLatin1Char('/') + userDirectory(uid);
}

QStringList CellLimits::parents() const
{
    QStringList result{m_parent};
    for (const QString &mount : {m_legacyPidsMount, m_legacyMemoryMount}) {
        if (!mount.isEmpty()) {
            result.append(QDir::cleanPath(mount + m_relativeParent));
        }
    }
    return result;
}

QStringList CellLimits::userParents(uid_t uid) const
{
    QStringList result;
    const auto all = parents();
    for (const QString &parent : all) {
        result.append(parent + QLatin1Char('/') + userDirectory(uid));
    }
    return result;
}

QStringList CellLimits::legacyDirectories(uid_t uid, const QString &name) const
{
    QStringList result = userParents(uid).mid(1);
    for (QString &directory : result) {
        directory += QLatin1Char('/') + name;
    }
    return result;
}

Result<void> CellLimits::enableUnifiedControllers(uid_t uid) const
{
    QByteArray controllers;
    if (m_tasks == LimitMechanism::UnifiedCgroup) {
        controllers += "+pids ";
    }
    if (m_memory == LimitMechanism::UnifiedCgroup) {
        controllers += "+memory ";
    }
    if (controllers.isEmpty()) {
        return {};
    }
    // From the root of the hierarchy down to the user's parent, each level
    // hands the controllers to its children.
    QString directory = m_unifiedMount == QLatin1String("/") ? QString() : m_unifiedMount;
    QStringList levels{m_unifiedMount};
    const auto names = (m_relativeParent + QLatin1Char('/') + userDirectory(uid)).split(QLatin1Char('/'), Qt::SkipEmptyParts);
    for (const QString &name : names) {
        directory += QLatin1Char('/') + name;
        levels.append(directory);
    }
    for (const QString &level : std::as_const(levels)) {
        if (auto enabled = CgroupFiles::write(level + QStringLiteral("/cgroup.subtree_control"), controllers.trimmed()); !enabled) {
            return Error{
                i18n("Cannot hand the %1 controllers to the sessions' control groups in %2: %3 A control group with processes of its own "
                     "cannot hand controllers on; choose a parent (REWIND_CGROUP_PARENT) whose ancestors hold no processes.",
                     QString::fromLatin1(controllers.trimmed()),
                     level,
                     enabled.errorMessage())};
        }
    }
    return {};
}

Result<void> CellLimits::makeLegacyParent(const QString &mount, uid_t uid, const QByteArray &file, qint64 value) const
{
    const QString relative = m_relativeParent + QLatin1Char('/') + userDirectory(uid);
    if (auto made = CgroupFiles::makeDirectories(mount, relative); !made) {
        return made.error();
    }
    const QByteArray none = file == "memory.limit_in_bytes" ? QByteArray("-1") : QByteArray("max");
    return CgroupFiles::write(QDir::cleanPath(mount + relative) + QLatin1Char('/') + QString::fromLatin1(file), limitValue(value, none));
}

Result<CellCgroups> CellLimits::createCell(uid_t uid, const QString &name, const UserLimits &limits) const
{
    if (!Cgroup::isValidName(name)) {
        return Error{i18n("“%1” is not a valid cell name: use 1 to 64 lowercase letters, digits and dashes.", name)};
    }
    const QString user = userParent(m_parent, uid);
    if (auto made = CgroupFiles::makeDirectories(m_unifiedMount, m_relativeParent + QLatin1Char('/') + userDirectory(uid)); !made) {
        return made.error();
    }
    if (auto enabled = enableUnifiedControllers(uid); !enabled) {
        return enabled.error();
    }
    if (m_tasks == LimitMechanism::UnifiedCgroup) {
        if (auto written = CgroupFiles::write(user + QStringLiteral("/pids.max"), limitValue(limits.tasks, "max")); !written) {
            return written.error();
        }
    }
    if (m_memory == LimitMechanism::UnifiedCgroup) {
        if (auto written = CgroupFiles::write(user + QStringLiteral("/memory.max"), limitValue(limits.memoryBytes, "max")); !written) {
            return written.error();
        }
    }
    if (m_tasks == LimitMechanism::LegacyCgroup) {
        if (auto made = makeLegacyParent(m_legacyPidsMount, uid, "pids.max", limits.tasks); !made) {
            return made.error();
        }
    }
    if (m_memory == LimitMechanism::LegacyCgroup) {
        if (auto made = makeLegacyParent(m_legacyMemoryMount, uid, "memory.limit_in_bytes", limits.memoryBytes); !made) {
            return made.error();
        }
    }

    auto unified = Cgroup::create(user, name);
    if (!unified) {
        return unified.error();
    }
    CellCgroups cell(*unified, legacyDirectories(uid, name), m_tasks == LimitMechanism::ProcessLimit ? limits.tasks : -1);
    const auto legacyParents = userParents(uid).mid(1);
    for (const QString &legacyParent : legacyParents) {
        if (auto made = CgroupFiles::makeDirectories(legacyParent, name); !made) {
            (void)cell.killAndRemove();
            return made.error();
        }
    }
    return cell;
}

} // namespace Rewind
