// SPDX-License-Identifier: GPL-2.0-or-later
#include "VforkWaits.h"
#include "CgroupFiles.h"
#include "ProcessStat.h"

#include <QDir>

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace Rewind
{
namespace
{

/// Whether two processes share one address space: a vfork() child before it execs, and its parent.
bool shareMemory(pid_t first, pid_t second)
{
    return ::syscall(SYS_kcmp, first, second, KCMP_VM, 0, 0) == 0;
}

Result<void> collect(const QString &cgroupDir, QList<VforkWaits::Wait> *waits)
{
    auto processes = CgroupFiles::read(cgroupDir + QStringLiteral("/cgroup.procs"));
    if (!processes) {
        return processes.error();
    }
    const auto lines = processes->split('\n');
    for (const QByteArray &line : lines) {
        bool ok = false;
        const pid_t pid = line.trimmed().toInt(&ok);
        if (!ok) {
            continue;
        }
        const auto child = ProcessStat::read(pid);
        if (child && child->parent > 0 && shareMemory(pid, child->parent)) {
            const auto parent = ProcessStat::read(child->parent);
            waits->append({child->parent, pid, parent ? QString::fromUtf8(parent->command) : QString()});
        }
    }
    const auto children = QDir(cgroupDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks);
    for (const QString &child : children) {
        if (auto collected = collect(cgroupDir + QLatin1Char('/') + child, waits); !collected) {
            return collected;
        }
    }
    return {};
}

} // namespace

Result<QList<VforkWaits::Wait>> VforkWaits::inCgroup(const QString &cgroupDir)
{
    QList<Wait> waits;
    if (auto collected = collect(cgroupDir, &waits); !collected) {
        return collected.error();
    }
    return waits;
}

bool VforkWaits::waitUntilMovedOn(const QList<Wait> &waits, std::chrono::steady_clock::time_point deadline)
{
    // The kernel announces no exec, so this looks every millisecond; a
    // vfork() child usually execs within one.
    QList<Wait> pending = waits;
    for (;;) {
        pending.removeIf([](const Wait &wait) {
            return !shareMemory(wait.child, wait.parent);
        });
        if (pending.isEmpty()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

} // namespace Rewind
