// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <sys/types.h>

namespace Rewind
{

/// Nested user namespaces in a cell: applications that make them (browsers'
/// sandboxes) would leave the cell undumpable, so a cell forbids them
/// (user.max_user_namespaces = 0 in its user namespace). rewind-cell-init
/// sets that for a new cell; CRIU does not restore it, so a restore sets it
/// again before the restored tree runs.
class NestedNamespaces
{
public:
    /// Forbids new user namespaces inside the user namespace of process pid.
    static Result<void> forbid(pid_t pid);
    /// Allows up to COUNT user namespaces inside that of process pid: what
    /// a cell would be without the limit (tests show what it prevents).
    static Result<void> setMaximum(pid_t pid, int count);
};

} // namespace Rewind
