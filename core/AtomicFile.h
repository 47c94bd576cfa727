// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QString>

namespace Rewind
{

enum class ExistingFile {
    Replace,
    Refuse, ///< creating it: an existing file is an error (EEXIST), never replaced
};

/// Replaces directory/name with data, readable by its owner only: written to
/// a temporary file, fsync'ed, renamed over the old one, and the directory
/// fsync'ed, so that after a crash the file is wholly old or wholly new.
/// Refuses to follow a symbolic link at directory/name.
Result<void> writeFileAtomically(const QString &directory, const QString &name, const QByteArray &data, ExistingFile existing = ExistingFile::Replace);

/// Creates directory (and its parents) if needed and makes it 0700.
Result<void> makePrivateDirectory(const QString &directory);

} // namespace Rewind
