// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"
#include "UniqueFd.h"

#include <QString>

namespace Rewind
{

/// A fresh root-only directory under Rewind's staging area, removed with
/// everything in it when the object goes away, also on every error path.
/// While it exists it is locked (flock), so that removeLeftovers() can tell
/// the directory of a process killed mid-snapshot from one in use.
class StagingDirectory
{
public:
    static Result<StagingDirectory> create(const QString &parent);
    /// Removes staging directories nobody holds any more; returns how many.
    static int removeLeftovers(const QString &parent);
    StagingDirectory(StagingDirectory &&other) noexcept;
    StagingDirectory &operator=(StagingDirectory &&) = delete;
    ~StagingDirectory();

    QString path() const
    {
        return m_path;
    }
    int fd() const
    {
        return m_fd.get();
    }
    /// Creates a subdirectory and opens it.
    Result<UniqueFd> makeSubdirectory(const char *name) const;

private:
    StagingDirectory() = default;
    QString m_path;
    UniqueFd m_fd;
};

} // namespace Rewind
