// SPDX-License-Identifier: GPL-2.0-or-later
#include "ChunkStore.h"

#include "ContentChunker.h"
#include "FileWriting.h"
#include "OpenBeneath.h"

#include <KLocalizedString>

#include <QLocale>
#include <QtEndian>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

constexpr char magic[4] = {'R', 'W', 'C', 'K'};
constexpr quint32 formatVersion = 1;
constexpr int compressionLevel = 3;
// A chunk file is never bigger than this; anything bigger is not ours.
constexpr qint64 largestChunkFile = 1024 * 1024;

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

bool isFull(int errorNumber)
{
    return errorNumber == ENOSPC || errorNumber == EDQUOT;
}

} // namespace

struct ChunkStore::Codecs {
    struct CompressDeleter {
        void operator()(ZSTD_CCtx *context) const
        {
            ZSTD_freeCCtx(context);
        }
    };
    struct DecompressDeleter {
        void operator()(ZSTD_DCtx *context) const
        {
            ZSTD_freeDCtx(context);
        }
    };
    std::unique_ptr<ZSTD_CCtx, CompressDeleter> compress{ZSTD_createCCtx()};
    std::unique_ptr<ZSTD_DCtx, DecompressDeleter> decompress{ZSTD_createDCtx()};
    QByteArray buffer;
};

ChunkStore::ChunkStore(UniqueFd storeDir, UniqueFd chunksDir, const QString &storePath)
    : m_storeDir(std::move(storeDir))
    , m_chunksDir(std::move(chunksDir))
    , m_storePath(storePath)
    , m_codecs(std::make_unique<Codecs>())
{
}

ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(int storeDirFd, const QString &storePath)
{
    UniqueFd storeDir(::fcntl(storeDirFd, F_DUPFD_CLOEXEC, 0));
    if (!storeDir) {
        return Error{i18n("Could not open the snapshot store %1: %2", storePath, systemError(errno))};
    }
    if (::mkdirat(storeDir.get(), "chunks", 0700) != 0 && errno != EEXIST) {
        const int error = errno;
        if (isFull(error)) {
            return Error{i18n("The snapshot store on %1 is full. Delete old snapshots or free space, then try again.", storePath)};
        }
        return Error{i18n("Could not create the chunk directory of the snapshot store %1: %2", storePath, systemError(error))};
    }
    UniqueFd chunksDir(openBeneath(storeDir.get(), "chunks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    struct stat status{};
    if (!chunksDir || ::fstat(chunksDir.get(), &status) != 0 || status.st_uid != ::geteuid()) {
        const int error = chunksDir ? EPERM : errno;
        if (error == ELOOP || error == ENOTDIR || error == EPERM) {
            return Error{
                i18n("The snapshot store %1 is not safe to use: %1/chunks is a symbolic link, not a directory or not owned by you. "
                     "Move the store aside and create a new one.",
                     storePath)};
        }
        return Error{i18n("Could not open the chunk directory of the snapshot store %1: %2", storePath, systemError(error))};
    }
    if ((status.st_mode & 07777) != 0700) {
        ::fchmod(chunksDir.get(), 0700);
    }
    return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(storeDir), std::move(chunksDir), storePath));
}

bool ChunkStore::isValidId(const QByteArray &id)
{
    if (id.size() != 32) {
        return false;
    }
    for (const char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

QByteArray ChunkStore::idOf(const unsigned char *data, std::size_t size)
{
    const XXH128_hash_t hash = XXH3_128bits(data, size);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    return QByteArray(reinterpret_cast<const char *>(canonical.digest), sizeof canonical.digest).toHex();
}

Error ChunkStore::fullError() const
{
    struct statvfs fileSystem{};
    qint64 available = 0;
    if (::fstatvfs(m_storeDir.get(), &fileSystem) == 0) {
        available = qint64(fileSystem.f_bavail) * qint64(fileSystem.f_frsize);
    }
    return Error{i18n("The snapshot store on %1 is full: %2 free. Delete old snapshots or free space, then try again.",
                      m_storePath,
                      QLocale().formattedDataSize(available))};
}

Error ChunkStore::ioError(int errorNumber, const QString &what) const
{
    if (isFull(errorNumber)) {
        return fullError();
    }
    return Error{i18n("%1 in the snapshot store %2 failed: %3", what, m_storePath, systemError(errorNumber))};
}

Result<UniqueFd> ChunkStore::openOrCreateDirectory(const QByteArray &name)
{
    if (::mkdirat(m_chunksDir.get(), name.constData(), 0700) == 0) {
        m_chunksDirectoryTouched = true;
    } else if (errno != EEXIST) {
        return ioError(errno, i18n("Creating a chunk directory"));
    }
    return openDirectory(name);
}

Result<UniqueFd> ChunkStore::openDirectory(const QByteArray &name) const
{
    UniqueFd directory(openBeneath(m_chunksDir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!directory) {
        const int error = errno;
        if (error == ELOOP || error == ENOTDIR || error == EXDEV) {
            return Error{
                i18n("The snapshot store %1 is not safe to use: chunks/%2 is a symbolic link or not a directory. "
                     "Move the store aside and create a new one.",
                     m_storePath,
                     QString::fromLatin1(name))};
        }
        if (error == ENOENT) {
            return Error{i18n("The chunk directory chunks/%1 is missing from the snapshot store %2.", QString::fromLatin1(name), m_storePath)};
        }
        return ioError(error, i18n("Opening a chunk directory"));
    }
    struct stat status{};
    if (::fstat(directory.get(), &status) != 0 || status.st_uid != ::geteuid()) {
        return Error{i18n("The snapshot store %1 is not safe to use: chunks/%2 is not owned by you. Move the store aside and create a new one.",
                          m_storePath,
                          QString::fromLatin1(name))};
    }
    return directory;
}

Result<ChunkStore::Stored> ChunkStore::put(const unsigned char *data, std::size_t size)
{
    Stored stored;
    stored.id = idOf(data, size);
    const QByteArray directoryName = stored.id.left(2);
    const QByteArray fileName = stored.id.mid(2);
    auto directory = openOrCreateDirectory(directoryName);
    if (!directory) {
        return directory.error();
    }
    const int dirFd = directory->get();

    struct stat status{};
    if (::fstatat(dirFd, fileName.constData(), &status, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISREG(status.st_mode)) {
            return Error{i18n("The snapshot store %1 is not safe to use: chunk %2 is not a regular file. Move the store aside and create a new one.",
                              m_storePath,
                              QString::fromLatin1(stored.id))};
        }
        stored.storedBytes = status.st_size;
        return stored;
    }
    if (errno != ENOENT) {
        return ioError(errno, i18n("Looking up a chunk"));
    }
    if (const auto pending = m_pending.constFind(stored.id); pending != m_pending.cend()) {
        stored.storedBytes = *pending;
        return stored;
    }

    QByteArray &buffer = m_codecs->buffer;
    buffer.resize(qsizetype(headerSize + ZSTD_compressBound(size)));
    char *header = buffer.data();
    std::memcpy(header, magic, sizeof magic);
    qToLittleEndian<quint32>(formatVersion, header + 4);
    qToLittleEndian<quint64>(size, header + 8);
    const std::size_t compressed =
        ZSTD_compressCCtx(m_codecs->compress.get(), buffer.data() + headerSize, buffer.size() - headerSize, data, size, compressionLevel);
    if (ZSTD_isError(compressed)) {
        return Error{i18n("Compressing a chunk failed: %1", QString::fromLatin1(ZSTD_getErrorName(compressed)))};
    }
    const std::size_t fileSize = headerSize + compressed;

    const QByteArray temporary = temporaryName(stored.id);
    UniqueFd file(::openat(dirFd, temporary.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file && errno == EEXIST) {
        // Left behind by an earlier process with the same pid that crashed.
        ::unlinkat(dirFd, temporary.constData(), 0);
        file.reset(::openat(dirFd, temporary.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    }
    if (!file) {
        return ioError(errno, i18n("Creating a chunk file"));
    }
    if (!writeAll(file.get(), buffer.constData(), fileSize)) {
        const int error = errno;
        file.reset();
        ::unlinkat(dirFd, temporary.constData(), 0);
        return ioError(error, i18n("Writing a chunk"));
    }
    // Start writing it back now; persist() waits for it.
    ::sync_file_range(file.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    m_pending.insert(stored.id, qint64(fileSize));
    stored.storedBytes = qint64(fileSize);
    stored.written = true;
    return stored;
}

QByteArray ChunkStore::temporaryName(const QByteArray &id)
{
    return ".tmp-" + id.mid(2) + '-' + QByteArray::number(::getpid());
}

Result<void> ChunkStore::persist()
{
    if (!m_pending.isEmpty()) {
        if (::syncfs(m_chunksDir.get()) != 0) {
            return ioError(errno, i18n("Flushing the chunks to disk"));
        }
        const QList<QByteArray> ids = m_pending.keys();
        for (const QByteArray &id : ids) {
            const QByteArray directoryName = id.left(2);
            auto directory = openDirectory(directoryName);
            if (!directory) {
                return directory.error();
            }
            if (::renameat(directory->get(), temporaryName(id).constData(), directory->get(), id.mid(2).constData()) != 0) {
                return ioError(errno, i18n("Renaming a chunk into place"));
            }
            m_pending.remove(id);
            m_touchedDirectories.insert(directoryName);
        }
    }
    for (const QByteArray &name : std::as_const(m_touchedDirectories)) {
        auto directory = openDirectory(name);
        if (!directory) {
            return directory.error();
        }
        if (::fsync(directory->get()) != 0) {
            return ioError(errno, i18n("Flushing a chunk directory"));
        }
    }
    m_touchedDirectories.clear();
    if (m_chunksDirectoryTouched) {
        if (::fsync(m_chunksDir.get()) != 0) {
            return ioError(errno, i18n("Flushing the chunk directory"));
        }
        m_chunksDirectoryTouched = false;
    }
    return {};
}

void ChunkStore::discard(const QByteArray &id)
{
    if (!isValidId(id)) {
        return;
    }
    auto directory = openDirectory(id.left(2));
    if (directory) {
        const QByteArray name = m_pending.remove(id) ? temporaryName(id) : id.mid(2);
        ::unlinkat(directory->get(), name.constData(), 0);
    }
}

Result<QByteArray> ChunkStore::read(const QByteArray &id) const
{
    const QString name = QString::fromLatin1(id);
    if (!isValidId(id)) {
        return Error{i18n("chunk %1 has an invalid name", name)};
    }
    UniqueFd file(openBeneath(m_chunksDir.get(), id.left(2) + '/' + id.mid(2), O_RDONLY | O_NOFOLLOW));
    if (!file) {
        if (errno == ENOENT) {
            return Error{i18n("chunk %1 is missing", name)};
        }
        if (errno == ELOOP || errno == EXDEV) {
            return Error{i18n("chunk %1 is behind a symbolic link", name)};
        }
        return Error{i18n("chunk %1 cannot be read: %2", name, systemError(errno))};
    }
    struct stat status{};
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode) || status.st_size < qint64(headerSize) || status.st_size > largestChunkFile) {
        return Error{i18n("chunk %1 is damaged (wrong size)", name)};
    }
    QByteArray stored(qsizetype(status.st_size), Qt::Uninitialized);
    qsizetype done = 0;
    while (done < stored.size()) {
        const ssize_t n = ::read(file.get(), stored.data() + done, std::size_t(stored.size() - done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return Error{i18n("chunk %1 cannot be read: %2", name, systemError(errno))};
        }
        if (n == 0) {
            return Error{i18n("chunk %1 is damaged (truncated)", name)};
        }
        done += n;
    }
    if (std::memcmp(stored.constData(), magic, sizeof magic) != 0 || qFromLittleEndian<quint32>(stored.constData() + 4) != formatVersion) {
        return Error{i18n("chunk %1 is damaged (bad header)", name)};
    }
    const quint64 rawSize = qFromLittleEndian<quint64>(stored.constData() + 8);
    if (rawSize > ContentChunker::maximumSize) {
        return Error{i18n("chunk %1 is damaged (bad header)", name)};
    }
    QByteArray raw(qsizetype(rawSize), Qt::Uninitialized);
    const std::size_t produced = ZSTD_decompressDCtx(m_codecs->decompress.get(),
                                                     raw.data(),
                                                     std::size_t(raw.size()),
                                                     stored.constData() + headerSize,
                                                     std::size_t(stored.size()) - headerSize);
    if (ZSTD_isError(produced) || produced != rawSize) {
        return Error{i18n("chunk %1 is damaged (cannot be decompressed)", name)};
    }
    if (idOf(reinterpret_cast<const unsigned char *>(raw.constData()), std::size_t(raw.size())) != id) {
        return Error{i18n("chunk %1 is damaged (its content does not match its checksum)", name)};
    }
    return raw;
}

Result<QList<ChunkStore::File>> ChunkStore::files() const
{
    QList<File> found;
    UniqueFd listFd(::openat(m_chunksDir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *top = listFd ? ::fdopendir(listFd.release()) : nullptr;
    if (!top) {
        return ioError(errno, i18n("Listing the chunks"));
    }
    QList<QByteArray> directories;
    while (const dirent *entry = ::readdir(top)) {
        const QByteArray name(entry->d_name);
        if (name.size() == 2 && isValidId(name + QByteArray(30, '0'))) {
            directories.append(name);
        }
    }
    ::closedir(top);

    for (const QByteArray &directoryName : std::as_const(directories)) {
        auto directory = openDirectory(directoryName);
        if (!directory) {
            return directory.error();
        }
        UniqueFd listingFd(::fcntl(directory->get(), F_DUPFD_CLOEXEC, 0));
        DIR *listing = listingFd ? ::fdopendir(listingFd.get()) : nullptr;
        if (listing) {
            listingFd.release(); // closedir() closes it
        } else {
            return ioError(errno, i18n("Listing the chunks"));
        }
        while (const dirent *entry = ::readdir(listing)) {
            const QByteArray name(entry->d_name);
            if (name == "." || name == "..") {
                continue;
            }
            struct stat status{};
            if (::fstatat(directory->get(), name.constData(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            File file;
            file.directory = directoryName;
            file.name = name;
            file.size = S_ISREG(status.st_mode) ? qint64(status.st_size) : 0;
            if (S_ISREG(status.st_mode) && isValidId(directoryName + name)) {
                file.id = directoryName + name;
            }
            found.append(file);
        }
        ::closedir(listing);
    }
    return found;
}

Result<void> ChunkStore::removeFile(const File &file)
{
    auto directory = openDirectory(file.directory);
    if (!directory) {
        return directory.error();
    }
    struct stat status{};
    if (::fstatat(directory->get(), file.name.constData(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(status.st_mode)) {
        return Error{i18n("The snapshot store %1 has an unexpected directory chunks/%2/%3; remove it by hand.",
                          m_storePath,
                          QString::fromLatin1(file.directory),
                          QString::fromLatin1(file.name))};
    }
    if (::unlinkat(directory->get(), file.name.constData(), 0) != 0 && errno != ENOENT) {
        return ioError(errno, i18n("Removing a chunk"));
    }
    return {};
}

} // namespace Rewind
