// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotStore.h"

#include "BackgroundWrite.h"
#include "ChunkList.h"
#include "ChunkRuns.h"
#include "ChunkStore.h"
#include "ContentChunker.h"
#include "FileWriting.h"
#include "OpenBeneath.h"
#include "SnapshotCatalog.h"

#include <KLocalizedString>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QLocale>
#include <QSet>
#include <QThreadPool>
#include <QtConcurrentMap>
#include <QtConcurrentRun>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace Rewind
{
namespace
{

// A commit looks at the free space again after writing this much.
constexpr qint64 freeSpaceCheckInterval = 64 * 1024 * 1024;

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

/// Holds flock() on the store's lock file for as long as it lives.
class StoreLock
{
public:
    StoreLock(int fd, int operation)
        : m_fd(fd)
    {
        int result;
        do {
            result = ::flock(fd, operation);
        } while (result != 0 && errno == EINTR);
        m_error = result == 0 ? 0 : errno;
    }
    ~StoreLock()
    {
        if (m_error == 0) {
            ::flock(m_fd, LOCK_UN);
        }
    }
    StoreLock(const StoreLock &) = delete;
    StoreLock &operator=(const StoreLock &) = delete;

    std::optional<Error> error(const QString &storePath) const
    {
        if (m_error == 0) {
            return std::nullopt;
        }
        return Error{i18n("Could not lock the snapshot store %1: %2", storePath, systemError(m_error))};
    }

private:
    int m_fd;
    int m_error = 0;
};

/// Closes the packs a reader opened when it is done.
class OpenPacks
{
public:
    explicit OpenPacks(const ChunkStore &chunks)
        : m_chunks(chunks)
    {
    }
    ~OpenPacks()
    {
        m_chunks.closePacks();
    }
    OpenPacks(const OpenPacks &) = delete;
    OpenPacks &operator=(const OpenPacks &) = delete;

private:
    const ChunkStore &m_chunks;
};

Error damagedSnapshot(qint64 snapshotId, const QString &what, const QString &path)
{
    return Error{
        i18n("Snapshot %1 is damaged and cannot be restored: %2 (in %3). Restore another snapshot; verifying the store lists "
             "every damaged one.",
             QString::number(snapshotId),
             what,
             path)};
}

ChunkStore::Location locationOf(const SnapshotCatalog::ChunkEntry &chunk)
{
    return ChunkStore::Location{chunk.pack, chunk.packOffset, chunk.storedBytes};
}

/// Lets a test kill the committing process at a chosen point. Only builds
/// made for testing listen: a product must not die on an environment variable.
void reachCrashPoint([[maybe_unused]] const char *point)
{
#ifdef REWIND_TEST_HOOKS
    const QByteArray wanted = qgetenv(SnapshotStore::crashPointVariable);
    if (wanted == point) {
        ::raise(SIGKILL);
    } else if (!wanted.isEmpty() && wanted == QByteArray(point) + ":stop") {
        ::raise(SIGSTOP);
    }
#endif
}

// A commit names and encodes the chunks of this many bytes at a time.
constexpr std::size_t batchBytes = 16 * 1024 * 1024;
// A restore decodes this many chunks at a time (about 16 MiB).
constexpr qsizetype chunksPerBatch = 1024;

// CRIU writes a process's memory as whole pages, and a page is what a
// program changes between two snapshots: chunks of memory are single pages,
// so a second snapshot stores the pages that changed, not their neighbours.
constexpr std::size_t pageChunkSize = 4096;

bool isMemoryPages(const QString &path)
{
    return path.startsWith(QLatin1String("images/pages-")) && path.endsWith(QLatin1String(".img"));
}

/// CRIU's inventory and pagemaps: what an incremental dump reads of its parent.
bool isMemoryMap(const QString &path)
{
    return path == QLatin1String("images/inventory.img") || (path.startsWith(QLatin1String("images/pagemap-")) && path.endsWith(QLatin1String(".img")));
}

/// Where a chunk of a commit is: in a pack already, or, for a new one, once written.
using ChunkPlace = SnapshotCatalog::ListedChunk;

/// A piece of a staged file, its id and, if it is a new chunk, its record.
struct Piece {
    const unsigned char *data = nullptr;
    std::size_t size = 0;
    ChunkList::Id id{};
    const ChunkIdMap<ChunkPlace>::Entry *previous = nullptr; ///< if the session's previous snapshot has it
    const ChunkPlace *place = nullptr; ///< where it is, once known
    bool isNew = false;
    Result<QByteArray> record = QByteArray();
};

/// Adds the time since its last lap to one step of a commit.
class StepClock
{
public:
    StepClock()
    {
        m_timer.start();
    }
    void lap(std::chrono::nanoseconds &step)
    {
        step += std::chrono::nanoseconds(m_timer.nsecsElapsed());
        m_timer.restart();
    }

private:
    QElapsedTimer m_timer;
};

/// A staged file mapped read-only for as long as this lives.
class MappedFile
{
public:
    static Result<MappedFile> map(int fd)
    {
        struct stat status{};
        if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
            return Error{i18n("it is no longer a regular file")};
        }
        MappedFile file;
        file.m_size = std::size_t(status.st_size);
        if (file.m_size > 0) {
            void *mapped = ::mmap(nullptr, file.m_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (mapped == MAP_FAILED) {
                return Error{systemError(errno)};
            }
            file.m_data = static_cast<const unsigned char *>(mapped);
        }
        return file;
    }
    MappedFile(MappedFile &&other) noexcept
        : m_data(std::exchange(other.m_data, nullptr))
        , m_size(std::exchange(other.m_size, 0))
    {
    }
    MappedFile &operator=(MappedFile &&) = delete;
    ~MappedFile()
    {
        if (m_data) {
            ::munmap(const_cast<unsigned char *>(m_data), m_size);
        }
    }
    const unsigned char *data() const
    {
        return m_data;
    }
    std::size_t size() const
    {
        return m_size;
    }
    /// Gives back the pages before offset: a staged file in memory would
    /// otherwise count twice, as staging and in Rewind's resident memory.
    void release(std::size_t offset)
    {
        const std::size_t pageSize = std::size_t(::sysconf(_SC_PAGESIZE));
        const std::size_t end = offset / pageSize * pageSize;
        if (m_data && end > m_released) {
            ::madvise(const_cast<unsigned char *>(m_data) + m_released, end - m_released, MADV_DONTNEED);
            m_released = end;
        }
    }

private:
    MappedFile() = default;
    const unsigned char *m_data = nullptr;
    std::size_t m_size = 0;
    std::size_t m_released = 0;
};

/// Cuts a staged file into pieces, in order: memory images page by page,
/// other files where their content says. An assembled memory image comes
/// from its runs: the staged file's pages, and the parent's pages as their
/// ids alone (parentList), without data.
class PieceCutter
{
public:
    PieceCutter(const MappedFile &file, bool memoryPages, const AssembledPages *assembled, const QByteArray &parentList)
        : m_file(file)
        , m_memoryPages(memoryPages)
        , m_assembled(assembled)
        , m_parentList(parentList)
    {
    }
    bool atEnd() const
    {
        return m_assembled ? m_run >= m_assembled->runs.size() : m_position >= m_file.size();
    }
    Piece next()
    {
        Piece piece;
        if (!m_assembled) {
            piece.data = m_file.data() + m_position;
            piece.size = m_memoryPages ? std::min(pageChunkSize, m_file.size() - m_position)
                                       : ContentChunker::cut(m_file.data() + m_position, m_file.size() - m_position);
            m_position += piece.size;
            return piece;
        }
        const PageRun &run = m_assembled->runs[m_run];
        piece.size = pageChunkSize;
        if (run.parentPage < 0) {
            piece.data = m_file.data() + m_position;
            m_position += pageChunkSize;
        } else {
            const QByteArray id = ChunkList::viewAt(m_parentList, run.parentPage + qsizetype(m_inRun));
            std::copy(id.cbegin(), id.cend(), piece.id.begin());
        }
        if (++m_inRun == run.pages) {
            ++m_run;
            m_inRun = 0;
        }
        return piece;
    }
    /// How far the staged file is cut.
    std::size_t stagedPosition() const
    {
        return m_position;
    }

private:
    const MappedFile &m_file;
    const bool m_memoryPages;
    const AssembledPages *const m_assembled;
    const QByteArray &m_parentList;
    std::size_t m_position = 0;
    qsizetype m_run = 0;
    quint64 m_inRun = 0;
};

struct StagedEntry {
    QString path;
    QByteArray nativePath;
    mode_t mode = 0;
};

/// Lists the tree under dirFd depth first, parents before children, names
/// sorted. Refuses symbolic links and anything that is not a file or a directory.
Result<void> scanDirectory(int dirFd, const QByteArray &prefix, QList<StagedEntry> &entries, int depth)
{
    if (depth > 256) {
        return Error{i18n("The snapshot cannot be taken: the directory tree is nested too deeply at %1.", QFile::decodeName(prefix))};
    }
    UniqueFd listFd(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *listing = listFd ? ::fdopendir(listFd.release()) : nullptr;
    if (!listing) {
        return Error{i18n("The snapshot cannot be taken: the staging directory %1 cannot be read: %2",
                          prefix.isEmpty() ? QStringLiteral(".") : QFile::decodeName(prefix),
                          systemError(errno))};
    }
    QList<QByteArray> names;
    while (const dirent *entry = ::readdir(listing)) {
        const QByteArray name(entry->d_name);
        if (name != "." && name != "..") {
            names.append(name);
        }
    }
    ::closedir(listing);
    std::sort(names.begin(), names.end());

    for (const QByteArray &name : std::as_const(names)) {
        const QByteArray nativePath = prefix.isEmpty() ? name : prefix + '/' + name;
        const QString path = QFile::decodeName(nativePath);
        if (QFile::encodeName(path) != nativePath) {
            return Error{i18n("The snapshot cannot be taken: the file name %1 is not valid in the system's encoding.", path)};
        }
        struct stat status{};
        if (::fstatat(dirFd, name.constData(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
            return Error{i18n("The snapshot cannot be taken: %1 cannot be read: %2", path, systemError(errno))};
        }
        if (S_ISLNK(status.st_mode)) {
            return Error{i18n("The snapshot cannot be taken: %1 is a symbolic link. Snapshots hold only regular files and directories.", path)};
        }
        if (S_ISREG(status.st_mode)) {
            entries.append(StagedEntry{path, nativePath, status.st_mode});
        } else if (S_ISDIR(status.st_mode)) {
            entries.append(StagedEntry{path, nativePath, status.st_mode});
            UniqueFd child(openBeneath(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
            if (!child) {
                return Error{i18n("The snapshot cannot be taken: %1 cannot be read: %2", path, systemError(errno))};
            }
            if (auto scanned = scanDirectory(child.get(), nativePath, entries, depth + 1); !scanned) {
                return scanned;
            }
        } else {
            return Error{i18n("The snapshot cannot be taken: %1 is a device, socket or pipe. Snapshots hold only regular files and directories.", path)};
        }
    }
    return {};
}

} // namespace

SnapshotStore::SnapshotStore(const QString &path,
                             UniqueFd directory,
                             UniqueFd lock,
                             UniqueFd commitLock,
                             std::unique_ptr<ChunkStore> chunks,
                             std::unique_ptr<SnapshotCatalog> catalog)
    : m_path(path)
    , m_directory(std::move(directory))
    , m_lock(std::move(lock))
    , m_commitLock(std::move(commitLock))
    , m_chunks(std::move(chunks))
    , m_catalog(std::move(catalog))
{
}

SnapshotStore::~SnapshotStore() = default;

QString SnapshotStore::path() const
{
    return m_path;
}

Error SnapshotStore::noSuchSnapshot(qint64 id) const
{
    return Error{i18n("There is no snapshot %1.", QString::number(id))};
}

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(const QString &directory)
{
    if (directory.isEmpty()) {
        return Error{i18n("No directory was given for the snapshot store.")};
    }
    const QString path = QDir::cleanPath(QFileInfo(directory).absoluteFilePath());
    const QByteArray nativePath = QFile::encodeName(path);
    QDir().mkpath(QFileInfo(path).absolutePath());
    if (::mkdir(nativePath.constData(), 0700) != 0 && errno != EEXIST) {
        return Error{i18n("Could not create the snapshot store %1: %2", path, systemError(errno))};
    }
    UniqueFd dir(::open(nativePath.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        struct stat linkStatus{};
        if (errno == ELOOP || (errno == ENOTDIR && ::lstat(nativePath.constData(), &linkStatus) == 0 && S_ISLNK(linkStatus.st_mode))) {
            return Error{i18n("The snapshot store %1 is a symbolic link. Give the real directory instead.", path)};
        }
        if (errno == ENOTDIR) {
            return Error{i18n("The snapshot store %1 is not a directory.", path)};
        }
        return Error{i18n("Could not open the snapshot store %1: %2", path, systemError(errno))};
    }
    struct stat status{};
    if (::fstat(dir.get(), &status) != 0) {
        return Error{i18n("Could not open the snapshot store %1: %2", path, systemError(errno))};
    }
    if (status.st_uid != ::geteuid()) {
        return Error{i18n("The snapshot store %1 belongs to another user. Use a directory you own.", path)};
    }
    if ((status.st_mode & 07777) != 0700 && ::fchmod(dir.get(), 0700) != 0) {
        return Error{i18n("Could not make the snapshot store %1 private: %2", path, systemError(errno))};
    }

    // SQLite opens its files by name: make sure none of them is a link or someone else's.
    for (const char *name : {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite-journal", "lock", "commit.lock"}) {
        struct stat fileStatus{};
        if (::fstatat(dir.get(), name, &fileStatus, AT_SYMLINK_NOFOLLOW) == 0 && (!S_ISREG(fileStatus.st_mode) || fileStatus.st_uid != ::geteuid())) {
            return Error{
                i18n("The snapshot store %1 is not safe to use: %2 is a symbolic link, not a regular file or not owned by you. "
                     "Move the store aside and create a new one.",
                     path,
                     QString::fromLatin1(name))};
        }
    }
    UniqueFd lock(::openat(dir.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    UniqueFd commitLock(::openat(dir.get(), "commit.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock || !commitLock) {
        return Error{i18n("Could not open the lock files of the snapshot store %1: %2", path, systemError(errno))};
    }

    auto chunks = ChunkStore::open(dir.get(), path);
    if (!chunks) {
        return chunks.error();
    }

    // The catalog is opened by name: resolve the parents and check that the
    // name still leads to the directory opened above.
    const QString canonicalPath = QFileInfo(path).canonicalFilePath();
    struct stat byName{};
    if (canonicalPath.isEmpty() || ::stat(QFile::encodeName(canonicalPath).constData(), &byName) != 0 || byName.st_dev != status.st_dev
        || byName.st_ino != status.st_ino) {
        return Error{i18n("The snapshot store %1 was moved or replaced while it was being opened.", path)};
    }
    auto catalog = SnapshotCatalog::open(canonicalPath + QStringLiteral("/catalog.sqlite"));
    if (!catalog) {
        return catalog.error();
    }
    std::unique_ptr<SnapshotStore> store(
        new SnapshotStore(path, std::move(dir), std::move(lock), std::move(commitLock), std::move(*chunks), std::move(*catalog)));
    if (auto migrated = store->giveLegacyChunksOwners(); !migrated) {
        return migrated.error();
    }
    return store;
}

Result<void> SnapshotStore::giveLegacyChunksOwners()
{
    auto owners = m_catalog->ownersOfLegacyChunks();
    if (!owners || owners->isEmpty()) {
        return owners ? Result<void>() : Result<void>(owners.error());
    }
    if (auto rewritten = rewriteLegacyChunks(*owners); !rewritten) {
        return rewritten;
    }
    // The legacy chunks and their packs are garbage now.
    if (auto collected = collectGarbage(); !collected) {
        return collected.error();
    }
    return {};
}

Result<void> SnapshotStore::rewriteLegacyChunks(const QList<uid_t> &owners)
{
    StoreLock exclusive(m_lock.get(), LOCK_EX);
    if (auto error = exclusive.error(m_path)) {
        return *error;
    }
    const OpenPacks openPacks(*m_chunks);
    for (const uid_t owner : owners) {
        auto legacy = m_catalog->legacyChunksOf(owner);
        if (!legacy) {
            return legacy.error();
        }
        // Each chunk again, under the owner's id; a damaged one stays as it
        // is (verify names it and the snapshots that use it).
        QList<QPair<QByteArray, SnapshotCatalog::ChunkEntry>> renamed;
        QHash<QByteArray, SnapshotCatalog::ChunkEntry> written;
        for (const SnapshotCatalog::ChunkEntry &chunk : std::as_const(*legacy)) {
            auto data = m_chunks->read(chunk.id, locationOf(chunk), ChunkKeys::legacyOwner);
            if (!data) {
                continue;
            }
            const auto *bytes = reinterpret_cast<const unsigned char *>(data->constData());
            SnapshotCatalog::ChunkEntry keyed;
            keyed.id = m_chunks->idOf(qint64(owner), bytes, std::size_t(data->size()));
            keyed.owner = qint64(owner);
            keyed.rawBytes = data->size();
            if (auto known = written.constFind(keyed.id); known != written.cend()) {
                keyed = *known;
            } else {
                auto location = m_chunks->append(keyed.id, bytes, std::size_t(data->size()));
                if (!location) {
                    m_chunks->discardWritten();
                    return location.error();
                }
                keyed.storedBytes = location->length;
                keyed.pack = location->pack;
                keyed.packOffset = location->offset;
                written.insert(keyed.id, keyed);
            }
            renamed.append({chunk.id, keyed});
        }
        if (auto persisted = m_chunks->persist(); !persisted) {
            m_chunks->discardWritten();
            return persisted;
        }
        if (auto given = m_catalog->giveChunksTo(owner, renamed); !given) {
            m_chunks->discardWritten();
            return given;
        }
        m_chunks->keepWritten();
    }
    return {};
}

Result<SnapshotInfo> SnapshotStore::commit(const QString &sessionId,
                                           uid_t owner,
                                           int stagingDirFd,
                                           const QString &label,
                                           SnapshotTrigger trigger,
                                           const QVariantMap &metadata,
                                           const StoreQuota &quota,
                                           const PageAssembly &assembly)
{
    if (sessionId.isEmpty()) {
        return Error{i18n("Internal error: a snapshot needs a session.")};
    }
    struct stat stagingStatus{};
    if (stagingDirFd < 0 || ::fstat(stagingDirFd, &stagingStatus) != 0 || !S_ISDIR(stagingStatus.st_mode)) {
        return Error{i18n("Internal error: a snapshot needs a staging directory.")};
    }

    // Everything is checked before the first chunk is written.
    QList<StagedEntry> staged;
    if (auto scanned = scanDirectory(stagingDirFd, QByteArray(), staged, 0); !scanned) {
        return scanned.error();
    }

    // Another commit could share, or on failure discard, the chunks this one
    // writes; garbage collection could remove chunks this one found present.
    StoreLock commitsExcluded(m_commitLock.get(), LOCK_EX);
    if (auto error = commitsExcluded.error(m_path)) {
        return *error;
    }
    StoreLock collectionExcluded(m_lock.get(), LOCK_SH);
    if (auto error = collectionExcluded.error(m_path)) {
        return *error;
    }

    auto used = m_catalog->usage(owner);
    if (!used) {
        return used.error();
    }
    // Most pages are in the session's previous snapshot: found there, with
    // their sizes and places, they need no question to the chunk index.
    auto previous = m_catalog->newestSnapshotChunks(sessionId, owner);
    if (!previous) {
        return previous.error();
    }
    // An incremental dump's parent: this owner's, this session's newest.
    if (assembly.parentSnapshot != 0 || !assembly.files.isEmpty()) {
        auto parent = m_catalog->snapshot(assembly.parentSnapshot);
        if (!parent) {
            return parent.error();
        }
        auto newest = m_catalog->newestSnapshotId(sessionId);
        if (!newest) {
            return newest.error();
        }
        if (!parent->has_value() || (*parent)->owner != owner || (*parent)->sessionId != sessionId || *newest != assembly.parentSnapshot) {
            return Error{
                i18n("The snapshot cannot be stored: it was taken against snapshot %1, which is not the newest of session %2 any more. "
                     "Take the snapshot again: it will be a full one.",
                     QString::number(assembly.parentSnapshot),
                     sessionId)};
        }
    }
    // The parent's chunk ids for an assembled memory image, once its runs are checked against both files.
    auto assemblyParentList = [&](const AssembledPages &assembled, const QString &path, std::size_t stagedBytes) -> Result<QByteArray> {
        auto parentFile = m_catalog->file(assembly.parentSnapshot, assembled.parentPath);
        if (!parentFile) {
            return parentFile.error();
        }
        const qsizetype parentPages = parentFile->has_value() ? ChunkList::count((*parentFile)->chunkList) : 0;
        const quint64 stagedFilePages = stagedBytes / pageChunkSize;
        quint64 stagedPages = 0;
        bool fits = parentFile->has_value() && qint64(parentPages) * qint64(pageChunkSize) == (*parentFile)->size && stagedBytes % pageChunkSize == 0;
        for (const PageRun &run : assembled.runs) {
            if (run.pages == 0) {
                fits = false;
            } else if (run.parentPage < 0) {
                fits = fits && run.pages <= stagedFilePages - stagedPages;
                stagedPages += fits ? run.pages : 0;
            } else if (run.pages > quint64(parentPages) || run.parentPage > parentPages - qsizetype(run.pages)) {
                fits = false;
            }
        }
        if (!fits || stagedPages != stagedFilePages) {
            return Error{i18n("The snapshot cannot be stored: its memory image %1 does not fit what it was taken against (%2 of snapshot %3).",
                              path,
                              assembled.parentPath,
                              QString::number(assembly.parentSnapshot))};
        }
        return (*parentFile)->chunkList;
    };
    qint64 written = 0;
    qint64 newBytes = 0;
    qint64 newBytesAtLastCheck = 0;
    auto failed = [this](const Error &error) {
        m_chunks->discardWritten();
        return error;
    };
    // Checked as the chunks are written: nothing is left of a commit that fails.
    auto overQuota = [&]() -> std::optional<Error> {
        if (quota.bytesPerOwner > 0 && used->storedBytes + newBytes > quota.bytesPerOwner) {
            return Error{
                i18n("The snapshot was not stored: it needs more than the %1 left of your quota of %2 (your snapshots use %3). "
                     "Delete snapshots you no longer need, then try again.",
                     QLocale().formattedDataSize(std::max<qint64>(0, quota.bytesPerOwner - used->storedBytes)),
                     QLocale().formattedDataSize(quota.bytesPerOwner),
                     QLocale().formattedDataSize(used->storedBytes))};
        }
        if (quota.freeSpaceFloor > 0 && newBytes - newBytesAtLastCheck >= freeSpaceCheckInterval) {
            newBytesAtLastCheck = newBytes;
            if (availableBytes() - m_chunks->pendingBytes() < quota.freeSpaceFloor) {
                return floorError(quota, newBytes);
            }
        }
        return std::nullopt;
    };

    QList<SnapshotCatalog::FileEntry> files;
    // The distinct chunks of this commit that the previous snapshot does not
    // have. Its entries stay where they are as it grows: pieces point at them.
    std::unordered_map<ChunkList::Id, ChunkPlace, ChunkList::IdHash> places;
    // The catalog has the others already, and keeps them while this commit holds its lock.
    QList<SnapshotCatalog::ChunkEntry> fresh;
    qint64 logicalBytes = 0;
    qint64 storedBytes = 0;

    // Chunks are named and encoded on every core, at the caller's priority
    // (idle for a scheduled snapshot: the session must not feel the store working).
    QThreadPool workers;
    if (::sched_getscheduler(0) == SCHED_IDLE) {
        workers.setThreadPriority(QThread::IdlePriority);
    }
    const ChunkKeys::OwnerIds ids = m_chunks->idsOf(qint64(owner));
    std::vector<Piece> pieces;
    qsizetype assembledFiles = 0;
    // Which of the previous snapshot's chunks storedBytes counts already.
    std::vector<bool> previousCounted(previous->entries().size());
    CommitTimes times;
    StepClock clock;

    for (const StagedEntry &entry : std::as_const(staged)) {
        SnapshotCatalog::FileEntry file;
        file.path = entry.path;
        file.mode = entry.mode & (S_IFMT | 07777);
        if (S_ISDIR(entry.mode)) {
            files.append(file);
            continue;
        }
        UniqueFd input(openBeneath(stagingDirFd, entry.nativePath, O_RDONLY | O_NOFOLLOW));
        if (!input) {
            const int error = errno;
            if (error == ELOOP) {
                return failed(
                    Error{i18n("The snapshot cannot be taken: %1 is a symbolic link. Snapshots hold only regular files and directories.", entry.path)});
            }
            return failed(Error{i18n("The snapshot cannot be taken: %1 cannot be read: %2", entry.path, systemError(error))});
        }
        auto mapped = MappedFile::map(input.get());
        if (!mapped) {
            return failed(Error{i18n("The snapshot cannot be taken: %1 cannot be read: %2", entry.path, mapped.errorMessage())});
        }

        const bool memoryPages = isMemoryPages(entry.path);
        const AssembledPages *assembled = nullptr;
        QByteArray parentList;
        if (const auto found = assembly.files.constFind(entry.path); found != assembly.files.cend()) {
            ++assembledFiles;
            auto list = assemblyParentList(*found, entry.path, mapped->size());
            if (!list) {
                return failed(list.error());
            }
            assembled = &*found;
            parentList = std::move(*list);
        }
        ChunkRuns::Builder runs;
        PieceCutter cutter(*mapped, memoryPages, assembled, parentList);
        while (!cutter.atEnd()) {
            // A batch: cut in order, then named in parallel.
            pieces.clear();
            std::size_t batch = 0;
            while (batch < batchBytes && !cutter.atEnd()) {
                pieces.push_back(cutter.next());
                batch += pieces.back().size;
            }
            QtConcurrent::blockingMap(&workers, pieces, [&ids, &previous = std::as_const(*previous)](Piece &piece) {
                if (piece.data) { // a parent's page has its id already
                    piece.id = ids.binaryIdOf(piece.data, piece.size);
                }
                piece.previous = previous.entryOf(piece.id.data());
            });
            clock.lap(times.naming);

            // Earlier in this commit, in the session's previous snapshot,
            // stored by an earlier commit (gc cannot remove it while this one
            // holds the lock), or new.
            QList<QByteArray> unseen;
            for (Piece &piece : pieces) {
                if (piece.previous) {
                    // Ids are keyed per owner, and the previous snapshot is this owner's.
                    piece.place = &piece.previous->value;
                    const auto index = std::size_t(piece.previous - previous->entries().data());
                    if (!previousCounted[index]) {
                        previousCounted[index] = true;
                        storedBytes += piece.place->storedBytes;
                    }
                    continue;
                }
                const auto [entry, added] = places.try_emplace(piece.id);
                piece.place = &entry->second;
                if (added) {
                    unseen.append(ChunkList::hex(piece.id));
                    piece.isNew = true; // unless the catalog knows it
                }
            }
            auto known = m_catalog->knownChunks(unseen);
            if (!known) {
                return failed(known.error());
            }
            for (Piece &piece : pieces) {
                const auto stored = piece.isNew && !known->isEmpty() ? known->constFind(ChunkList::hex(piece.id)) : known->cend();
                if (stored == known->cend()) {
                    continue;
                }
                if (stored->owner != qint64(owner)) {
                    // Ids are keyed per owner: only a broken catalog gets here.
                    return failed(
                        Error{i18n("The snapshot cannot be stored: the catalog of the snapshot store %1 gives chunk %2 to another "
                                   "owner. Verify the store.",
                                   m_path,
                                   QString::fromLatin1(stored.key()))});
                }
                places[piece.id] = ChunkPlace{quint32(stored->storedBytes), stored->pack, stored->packOffset};
                storedBytes += stored->storedBytes;
                piece.isNew = false;
            }
            for (const Piece &piece : pieces) {
                if (piece.isNew && !piece.data) {
                    return failed(
                        Error{i18n("The snapshot cannot be stored: its parent, snapshot %1, no longer has the pages it was taken against. "
                                   "Take the snapshot again: it will be a full one.",
                                   QString::number(assembly.parentSnapshot))});
                }
            }

            clock.lap(times.lookingUp);
            QtConcurrent::blockingMap(&workers, pieces, [](Piece &piece) {
                if (piece.isNew) {
                    piece.record = ChunkStore::encode(piece.id, piece.data, piece.size);
                }
            });
            clock.lap(times.encoding);
            for (Piece &piece : pieces) {
                if (piece.isNew) {
                    if (!piece.record) {
                        return failed(piece.record.error());
                    }
                    auto location = m_chunks->appendEncoded(*piece.record);
                    if (!location) {
                        return failed(location.error());
                    }
                    piece.record = QByteArray();
                    places[piece.id] = ChunkPlace{quint32(location->length), location->pack, location->offset};
                    SnapshotCatalog::ChunkEntry chunk;
                    chunk.id = ChunkList::hex(piece.id);
                    chunk.owner = qint64(owner);
                    chunk.rawBytes = qint64(piece.size);
                    chunk.storedBytes = location->length;
                    chunk.pack = location->pack;
                    chunk.packOffset = location->offset;
                    fresh.append(chunk);
                    storedBytes += chunk.storedBytes;
                    if (++written == 1) {
                        reachCrashPoint("after-first-chunk");
                    }
                    newBytes += location->length;
                    if (auto error = overQuota()) {
                        return failed(*error);
                    }
                }
                const ChunkPlace &place = *piece.place;
                file.chunkList.append(piece.id.data(), ChunkList::idBytes);
                file.storedSizes.append(place.storedBytes);
                runs.add(place.pack, place.packOffset, place.storedBytes);
                file.size += qint64(piece.size);
            }
            mapped->release(cutter.stagedPosition());
            clock.lap(times.writing);
        }
        file.runs = runs.result();
        logicalBytes += file.size;
        files.append(file);
    }

    if (assembledFiles != assembly.files.size()) {
        return failed(Error{i18n("The snapshot cannot be stored: a memory image it was to assemble from snapshot %1 is missing from it.",
                                 QString::number(assembly.parentSnapshot))});
    }
    reachCrashPoint("after-chunks");
    // What is still to be written out counts as taken.
    if (quota.freeSpaceFloor > 0 && availableBytes() - m_chunks->pendingBytes() < quota.freeSpaceFloor) {
        return failed(floorError(quota, newBytes));
    }
    clock.lap(times.writing);
    if (auto synced = m_chunks->persist(); !synced) {
        return failed(synced.error());
    }
    clock.lap(times.syncing);
    reachCrashPoint("before-catalog");

    SnapshotInfo info;
    info.sessionId = sessionId;
    info.owner = owner;
    info.createdAt = QDateTime::currentDateTimeUtc();
    info.label = label;
    info.trigger = trigger;
    info.metadata = metadata;
    info.logicalBytes = logicalBytes;
    info.storedBytes = storedBytes;
    auto id = m_catalog->insertSnapshot(info, files, fresh, [] {
        reachCrashPoint("in-catalog");
    });
    if (!id) {
        const bool full = m_catalog->lastErrorWasFull();
        const Error error = failed(id.error());
        return full ? m_chunks->fullError() : error;
    }
    m_chunks->keepWritten();
    clock.lap(times.cataloguing);
    m_lastCommitTimes = times;
    reachCrashPoint("after-catalog");

    auto created = m_catalog->snapshot(*id);
    if (!created) {
        return created.error();
    }
    if (!created->has_value()) {
        return noSuchSnapshot(*id);
    }
    return **created;
}

Result<void> SnapshotStore::materialize(qint64 snapshotId, int targetDirFd, MaterializeScope scope) const
{
    StoreLock shared(m_lock.get(), LOCK_SH);
    if (auto error = shared.error(m_path)) {
        return *error;
    }
    if (auto known = snapshot(snapshotId); !known) {
        return known.error();
    }
    auto files = m_catalog->files(snapshotId);
    if (!files) {
        return files.error();
    }
    auto writeError = [snapshotId](const QString &path, int errorNumber) {
        return Error{i18n("Could not write %1 while restoring snapshot %2: %3", path, snapshotId, systemError(errorNumber))};
    };

    const OpenPacks openPacks(*m_chunks);
    QHash<qint64, ChunkKeys::OwnerIds> idsOf;
    for (const SnapshotCatalog::FileEntry &entry : std::as_const(*files)) {
        for (const SnapshotCatalog::ChunkEntry &chunk : entry.stored) {
            if (!idsOf.contains(chunk.owner)) {
                idsOf.insert(chunk.owner, m_chunks->idsOf(chunk.owner));
            }
        }
    }
    QThreadPool workers;
    QList<QPair<QByteArray, mode_t>> directories;
    ChunkStore::RecordBatch records;
    std::vector<QByteArray> legacyChunks;
    for (const SnapshotCatalog::FileEntry &entry : std::as_const(*files)) {
        const QByteArray nativePath = QFile::encodeName(entry.path);
        if (!isSafeRelativePath(nativePath) || !(S_ISDIR(entry.mode) || S_ISREG(entry.mode))) {
            return Error{i18n("Snapshot %1 is damaged and cannot be restored: its catalog entry %2 is invalid.", QString::number(snapshotId), entry.path)};
        }
        const qsizetype slash = nativePath.lastIndexOf('/');
        const QByteArray name = nativePath.mid(slash + 1);
        UniqueFd parent(slash < 0 ? ::fcntl(targetDirFd, F_DUPFD_CLOEXEC, 0)
                                  : openBeneath(targetDirFd, nativePath.left(slash), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        if (!parent) {
            return writeError(entry.path, errno);
        }
        if (S_ISDIR(entry.mode)) {
            if (::mkdirat(parent.get(), name.constData(), 0700) != 0) {
                return writeError(entry.path, errno);
            }
            // Never recreate set-user-ID or set-group-ID bits: Rewind restores as root.
            directories.append({nativePath, entry.mode & 01777});
            continue;
        }
        if (scope == MaterializeScope::MemoryMaps && !isMemoryPages(entry.path) && !isMemoryMap(entry.path)) {
            continue;
        }
        UniqueFd output(::openat(parent.get(), name.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!output) {
            return writeError(entry.path, errno);
        }
        if (scope == MaterializeScope::MemoryMaps && isMemoryPages(entry.path)) {
            continue; // left empty
        }
        // A batch is read, then decoded and checked on every core into one
        // buffer, and written by another thread while the next is read.
        BackgroundWrite write(output.get());
        qint64 size = 0;
        for (qsizetype first = 0; first < entry.stored.size(); first += chunksPerBatch) {
            const qsizetype count = std::min(chunksPerBatch, entry.stored.size() - first);
            QList<QPair<QByteArray, ChunkStore::Location>> inPacks;
            for (qsizetype i = first; i < first + count; ++i) {
                const SnapshotCatalog::ChunkEntry &chunk = entry.stored.at(i);
                if (!chunk.pack.isEmpty()) {
                    inPacks.append({chunk.id, locationOf(chunk)});
                }
            }
            m_chunks->readRecords(inPacks, records);
            // Chunk files of the layout before packs are read whole here.
            legacyChunks.clear();
            legacyChunks.reserve(std::size_t(count));
            std::vector<Result<QByteArrayView>> batch;
            batch.reserve(std::size_t(count));
            auto record = records.records.begin();
            for (qsizetype i = first; i < first + count; ++i) {
                const SnapshotCatalog::ChunkEntry &chunk = entry.stored.at(i);
                if (!chunk.pack.isEmpty()) {
                    batch.push_back(std::move(*record++));
                } else if (auto data = m_chunks->read(chunk.id, locationOf(chunk), chunk.owner)) {
                    legacyChunks.push_back(std::move(*data));
                    batch.emplace_back(QByteArrayView(legacyChunks.back()));
                } else {
                    batch.push_back(data.error());
                }
            }
            // Each chunk's place in the buffer; where the catalog does not
            // give a chunk's size (its runs gave its place), its record does.
            std::vector<qint64> offsets;
            std::vector<qint64> sizes;
            offsets.reserve(std::size_t(count));
            sizes.reserve(std::size_t(count));
            qint64 batchBytes = 0;
            for (qsizetype i = first; i < first + count; ++i) {
                const SnapshotCatalog::ChunkEntry &chunk = entry.stored.at(i);
                const Result<QByteArrayView> &data = batch[std::size_t(i - first)];
                qint64 rawBytes = chunk.rawBytes;
                if (rawBytes < 0 && data) {
                    const auto recorded = chunk.pack.isEmpty() ? std::optional<qsizetype>(data->size()) : ChunkStore::rawSizeOf(*data);
                    if (!recorded) {
                        return damagedSnapshot(snapshotId, i18n("chunk %1 is damaged (bad header)", QString::fromLatin1(chunk.id)), entry.path);
                    }
                    rawBytes = *recorded;
                } else if (!data) {
                    rawBytes = 0; // the error is reported below
                } else if (rawBytes > qint64(ContentChunker::maximumSize)) {
                    return damagedSnapshot(snapshotId, i18n("chunk %1 has an invalid size in the catalog", QString::fromLatin1(chunk.id)), entry.path);
                }
                offsets.push_back(batchBytes);
                sizes.push_back(rawBytes);
                batchBytes += rawBytes;
            }
            QByteArray &buffer = write.nextBuffer(batchBytes);
            std::vector<std::optional<Error>> errors(std::size_t(count), std::nullopt);
            QtConcurrent::blockingMap(&workers, batch, [&](Result<QByteArrayView> &data) {
                const std::size_t index = std::size_t(&data - batch.data());
                const SnapshotCatalog::ChunkEntry &chunk = entry.stored.at(first + qsizetype(index));
                char *out = buffer.data() + offsets[index];
                if (!data) {
                    errors[index] = data.error();
                } else if (!chunk.pack.isEmpty()) {
                    if (auto decoded = ChunkStore::decodeInto(chunk.id, *data, idsOf.value(chunk.owner), out, sizes[index]); !decoded) {
                        errors[index] = decoded.error();
                    }
                } else if (data->size() != sizes[index]) {
                    errors[index] = Error{i18n("chunk %1 has the wrong size", QString::fromLatin1(chunk.id))};
                } else {
                    std::memcpy(out, data->constData(), std::size_t(sizes[index]));
                }
            });
            for (const std::optional<Error> &error : errors) {
                if (error) {
                    return damagedSnapshot(snapshotId, error->message, entry.path);
                }
            }
            if (const int error = write.start(); error != 0) {
                return writeError(entry.path, error);
            }
            size += batchBytes;
        }
        if (const int error = write.finish(); error != 0) {
            return writeError(entry.path, error);
        }
        if (size != entry.size) {
            return Error{i18n("Snapshot %1 is damaged and cannot be restored: %2 has the wrong size.", QString::number(snapshotId), entry.path)};
        }
        if (::fchmod(output.get(), entry.mode & 0777) != 0) {
            return writeError(entry.path, errno);
        }
    }
    // Directory permissions last: a read-only directory must be filled first.
    for (auto it = directories.crbegin(); it != directories.crend(); ++it) {
        UniqueFd directory(openBeneath(targetDirFd, it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        if (!directory || ::fchmod(directory.get(), it->second) != 0) {
            return writeError(QFile::decodeName(it->first), errno);
        }
    }
    return {};
}

Result<void> SnapshotStore::walk(qint64 snapshotId, const Visitor &visitor) const
{
    StoreLock shared(m_lock.get(), LOCK_SH);
    if (auto error = shared.error(m_path)) {
        return *error;
    }
    if (auto known = snapshot(snapshotId); !known) {
        return known.error();
    }
    auto files = m_catalog->files(snapshotId);
    if (!files) {
        return files.error();
    }
    const OpenPacks openPacks(*m_chunks);
    QSet<QByteArray> visited;
    for (const SnapshotCatalog::FileEntry &entry : std::as_const(*files)) {
        if (auto entered = visitor.entry(entry.path, entry.mode, entry.size); !entered) {
            return entered;
        }
        for (const SnapshotCatalog::ChunkEntry &chunk : entry.stored) {
            if (visited.contains(chunk.id)) {
                if (auto sent = visitor.chunk(chunk.id, nullptr, {}); !sent) {
                    return sent;
                }
                continue;
            }
            QByteArray zstdFrame;
            auto data = m_chunks->read(chunk.id, locationOf(chunk), chunk.owner, &zstdFrame);
            if (!data) {
                return Error{i18n("Snapshot %1 is damaged: %2 (in %3).", QString::number(snapshotId), data.errorMessage(), entry.path)};
            }
            visited.insert(chunk.id);
            if (auto sent = visitor.chunk(chunk.id, &*data, zstdFrame); !sent) {
                return sent;
            }
        }
    }
    return {};
}

Result<QByteArray> SnapshotStore::readFile(qint64 snapshotId, const QString &relativePath) const
{
    StoreLock shared(m_lock.get(), LOCK_SH);
    if (auto error = shared.error(m_path)) {
        return *error;
    }
    if (auto known = snapshot(snapshotId); !known) {
        return known.error();
    }
    auto entry = m_catalog->file(snapshotId, relativePath);
    if (!entry) {
        return entry.error();
    }
    if (!entry->has_value() || !S_ISREG((*entry)->mode)) {
        return Error{i18n("Snapshot %1 has no file %2.", QString::number(snapshotId), relativePath)};
    }
    QByteArray content;
    content.reserve(qsizetype((*entry)->size));
    const OpenPacks openPacks(*m_chunks);
    for (const SnapshotCatalog::ChunkEntry &chunk : std::as_const((*entry)->stored)) {
        auto data = m_chunks->read(chunk.id, locationOf(chunk), chunk.owner);
        if (!data) {
            return Error{i18n("Snapshot %1 is damaged: %2 (in %3).", QString::number(snapshotId), data.errorMessage(), relativePath)};
        }
        content.append(*data);
    }
    if (content.size() != (*entry)->size) {
        return Error{i18n("Snapshot %1 is damaged: %2 has the wrong size.", QString::number(snapshotId), relativePath)};
    }
    return content;
}

Result<QList<SnapshotInfo>> SnapshotStore::list(const QString &sessionId) const
{
    return m_catalog->list(sessionId);
}

Result<std::optional<qint64>> SnapshotStore::newestSnapshotId(const QString &sessionId) const
{
    return m_catalog->newestSnapshotId(sessionId);
}

Result<SnapshotInfo> SnapshotStore::snapshot(qint64 id) const
{
    auto info = m_catalog->snapshot(id);
    if (!info) {
        return info.error();
    }
    if (!info->has_value()) {
        return noSuchSnapshot(id);
    }
    return **info;
}

Result<void> SnapshotStore::setLabel(qint64 id, const QString &label)
{
    auto changed = m_catalog->setLabel(id, label);
    if (!changed) {
        return changed.error();
    }
    if (!*changed) {
        return noSuchSnapshot(id);
    }
    return {};
}

Result<void> SnapshotStore::setPinned(qint64 id, bool pinned)
{
    auto changed = m_catalog->setPinned(id, pinned);
    if (!changed) {
        return changed.error();
    }
    if (!*changed) {
        return noSuchSnapshot(id);
    }
    return {};
}

Result<void> SnapshotStore::setScreenText(qint64 id, const QString &text)
{
    return m_catalog->setScreenText(id, text);
}

Result<QList<qint64>> SnapshotStore::snapshotsWithoutScreenText(uid_t owner) const
{
    return m_catalog->snapshotsWithoutScreenText(owner);
}

Result<QList<ScreenTextMatch>> SnapshotStore::searchScreenText(const QString &ftsQuery, uid_t owner, int limit) const
{
    return m_catalog->searchScreenText(ftsQuery, owner, limit);
}

Result<void> SnapshotStore::remove(qint64 id)
{
    auto removed = m_catalog->remove(id);
    if (!removed) {
        return removed.error();
    }
    if (!*removed) {
        return noSuchSnapshot(id);
    }
    return {};
}

Result<GarbageStats> SnapshotStore::release(const QList<qint64> &ids)
{
    for (const qint64 id : ids) {
        if (auto removed = remove(id); !removed) {
            return removed.error();
        }
    }
    return collectGarbage();
}

CommitTimes SnapshotStore::lastCommitTimes() const
{
    return m_lastCommitTimes;
}

qint64 SnapshotStore::availableBytes() const
{
    struct statvfs fileSystem{};
    if (::fstatvfs(m_directory.get(), &fileSystem) != 0) {
        return std::numeric_limits<qint64>::max();
    }
    return qint64(fileSystem.f_bavail) * qint64(fileSystem.f_frsize);
}

Result<StoreUsage> SnapshotStore::usage(uid_t owner) const
{
    auto used = m_catalog->usage(owner);
    if (!used) {
        return used.error();
    }
    return StoreUsage{used->snapshots, used->storedBytes};
}

Result<QList<SessionStorage>> SnapshotStore::usageBySession(uid_t owner) const
{
    return m_catalog->usageBySession(owner);
}

Result<void> SnapshotStore::checkQuota(uid_t owner, const StoreQuota &quota) const
{
    auto used = m_catalog->usage(owner);
    if (!used) {
        return used.error();
    }
    if (quota.snapshotsPerOwner > 0 && used->snapshots >= quota.snapshotsPerOwner) {
        return Error{i18np("No snapshot was taken: you have %1 snapshot, as many as your quota allows. Delete snapshots you no longer need, then try again.",
                           "No snapshot was taken: you have %1 snapshots, as many as your quota allows. Delete snapshots you no longer need, then try again.",
                           used->snapshots)};
    }
    if (quota.bytesPerOwner > 0 && used->storedBytes >= quota.bytesPerOwner) {
        return Error{i18n("No snapshot was taken: your snapshots use %1, all of your quota of %2. Delete snapshots you no longer need, then try again.",
                          QLocale().formattedDataSize(used->storedBytes),
                          QLocale().formattedDataSize(quota.bytesPerOwner))};
    }
    if (quota.freeSpaceFloor > 0 && availableBytes() < quota.freeSpaceFloor) {
        return floorError(quota, 0);
    }
    return {};
}

Error SnapshotStore::floorError(const StoreQuota &quota, qint64 writtenBytes) const
{
    // What a failed commit wrote out is given back when it is discarded.
    const qint64 available = availableBytes() + std::max<qint64>(0, writtenBytes - m_chunks->pendingBytes());
    if (writtenBytes > 0) {
        return Error{
            i18n("No snapshot was stored: it needs more than %1, and the disk that holds the snapshots has %2 free, of which at least %3 "
                 "must stay free. Delete snapshots you no longer need, or ask an administrator to free space.",
                 QLocale().formattedDataSize(writtenBytes),
                 QLocale().formattedDataSize(available),
                 QLocale().formattedDataSize(quota.freeSpaceFloor))};
    }
    return Error{
        i18n("No snapshot was taken: the disk that holds the snapshots has %1 free, and at least %2 must stay free. Delete snapshots "
             "you no longer need, or ask an administrator to free space.",
             QLocale().formattedDataSize(available),
             QLocale().formattedDataSize(quota.freeSpaceFloor))};
}

Result<GarbageStats> SnapshotStore::collectGarbage()
{
    StoreLock exclusive(m_lock.get(), LOCK_EX);
    if (auto error = exclusive.error(m_path)) {
        return *error;
    }
    m_chunks->closePacks();
    // Catalog first: once a chunk's row is gone nothing can refer to it, so
    // a crash between the steps only leaves files the next run removes.
    if (auto removed = m_catalog->removeUnreferencedChunks(); !removed) {
        return removed.error();
    }
    reachCrashPoint("gc-after-catalog");
    auto live = m_catalog->liveBytesByPack();
    if (!live) {
        return live.error();
    }
    auto packFiles = m_chunks->packFiles();
    if (!packFiles) {
        return packFiles.error();
    }
    GarbageStats stats;
    bool removedAny = false;
    QList<ChunkStore::PackFile> packsToRewrite;
    // Leftovers of interrupted commits or rewrites, and packs without a live chunk.
    for (const ChunkStore::PackFile &file : std::as_const(*packFiles)) {
        if (file.pack.isEmpty()) {
            continue; // not ours
        }
        const auto liveBytes = live->constFind(file.pack);
        if (file.temporary || liveBytes == live->cend()) {
            stats.chunksRemoved += file.regular ? m_chunks->countRecords(file.fileName) : 0;
            stats.bytesFreed += file.size;
            if (auto removed = m_chunks->removePackFile(file.fileName); !removed) {
                return removed.error();
            }
            removedAny = true;
        } else if (file.regular && file.size - *liveBytes > file.size / 2) {
            packsToRewrite.append(file);
        }
    }
    if (removedAny) {
        if (auto synced = m_chunks->syncPacksDirectory(); !synced) {
            return synced.error();
        }
    }

    // Packs that are mostly garbage: live records to a new pack (durable
    // and in place), the catalog to it (one transaction), the old pack away.
    for (const ChunkStore::PackFile &file : std::as_const(packsToRewrite)) {
        auto chunks = m_catalog->chunksInPack(file.pack);
        if (!chunks) {
            return chunks.error();
        }
        QList<QPair<QByteArray, ChunkStore::Location>> locations;
        locations.reserve(chunks->size());
        for (const SnapshotCatalog::ChunkEntry &chunk : std::as_const(*chunks)) {
            locations.append({chunk.id, locationOf(chunk)});
        }
        const qint64 recordsBefore = m_chunks->countRecords(file.fileName);
        auto moved = m_chunks->repack(file.pack, locations);
        if (!moved) {
            return moved.error();
        }
        reachCrashPoint("gc-after-repack-write");
        qint64 newSize = 0;
        for (qsizetype i = 0; i < chunks->size(); ++i) {
            (*chunks)[i].pack = moved->at(i).pack;
            (*chunks)[i].packOffset = moved->at(i).offset;
            newSize += moved->at(i).length;
        }
        if (auto updated = m_catalog->moveChunks(file.pack,
                                                 *chunks,
                                                 [] {
                                                     reachCrashPoint("gc-in-repack-catalog");
                                                 });
            !updated) {
            // The new pack has no rows: the next run removes it.
            return m_catalog->lastErrorWasFull() ? m_chunks->fullError() : updated.error();
        }
        reachCrashPoint("gc-after-repack-catalog");
        if (auto removed = m_chunks->removePackFile(file.fileName); !removed) {
            return removed.error();
        }
        if (auto synced = m_chunks->syncPacksDirectory(); !synced) {
            return synced.error();
        }
        stats.chunksRemoved += std::max<qint64>(0, recordsBefore - chunks->size());
        stats.bytesFreed += file.size - newSize;
    }

    // Chunk files of the layout before packs.
    auto files = m_chunks->legacyFiles();
    if (!files) {
        return files.error();
    }
    QSet<QByteArray> legacy;
    if (!files->isEmpty()) {
        auto legacyChunks = m_catalog->legacyFileChunks();
        if (!legacyChunks) {
            return legacyChunks.error();
        }
        for (const SnapshotCatalog::ChunkEntry &chunk : std::as_const(*legacyChunks)) {
            legacy.insert(chunk.id);
        }
    }
    for (const ChunkStore::File &file : std::as_const(*files)) {
        if (!file.id.isEmpty() && legacy.contains(file.id)) {
            continue;
        }
        if (auto removed = m_chunks->removeLegacyFile(file); !removed) {
            return removed.error();
        }
        ++stats.chunksRemoved;
        stats.bytesFreed += file.size;
    }
    return stats;
}

Result<VerifyReport> SnapshotStore::verify() const
{
    StoreLock shared(m_lock.get(), LOCK_SH);
    if (auto error = shared.error(m_path)) {
        return *error;
    }
    auto chunks = m_catalog->chunks();
    if (!chunks) {
        return chunks.error();
    }
    const OpenPacks openPacks(*m_chunks);
    VerifyReport report;
    QList<QByteArray> damaged;
    for (const SnapshotCatalog::ChunkEntry &chunk : std::as_const(*chunks)) {
        ++report.chunksChecked;
        if (!m_chunks->read(chunk.id, locationOf(chunk), chunk.owner)) {
            damaged.append(chunk.id);
            report.damagedChunks.append(QString::fromLatin1(chunk.id));
        }
    }
    if (!damaged.isEmpty()) {
        auto snapshots = m_catalog->snapshotsReferencing(damaged);
        if (!snapshots) {
            return snapshots.error();
        }
        report.damagedSnapshots = *snapshots;
    }
    return report;
}

} // namespace Rewind
