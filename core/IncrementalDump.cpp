// SPDX-License-Identifier: GPL-2.0-or-later
#include "IncrementalDump.h"

#include "CriuImageFrame.h"
#include "CriuPagemap.h"
#include "FileWriting.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>

#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

// A pagemap of a process with every mapping split at every page is below this.
constexpr qint64 maximumPagemapBytes = 512LL * 1024 * 1024;

Result<QByteArray> readPagemap(int directoryFd, const QByteArray &name)
{
    auto image = CriuImageFrame::read(directoryFd, name.constData(), maximumPagemapBytes);
    if (!image) {
        return Error{i18n("The memory map %1 is missing, unreadable or larger than any process's.", QFile::decodeName(name))};
    }
    return *image;
}

Result<QList<QByteArray>> pagemapNames(int imagesDirFd)
{
    QList<QByteArray> names;
    const bool listed = CriuImageFrame::forEachEntry(imagesDirFd, [&names](const dirent &entry) {
        const QByteArray name(entry.d_name);
        if (name.startsWith("pagemap-") && name.endsWith(".img")) {
            names.append(name);
        }
    });
    if (!listed) {
        return Error{i18n("The dump's images cannot be listed: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    return names;
}

/// The parent's present entries with where each one's pages start in its pages image.
struct ParentPages {
    QList<CriuPagemap::Entry> entries;
    QList<qint64> firstPage;
};

Result<ParentPages> indexParent(const CriuPagemap &parent, const QByteArray &name)
{
    ParentPages index;
    qint64 next = 0;
    for (const CriuPagemap::Entry &entry : parent.entries) {
        if (!entry.isWhole()) {
            return Error{i18n("The parent snapshot's memory map %1 is not whole: entry at %2 has flags %3.",
                              QFile::decodeName(name),
                              QString::number(entry.address, 16),
                              entry.flags)};
        }
        index.entries.append(entry);
        index.firstPage.append(next);
        next += qint64(entry.pages);
    }
    return index;
}

/// Appends pages to runs, joining a run that continues the last one.
void appendRun(QList<PageRun> &runs, quint64 pages, qint64 parentPage)
{
    if (!runs.isEmpty()) {
        PageRun &last = runs.last();
        const bool bothStaged = last.parentPage < 0 && parentPage < 0;
        const bool parentContinues = last.parentPage >= 0 && parentPage == last.parentPage + qint64(last.pages);
        if (bothStaged || parentContinues) {
            last.pages += pages;
            return;
        }
    }
    runs.append(PageRun{pages, parentPage});
}

/// The runs of child's pages image; its entries all become present.
Result<QList<PageRun>> assemble(CriuPagemap &child, const ParentPages &parent, const QByteArray &name)
{
    QList<PageRun> runs;
    for (CriuPagemap::Entry &entry : child.entries) {
        if (entry.isWhole()) {
            appendRun(runs, entry.pages, -1);
            continue;
        }
        if (!(entry.flags & CriuPagemap::parentFlag)) {
            return Error{i18n("The dump's memory map %1 has an entry Rewind cannot store (flags %2 at %3).",
                              QFile::decodeName(name),
                              entry.flags,
                              QString::number(entry.address, 16))};
        }
        quint64 address = entry.address;
        const quint64 end = entry.address + entry.pages * CriuPagemap::pageSize;
        while (address < end) {
            // The parent's last entry that starts at or before address.
            const auto after = std::upper_bound(parent.entries.cbegin(), parent.entries.cend(), address, [](quint64 value, const CriuPagemap::Entry &e) {
                return value < e.address;
            });
            const qsizetype index = (after - parent.entries.cbegin()) - 1;
            const quint64 parentEnd = index >= 0 ? parent.entries[index].address + parent.entries[index].pages * CriuPagemap::pageSize : 0;
            if (index < 0 || address >= parentEnd) {
                return Error{i18n("The dump's memory map %1 takes the page at %2 from the parent snapshot, which does not have it.",
                                  QFile::decodeName(name),
                                  QString::number(address, 16))};
            }
            const quint64 taken = (std::min(end, parentEnd) - address) / CriuPagemap::pageSize;
            appendRun(runs, taken, parent.firstPage[index] + qint64((address - parent.entries[index].address) / CriuPagemap::pageSize));
            address += taken * CriuPagemap::pageSize;
        }
        entry.flags = CriuPagemap::presentFlag;
    }
    return runs;
}

Result<void> replace(int imagesDirFd, const QByteArray &name, const QByteArray &content)
{
    const QByteArray temporary = name + ".whole";
    UniqueFd file(::openat(imagesDirFd, temporary.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file || !writeAll(file.get(), content.constData(), std::size_t(content.size()))
        || ::renameat(imagesDirFd, temporary.constData(), imagesDirFd, name.constData()) != 0) {
        const int error = errno;
        ::unlinkat(imagesDirFd, temporary.constData(), 0);
        return Error{i18n("The memory map %1 cannot be written: %2", QFile::decodeName(name), QString::fromLocal8Bit(std::strerror(error)))};
    }
    return {};
}

} // namespace

Result<PageAssembly> IncrementalDump::makeWhole(int imagesDirFd, int parentImagesDirFd, qint64 parentSnapshot)
{
    // The snapshot holds regular files only; CRIU's link leads out of it.
    if (::unlinkat(imagesDirFd, parentLinkName, 0) != 0 && errno != ENOENT) {
        return Error{i18n("The link to the parent's images cannot be removed: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    auto names = pagemapNames(imagesDirFd);
    if (!names) {
        return names.error();
    }
    PageAssembly assembly;
    assembly.parentSnapshot = parentSnapshot;
    for (const QByteArray &name : std::as_const(*names)) {
        auto image = readPagemap(imagesDirFd, name);
        if (!image) {
            return image.error();
        }
        auto child = CriuPagemap::parse(*image);
        if (!child) {
            return child.error();
        }
        if (!child->referencesParent()) {
            continue;
        }
        // A process or shared memory keeps its pagemap's name between dumps.
        auto parentImage = readPagemap(parentImagesDirFd, name);
        if (!parentImage) {
            return parentImage.error();
        }
        auto parent = CriuPagemap::parse(*parentImage);
        if (!parent) {
            return parent.error();
        }
        auto parentPages = indexParent(*parent, name);
        if (!parentPages) {
            return parentPages.error();
        }
        auto runs = assemble(*child, *parentPages, name);
        if (!runs) {
            return runs.error();
        }
        const QString path = QStringLiteral("images/") + QString::fromLatin1(child->pagesFileName());
        if (assembly.files.contains(path)) {
            return Error{i18n("Two memory maps of the dump name the same pages image %1.", path)};
        }
        assembly.files.insert(path, AssembledPages{QStringLiteral("images/") + QString::fromLatin1(parent->pagesFileName()), *runs});
        if (auto written = replace(imagesDirFd, name, child->serialize()); !written) {
            return written.error();
        }
    }
    return assembly;
}

} // namespace Rewind
