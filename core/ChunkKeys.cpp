// SPDX-License-Identifier: GPL-2.0-or-later
#include "ChunkKeys.h"

#include "FileWriting.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QtEndian>

#define XXH_INLINE_ALL
#include <blake3.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

// BLAKE3's key derivation context: fixed for ever, or every id changes.
constexpr const char *ownerKeyContext = "Rewind snapshot store 2026-11 chunk id key of one owner";

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

bool fillRandom(std::uint8_t *data, std::size_t size)
{
    while (size > 0) {
        const ssize_t n = ::getrandom(data, size, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data += n;
        size -= std::size_t(n);
    }
    return true;
}

/// Writes a new secret under a temporary name and links it into place
/// unless another process was first; either way the secret is then read.
Result<void> createSecret(int storeDirFd, const QString &storePath)
{
    std::uint8_t secret[32];
    if (!fillRandom(secret, sizeof secret)) {
        return Error{i18n("Could not create the secret of the snapshot store %1: the system has no randomness to give (%2).", storePath, systemError(errno))};
    }
    UniqueFd file(::openat(storeDirFd, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, 0600));
    const bool written = file && writeAll(file.get(), secret, sizeof secret) && ::fsync(file.get()) == 0;
    std::memset(secret, 0, sizeof secret);
    if (!written) {
        return Error{i18n("Could not create the secret of the snapshot store %1: %2", storePath, systemError(errno))};
    }
    char procPath[64];
    std::snprintf(procPath, sizeof procPath, "/proc/self/fd/%d", file.get());
    if (::linkat(AT_FDCWD, procPath, storeDirFd, ChunkKeys::secretFileName, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST) {
        return Error{i18n("Could not create the secret of the snapshot store %1: %2", storePath, systemError(errno))};
    }
    ::fsync(storeDirFd);
    return {};
}

ChunkList::Id keyedBinaryIdOf(const std::array<std::uint8_t, 32> &key, const unsigned char *data, std::size_t size)
{
    blake3_hasher hasher;
    blake3_hasher_init_keyed(&hasher, key.data());
    blake3_hasher_update(&hasher, data, size);
    ChunkList::Id id;
    blake3_hasher_finalize(&hasher, reinterpret_cast<std::uint8_t *>(id.data()), id.size());
    return id;
}

ChunkList::Id legacyBinaryIdOf(const unsigned char *data, std::size_t size)
{
    const XXH128_hash_t hash = XXH3_128bits(data, size);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    ChunkList::Id id;
    static_assert(sizeof canonical.digest == ChunkList::idBytes);
    std::memcpy(id.data(), canonical.digest, id.size());
    return id;
}

} // namespace

ChunkKeys::ChunkKeys(const Key &secret)
    : m_secret(secret)
{
}

Result<ChunkKeys> ChunkKeys::open(int storeDirFd, const QString &storePath)
{
    UniqueFd file(::openat(storeDirFd, secretFileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file && errno == ENOENT) {
        if (auto created = createSecret(storeDirFd, storePath); !created) {
            return created.error();
        }
        file.reset(::openat(storeDirFd, secretFileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!file) {
        return Error{i18n("Could not read the secret of the snapshot store %1: %2", storePath, systemError(errno))};
    }
    struct stat status{};
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode) || status.st_uid != ::geteuid() || (status.st_mode & 077) != 0
        || status.st_size != qint64(sizeof(Key))) {
        return Error{
            i18n("The snapshot store %1 is not safe to use: its secret %2 is not a private file of yours of 32 bytes. Move the store aside and create "
                 "a new one.",
                 storePath,
                 QString::fromLatin1(secretFileName))};
    }
    Key secret{};
    if (::pread(file.get(), secret.data(), secret.size(), 0) != ssize_t(secret.size())) {
        return Error{i18n("Could not read the secret of the snapshot store %1: %2", storePath, systemError(errno))};
    }
    return ChunkKeys(secret);
}

const ChunkKeys::Key &ChunkKeys::keyOf(qint64 owner) const
{
    auto known = m_ownerKeys.constFind(owner);
    if (known != m_ownerKeys.cend()) {
        return *known;
    }
    // Key material: the secret, then the owner's uid (8 bytes, little endian).
    std::uint8_t material[sizeof(Key) + 8];
    std::memcpy(material, m_secret.data(), m_secret.size());
    qToLittleEndian<quint64>(quint64(owner), material + sizeof(Key));
    blake3_hasher hasher;
    blake3_hasher_init_derive_key(&hasher, ownerKeyContext);
    blake3_hasher_update(&hasher, material, sizeof material);
    Key key{};
    blake3_hasher_finalize(&hasher, key.data(), key.size());
    std::memset(material, 0, sizeof material);
    return *m_ownerKeys.insert(owner, key);
}

QByteArray ChunkKeys::legacyIdOf(const unsigned char *data, std::size_t size)
{
    return ChunkList::hex(legacyBinaryIdOf(data, size));
}

QByteArray ChunkKeys::idOf(qint64 owner, const unsigned char *data, std::size_t size) const
{
    if (owner == legacyOwner) {
        return legacyIdOf(data, size);
    }
    return ChunkList::hex(keyedBinaryIdOf(keyOf(owner), data, size));
}

ChunkKeys::OwnerIds ChunkKeys::idsOf(qint64 owner) const
{
    OwnerIds ids;
    ids.m_owner = owner;
    if (owner != legacyOwner) {
        ids.m_key = keyOf(owner);
    }
    return ids;
}

QByteArray ChunkKeys::OwnerIds::idOf(const unsigned char *data, std::size_t size) const
{
    return ChunkList::hex(binaryIdOf(data, size));
}

ChunkList::Id ChunkKeys::OwnerIds::binaryIdOf(const unsigned char *data, std::size_t size) const
{
    return m_owner == legacyOwner ? legacyBinaryIdOf(data, size) : keyedBinaryIdOf(m_key, data, size);
}

} // namespace Rewind
