// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace Rewind
{

/// How a commit makes the memory images of an incremental dump whole
/// (IncrementalDump): each pages image as a sequence of runs of pages, taken
/// in turn from its staged file (which holds the pages that changed) or from
/// a pages image of the parent snapshot, by page index. The parent's pages
/// are stored already: the commit takes their chunk ids and never reads them.
struct PageRun {
    quint64 pages = 0;
    qint64 parentPage = -1; ///< the first page in the parent's image; -1: the staged file's next pages

    bool operator==(const PageRun &) const = default;
};

struct AssembledPages {
    QString parentPath; ///< the parent snapshot's pages image, e.g. "images/pages-7.img"
    QList<PageRun> runs;
};

struct PageAssembly {
    qint64 parentSnapshot = 0; ///< the session's newest snapshot, which the dump was tracked against
    QHash<QString, AssembledPages> files; ///< by path in the snapshot, e.g. "images/pages-3.img"
};

} // namespace Rewind
