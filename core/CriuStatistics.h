// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QVariantMap>

namespace Rewind
{

/// What CRIU measured during a dump (its stats-dump image).
struct CriuDumpStatistics {
    quint32 freezingMicroseconds = 0;
    quint32 frozenMicroseconds = 0;
    quint32 memoryDumpMicroseconds = 0;
    quint32 memoryWriteMicroseconds = 0;
    quint64 pagesScanned = 0;
    quint64 pagesWritten = 0;

    /// Reads stats-dump from the images directory.
    static Result<CriuDumpStatistics> read(int imagesDirFd);
    QVariantMap toVariantMap() const;
};

} // namespace Rewind
