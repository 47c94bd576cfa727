// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

namespace Rewind
{

namespace CellMemory
{
/// About the memory a cell's processes hold, which is about what CRIU writes
/// of them: the cgroup's memory.current and memory.swap.current where the
/// memory controller counts, else the resident memory of every process in
/// the cgroup and below it (which misses what is swapped out).
/// 0 if neither can be read.
qint64 residentBytes(const QString &cgroup);
} // namespace CellMemory

} // namespace Rewind
