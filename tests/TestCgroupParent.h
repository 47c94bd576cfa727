// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

/// A cgroup parent directory of a test's own (/sys/fs/cgroup/rewind-test-PID-RANDOM).
/// When it goes out of scope, also when the test fails, every cgroup in it
/// (cells, and the parents of their users with cells in them) is thawed,
/// emptied with cgroup.kill and removed, and so is the parent, with its
/// counterparts in the cgroup v1 hierarchies that limit cells (CellLimits).
class TestCgroupParent
{
public:
    TestCgroupParent();
    ~TestCgroupParent();
    TestCgroupParent(const TestCgroupParent &) = delete;
    TestCgroupParent &operator=(const TestCgroupParent &) = delete;

    QString path() const
    {
        return m_path;
    }

private:
    static void thawAndKill(const QString &directory);
    QString m_path;
};
