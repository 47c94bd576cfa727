// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestCell.h"

#include <QFile>
#include <QProcess>

#include <csignal>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <utility>

TestCell::TestCell(pid_t initPid)
    : m_pid(initPid)
{
}

TestCell::~TestCell()
{
    kill();
}

TestCell::TestCell(TestCell &&other) noexcept
    : m_pid(std::exchange(other.m_pid, -1))
{
}

TestCell &TestCell::operator=(TestCell &&other) noexcept
{
    if (this != &other) {
        kill();
        m_pid = std::exchange(other.m_pid, -1);
    }
    return *this;
}

TestCell TestCell::start(const QStringList &command, QString *error)
{
    return startInCgroup(QString(), command, error);
}

TestCell TestCell::startInCgroup(const QString &cgroupDir, const QStringList &command, QString *error)
{
    QStringList arguments;
    if (!cgroupDir.isEmpty()) {
        arguments << QStringLiteral("--cgroup") << cgroupDir;
    }
    return startWith(arguments, command, error);
}

TestCell TestCell::startWith(const QStringList &options, const QStringList &command, QString *error)
{
    QProcess launcher;
    launcher.start(QStringLiteral(CELL_INIT_PATH), options + QStringList{QStringLiteral("--")} + command);
    if (!launcher.waitForFinished(30000) || launcher.exitCode() != 0) {
        if (error) {
            *error = QString::fromLocal8Bit(launcher.readAllStandardError());
        }
        return TestCell();
    }
    bool ok = false;
    const pid_t pid = launcher.readAllStandardOutput().trimmed().toInt(&ok);
    return TestCell(ok ? pid : -1);
}

void TestCell::becomeSubreaper()
{
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

QByteArray TestCell::readFile(const QString &pathInCell) const
{
    QFile file(QStringLiteral("/proc/%1/root%2").arg(m_pid).arg(pathInCell));
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return file.readAll();
}

long TestCell::counter(const QString &pathInCell) const
{
    bool ok = false;
    const long value = readFile(pathInCell).trimmed().toLong(&ok);
    return ok ? value : -1;
}

void TestCell::kill()
{
    if (m_pid <= 0) {
        return;
    }
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
}
