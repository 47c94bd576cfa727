// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "RewindPaths.h"
#include "SessionManager.h"
#include "TestCgroupParent.h"

#include <QTemporaryDir>

#include <memory>

/// Sessions of a test: a private state directory (under /var/tmp, since every
/// cell gets a private /tmp and must see the session plans), a private cgroup
/// parent and a SessionManager on them. Every session is removed, its cell
/// reaped and the cgroup parent removed when this goes away, also when a test
/// fails. The test process must be a child subreaper (TestCell::becomeSubreaper).
class TestSessions
{
public:
    TestSessions();
    ~TestSessions();

    bool isValid() const;
    const Rewind::RewindPaths &paths() const
    {
        return m_paths;
    }
    Rewind::SessionManager &manager()
    {
        return *m_manager;
    }

    /// Removes every session and reaps what is left of their cells.
    void removeAll();

    /// The number a counter in the cell of initPid last wrote to pathInCell; -1 if none.
    static long counterIn(pid_t initPid, const QString &pathInCell);

private:
    QTemporaryDir m_state;
    TestCgroupParent m_cgroups;
    Rewind::RewindPaths m_paths;
    std::unique_ptr<Rewind::SessionManager> m_manager;
};
