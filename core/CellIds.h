// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

namespace Rewind::CellIds
{

/// What the root of every cell's user namespace maps to. Rewind reserves the
/// host uid and gid 0x7fff0000 the way subordinate id ranges are reserved: no
/// user, group or file of the host may have them, so that a cell's root owns
/// nothing outside its cell. Free of Qt: rewind-cell-init uses it too.
constexpr uid_t root = 2147418112; // 0x7fff0000
constexpr gid_t rootGroup = 2147418112;

/// The system user root's own sessions run as (resources/rewind.sysusers),
/// mapped to itself like any owner: a session never runs as uid 0, which
/// programs take for a privileged root, and its programs want a passwd entry.
constexpr const char *rootSessionUserName = "rewind-session";

} // namespace Rewind::CellIds
