// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

/// A cgroup parent directory of a test's own (/sys/fs/cgroup/rewind-test-PID-RANDOM).
/// When it goes out of scope, also when the test fails, every cgroup in it is
/// thawed, emptied with cgroup.kill and removed, and so is the parent.
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
    QString m_path;
};
