// SPDX-License-Identifier: GPL-2.0-or-later
#include "VforkWaits.h"
#include "CgroupFiles.h"

#include <QDir>
#include <QFile>

#include <thread>

namespace Rewind
{
namespace
{

/// The state letter of /proc/TID/stat ("R", "S", "D", ...), and the command
/// in its parentheses; state 0 when the thread is gone.
struct ThreadStat {
    char state = 0;
    QString command;
};

ThreadStat readStat(pid_t tid)
{
    QFile file(QStringLiteral("/proc/%1/stat").arg(tid));
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    // "TID (COMMAND) STATE ...": the command may itself hold ") ".
    const QByteArray line = file.read(1024);
    const qsizetype open = line.indexOf('(');
    const qsizetype close = line.lastIndexOf(')');
    if (open < 0 || close < open || close + 2 >= line.size()) {
        return {};
    }
    return {line.at(close + 2), QString::fromUtf8(line.mid(open + 1, close - open - 1))};
}

Result<void> collect(const QString &cgroupDir, QList<VforkWaits::Thread> *waiting)
{
    auto threads = CgroupFiles::read(cgroupDir + QStringLiteral("/cgroup.threads"));
    if (!threads) {
        return threads.error();
    }
    const auto lines = threads->split('\n');
    for (const QByteArray &line : lines) {
        bool ok = false;
        const pid_t tid = line.trimmed().toInt(&ok);
        if (!ok) {
            continue;
        }
        const ThreadStat stat = readStat(tid);
        if (stat.state == 'D') {
            waiting->append({tid, stat.command});
        }
    }
    const auto children = QDir(cgroupDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks);
    for (const QString &child : children) {
        if (auto collected = collect(cgroupDir + QLatin1Char('/') + child, waiting); !collected) {
            return collected;
        }
    }
    return {};
}

} // namespace

Result<QList<VforkWaits::Thread>> VforkWaits::inFrozenCgroup(const QString &cgroupDir)
{
    QList<Thread> waiting;
    if (auto collected = collect(cgroupDir, &waiting); !collected) {
        return collected.error();
    }
    return waiting;
}

bool VforkWaits::waitUntilMovedOn(const QList<Thread> &threads, std::chrono::steady_clock::time_point deadline)
{
    // The kernel announces no change of a thread's state, so this looks
    // every millisecond; a vfork() child usually execs within one.
    QList<Thread> pending = threads;
    for (;;) {
        pending.removeIf([](const Thread &thread) {
            return readStat(thread.tid).state != 'D';
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
