// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestSessions.h"

#include <QFile>
#include <QRandomGenerator>

#include <sys/wait.h>
#include <unistd.h>

using namespace Rewind;

TestSessions::TestSessions()
    : m_state(QStringLiteral("/var/tmp/rewind-test-XXXXXX"))
    , m_paths{.stateDirectory = m_state.path(), .cgroupParent = m_cgroups.path(), .libexecDirectory = QStringLiteral(BUILD_BIN_DIR)}
    , m_manager(std::make_unique<SessionManager>(m_paths))
{
}

TestSessions::~TestSessions()
{
    removeAll(); // m_cgroups removes the cgroups then
}

bool TestSessions::isValid() const
{
    return m_state.isValid();
}

void TestSessions::removeAll()
{
    const auto sessions = m_manager->sessions();
    for (const SessionRecord &record : sessions) {
        (void)m_manager->remove(record.id);
        // Only the cells of these sessions: others belong to TestCell objects,
        // which reap them themselves.
        if (record.initPid > 0) {
            (void)::waitpid(record.initPid, nullptr, WNOHANG);
        }
    }
}

long TestSessions::counterIn(pid_t initPid, const QString &pathInCell)
{
    QFile file(SessionManager::cellPath(initPid, pathInCell));
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    bool ok = false;
    const long value = file.readAll().trimmed().toLong(&ok);
    return ok ? value : -1;
}
