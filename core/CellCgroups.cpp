// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellCgroups.h"

#include "CgroupFiles.h"

namespace Rewind
{

Result<void> CellCgroups::killAndRemove()
{
    if (m_unified.exists()) {
        if (auto killed = m_unified.killAll(); !killed) {
            return killed.error();
        }
        if (auto removed = m_unified.remove(); !removed) {
            return removed.error();
        }
    }
    return removeLegacy();
}

Result<void> CellCgroups::removeLegacy() const
{
    Result<void> outcome;
    for (const QString &directory : m_legacy) {
        // The same processes as in the cgroup v2 directory, which is empty by now.
        if (auto removed = CgroupFiles::removeDirectory(directory); !removed && outcome.ok()) {
            outcome = removed.error();
        }
    }
    return outcome;
}

} // namespace Rewind
