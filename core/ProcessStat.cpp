// SPDX-License-Identifier: GPL-2.0-or-later
#include "ProcessStat.h"

#include <QFile>
#include <QList>

namespace Rewind
{

std::optional<ProcessStat> ProcessStat::read(pid_t pid)
{
    if (pid <= 0) {
        return std::nullopt;
    }
    QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!file.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    return parse(file.read(4096));
}

std::optional<ProcessStat> ProcessStat::parse(const QByteArray &line)
{
    const qsizetype open = line.indexOf('(');
    const qsizetype close = line.lastIndexOf(')');
    if (open < 0 || close < open) {
        return std::nullopt;
    }
    // From STATE on; STARTTIME is the 22nd field of the line, the 20th of these.
    const QList<QByteArray> fields = line.mid(close + 2).trimmed().split(' ');
    if (fields.size() < 20 || fields.at(0).size() != 1) {
        return std::nullopt;
    }
    ProcessStat stat;
    stat.command = line.mid(open + 1, close - open - 1);
    stat.state = fields.at(0).at(0);
    stat.parent = fields.at(1).toInt();
    stat.session = fields.at(3).toInt();
    stat.terminal = fields.at(4).toUInt();
    stat.terminalForeground = fields.at(5).toInt();
    stat.startTime = fields.at(19).toULongLong();
    return stat;
}

} // namespace Rewind
