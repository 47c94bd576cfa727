// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QByteArray>
#include <QString>

namespace Rewind
{

/// Files and directories of cgroup file systems (version 1 and 2), reached
/// without following a symbolic link anywhere on the way, and only if they
/// are on a cgroup file system.
namespace CgroupFiles
{
/// Opens PATH (a file or directory of a cgroup file system); an invalid fd
/// with errno set otherwise (ELOOP or EXDEV for a link on the way, EMEDIUMTYPE
/// for another file system).
UniqueFd open(const QString &path, int flags);
Result<QByteArray> read(const QString &path);
Result<void> write(const QString &path, const QByteArray &value);
/// Makes the directory PATH below the existing cgroup directory BASE, with
/// every missing directory on the way; existing ones are fine.
Result<void> makeDirectories(const QString &base, const QString &relative);
/// Removes DIRECTORY if it exists; a missing one is fine, one with processes is an Error.
Result<void> removeDirectory(const QString &directory);
/// Removes DIRECTORY and every cgroup below it, innermost first; they must be empty.
Result<void> removeTree(const QString &directory);
} // namespace CgroupFiles

} // namespace Rewind
