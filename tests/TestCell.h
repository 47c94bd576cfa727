// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>
#include <QStringList>

#include <sys/types.h>

/// A cell started with rewind-cell-init for a test. Killed (with its whole
/// pid namespace) and reaped when it goes out of scope, also when the test fails.
/// The test process must be a child subreaper so that the cell's init is its child.
class TestCell
{
public:
    explicit TestCell(pid_t initPid = -1);
    ~TestCell();
    TestCell(TestCell &&other) noexcept;
    TestCell &operator=(TestCell &&other) noexcept;
    TestCell(const TestCell &) = delete;
    TestCell &operator=(const TestCell &) = delete;

    /// Starts COMMAND in a new cell; check valid() and error().
    static TestCell start(const QStringList &command, QString *error = nullptr);
    /// Starts COMMAND in a new cell whose processes live in the cgroup CGROUPDIR.
    static TestCell startInCgroup(const QString &cgroupDir, const QStringList &command, QString *error = nullptr);
    /// Starts COMMAND in a new cell, with rewind-cell-init's OPTIONS.
    static TestCell startWith(const QStringList &options, const QStringList &command, QString *error = nullptr);

    /// Makes the calling process the reaper of orphaned descendants.
    static void becomeSubreaper();

    bool valid() const
    {
        return m_pid > 0;
    }
    pid_t pid() const
    {
        return m_pid;
    }

    /// A file inside the cell, read through /proc/PID/root; empty if unreadable.
    QByteArray readFile(const QString &pathInCell) const;
    /// The number a rewind-test-counter in the cell last wrote to pathInCell; -1 if none.
    long counter(const QString &pathInCell) const;

    /// kill -9 of the cell's init (which takes the whole pid namespace) and reap it.
    void kill();

private:
    pid_t m_pid = -1;
};
