// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellMemory.h"

#include "CgroupFiles.h"

#include <QDirIterator>
#include <QFile>

#include <unistd.h>

namespace Rewind
{

namespace
{

qint64 residentBytesOf(const QByteArray &pid)
{
    QFile statm(QStringLiteral("/proc/%1/statm").arg(QString::fromLatin1(pid)));
    if (!statm.open(QIODevice::ReadOnly)) {
        return 0; // gone meanwhile
    }
    // "size resident shared text lib data dt", in pages.
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? fields.at(1).toLongLong() * qint64(::sysconf(_SC_PAGESIZE)) : 0;
}

qint64 residentBytesOfProcesses(const QString &cgroup)
{
    qint64 total = 0;
    QStringList directories{cgroup};
    QDirIterator below(cgroup, QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks, QDirIterator::Subdirectories);
    while (below.hasNext()) {
        directories.append(below.next());
    }
    for (const QString &directory : std::as_const(directories)) {
        const auto processes = CgroupFiles::read(directory + QStringLiteral("/cgroup.procs"));
        if (!processes) {
            continue;
        }
        for (const QByteArray &pid : processes->split('\n')) {
            if (!pid.trimmed().isEmpty()) {
                total += residentBytesOf(pid.trimmed());
            }
        }
    }
    return total;
}

} // namespace

qint64 CellMemory::residentBytes(const QString &cgroup)
{
    if (auto current = CgroupFiles::read(cgroup + QStringLiteral("/memory.current"))) {
        bool ok = false;
        const qint64 bytes = current->trimmed().toLongLong(&ok);
        if (ok) {
            // CRIU dumps what is swapped out as well.
            const auto swapped = CgroupFiles::read(cgroup + QStringLiteral("/memory.swap.current"));
            return bytes + (swapped ? swapped->trimmed().toLongLong() : 0);
        }
    }
    return residentBytesOfProcesses(cgroup);
}

} // namespace Rewind
