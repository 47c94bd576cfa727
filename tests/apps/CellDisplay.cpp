// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellDisplay.h"

#include "UniqueFd.h"

#include <QProcess>
#include <QProcessEnvironment>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

using namespace Rewind;

CellDisplay::CellDisplay(pid_t initPid, int display)
    : m_initPid(initPid)
    , m_display(display)
{
}

QByteArray CellDisplay::xdotool(const QStringList &arguments, int timeoutMs)
{
    m_error.clear();
    const UniqueFd mounts(::open(QByteArray("/proc/" + QByteArray::number(m_initPid) + "/ns/mnt").constData(), O_RDONLY | O_CLOEXEC));
    if (!mounts) {
        m_error = QStringLiteral("the cell of process %1 is gone").arg(m_initPid);
        return {};
    }
    QProcess process;
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("DISPLAY"), QStringLiteral(":%1").arg(m_display));
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    process.setProcessEnvironment(environment);
    const int mountNamespace = mounts.get();
    process.setChildProcessModifier([mountNamespace] {
        // Only the mount namespace: the program sees the cell's /tmp and
        // stays out of everything a snapshot takes.
        if (::setns(mountNamespace, CLONE_NEWNS) != 0) {
            _exit(126);
        }
    });
    process.start(QStringLiteral("xdotool"), arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(-1);
        m_error = QStringLiteral("xdotool %1 did not finish in %2 ms").arg(arguments.join(QLatin1Char(' '))).arg(timeoutMs);
        return {};
    }
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        m_error = QStringLiteral("xdotool %1 failed (%2): %3")
                      .arg(arguments.join(QLatin1Char(' ')))
                      .arg(process.exitCode())
                      .arg(QString::fromLocal8Bit(process.readAllStandardError()).trimmed());
        return {};
    }
    return process.readAllStandardOutput();
}

QStringList CellDisplay::visibleWindows(const QString &className)
{
    // xdotool search exits with 1 when nothing matches: no windows, not an error.
    const QByteArray found = xdotool({QStringLiteral("search"), QStringLiteral("--onlyvisible"), QStringLiteral("--class"), className});
    return QString::fromLatin1(found).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

QString CellDisplay::title(const QString &window)
{
    return QString::fromUtf8(xdotool({QStringLiteral("getwindowname"), window})).trimmed();
}

bool CellDisplay::activate(const QString &window)
{
    xdotool({QStringLiteral("windowactivate"), QStringLiteral("--sync"), window});
    return m_error.isEmpty();
}

bool CellDisplay::type(const QString &text)
{
    xdotool({QStringLiteral("type"), QStringLiteral("--delay"), QStringLiteral("40"), text});
    return m_error.isEmpty();
}

bool CellDisplay::keys(const QStringList &keys)
{
    xdotool(QStringList{QStringLiteral("key"), QStringLiteral("--delay"), QStringLiteral("80")} + keys);
    return m_error.isEmpty();
}
