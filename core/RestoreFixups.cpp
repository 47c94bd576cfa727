// SPDX-License-Identifier: GPL-2.0-or-later
#include "RestoreFixups.h"

#include "CheckpointabilityScan.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QHash>
#include <QVariantList>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

const QString affinityKey = QStringLiteral("affinity");
/// linux/timerfd.h's, which glibc's header does not have.
constexpr unsigned long setTicks = _IOW('T', 0, std::uint64_t);
const QString timersKey = QStringLiteral("periodicTimerfds");

QList<pid_t> threadsOf(pid_t pid)
{
    QList<pid_t> tids;
    const QStringList entries = QDir(QStringLiteral("/proc/%1/task").arg(pid)).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        tids.append(entry.toInt());
    }
    return tids;
}

/// The id of a thread in the innermost pid namespace, the cell's (cells
/// cannot make pid namespaces of their own); -1 if gone.
long idInCell(pid_t pid, pid_t tid)
{
    QFile status(QStringLiteral("/proc/%1/task/%2/status").arg(pid).arg(tid));
    if (!status.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const auto lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("NSpid:")) {
            return line.simplified().split(' ').last().toLong();
        }
    }
    return -1;
}

/// "key: value" lines of an fdinfo.
QHash<QByteArray, QByteArray> fdInfo(pid_t pid, const QString &fd)
{
    QHash<QByteArray, QByteArray> fields;
    QFile info(QStringLiteral("/proc/%1/fdinfo/%2").arg(pid).arg(fd));
    if (info.open(QIODevice::ReadOnly)) {
        const auto lines = info.readAll().split('\n');
        for (const QByteArray &line : lines) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0) {
                fields.insert(line.left(colon).trimmed(), line.mid(colon + 1).trimmed());
            }
        }
    }
    return fields;
}

/// "(seconds, nanoseconds)" in nanoseconds; -1 if unreadable.
qint64 nanosecondsOf(const QByteArray &pair)
{
    const QList<QByteArray> parts = QByteArray(pair).replace('(', "").replace(')', "").split(',');
    bool secondsOk = false;
    bool nanosecondsOk = false;
    const qint64 value = parts.size() == 2 ? parts[0].trimmed().toLongLong(&secondsOk) * 1000000000LL + parts[1].trimmed().toLongLong(&nanosecondsOk) : -1;
    return secondsOk && nanosecondsOk ? value : -1;
}

} // namespace

QVariantMap RestoreFixups::record(pid_t cellInit)
{
    QVariantList affinities;
    QVariantList timers;
    const auto cell = CheckpointabilityScan::cellProcesses(cellInit);
    const QList<pid_t> pids = cell ? *cell : QList<pid_t>();
    for (const pid_t pid : pids) {
        for (const pid_t tid : threadsOf(pid)) {
            cpu_set_t cpus;
            CPU_ZERO(&cpus);
            const long tidInCell = idInCell(pid, tid);
            if (tidInCell <= 0 || ::sched_getaffinity(tid, sizeof cpus, &cpus) != 0) {
                continue;
            }
            QVariantList list;
            for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
                if (CPU_ISSET(cpu, &cpus)) {
                    list.append(cpu);
                }
            }
            affinities.append(QVariantMap{{QStringLiteral("tid"), qint64(tidInCell)}, {QStringLiteral("cpus"), list}});
        }
        const long pidInCell = idInCell(pid, pid);
        // Listed with hidden and broken links too: QDir's filters would drop anon_inode links.
        const QStringList fds = QDir(QStringLiteral("/proc/%1/fd").arg(pid)).entryList(QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot);
        for (const QString &fd : fds) {
            char target[64];
            const QByteArray link = QFile::encodeName(QStringLiteral("/proc/%1/fd/%2").arg(pid).arg(fd));
            const ssize_t length = ::readlink(link.constData(), target, sizeof target);
            if (length <= 0 || QByteArray(target, length) != "anon_inode:[timerfd]") {
                continue;
            }
            const auto info = fdInfo(pid, fd);
            const qint64 value = nanosecondsOf(info.value("it_value"));
            const qint64 interval = nanosecondsOf(info.value("it_interval"));
            // Armed and periodic: expired and not read since, it shows 0 to
            // CRIU, which may look after this, while the dump runs.
            if (interval > 0 && (value > 0 || info.value("ticks").toLongLong() > 0) && pidInCell > 0) {
                timers.append(
                    QVariantMap{{QStringLiteral("pid"), qint64(pidInCell)}, {QStringLiteral("fd"), fd.toInt()}, {QStringLiteral("intervalNs"), interval}});
            }
        }
    }
    return {{affinityKey, affinities}, {timersKey, timers}};
}

Result<void> RestoreFixups::apply(const QVariantMap &recorded, pid_t cellInit)
{
    // The restored processes and threads by their ids in the cell (criu,
    // which restored them, is not in it).
    QHash<long, pid_t> threads;
    QHash<long, pid_t> processes;
    const auto pids = CheckpointabilityScan::cellProcesses(cellInit);
    if (!pids) {
        return pids.error();
    }
    for (const pid_t pid : *pids) {
        processes.insert(idInCell(pid, pid), pid);
        for (const pid_t tid : threadsOf(pid)) {
            const long id = idInCell(pid, tid);
            if (threads.contains(id)) {
                return Error{i18n("The restored session has two threads with the id %1.", QString::number(id))};
            }
            threads.insert(id, tid);
        }
    }
    const QVariantList affinities = recorded.value(affinityKey).toList();
    for (const QVariant &entry : affinities) {
        const QVariantMap affinity = entry.toMap();
        const pid_t tid = threads.value(affinity.value(QStringLiteral("tid")).toLongLong(), -1);
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        const QVariantList list = affinity.value(QStringLiteral("cpus")).toList();
        for (const QVariant &cpu : list) {
            if (const int number = cpu.toInt(); number >= 0 && number < CPU_SETSIZE) {
                CPU_SET(number, &cpus);
            }
        }
        // A CPU the machine no longer has: the thread keeps what the restore gave it.
        if (tid > 0 && CPU_COUNT(&cpus) > 0 && ::sched_setaffinity(tid, sizeof cpus, &cpus) != 0 && errno != EINVAL) {
            return Error{i18n("Could not give thread %1 its CPU affinity back: %2", QString::number(tid), QString::fromLocal8Bit(std::strerror(errno)))};
        }
    }
    const QVariantList timers = recorded.value(timersKey).toList();
    for (const QVariant &entry : timers) {
        const QVariantMap timer = entry.toMap();
        const pid_t pid = processes.value(timer.value(QStringLiteral("pid")).toLongLong(), -1);
        const qint64 interval = timer.value(QStringLiteral("intervalNs")).toLongLong();
        if (pid <= 0 || interval <= 0) {
            continue;
        }
        // CRIU restored it disarmed (else it shows time left): arm it again,
        // through a duplicate of the restored process's own descriptor.
        const int fd = timer.value(QStringLiteral("fd")).toInt();
        if (nanosecondsOf(fdInfo(pid, QString::number(fd)).value("it_value")) != 0) {
            continue;
        }
        const UniqueFd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
        const UniqueFd timerFd(pidfd ? int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)) : -1);
        const timespec period{time_t(interval / 1000000000LL), long(interval % 1000000000LL)};
        const itimerspec again{period, period};
        // Arming again clears the expirations CRIU restored: set them back.
        std::uint64_t ticks = fdInfo(pid, QString::number(fd)).value("ticks").toULongLong();
        if (!timerFd || ::timerfd_settime(timerFd.get(), 0, &again, nullptr) != 0 || (ticks > 0 && ::ioctl(timerFd.get(), setTicks, &ticks) != 0)) {
            return Error{i18n("Could not start a periodic timer of process %1 again: %2", QString::number(pid), QString::fromLocal8Bit(std::strerror(errno)))};
        }
    }
    return {};
}

} // namespace Rewind
