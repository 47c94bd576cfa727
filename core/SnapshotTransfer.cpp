// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotTransfer.h"

#include "CriuCheckpointer.h"
#include "CriuCpuInfo.h"
#include "FileWriting.h"
#include "OpenBeneath.h"
#include "SessionManager.h"
#include "SessionRecord.h"
#include "SnapshotStream.h"
#include "StagingDirectory.h"
#include "UniqueFd.h"
#include "rewind_version.h"

#include <KLocalizedString>

#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QList>
#include <QSysInfo>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace Rewind
{
namespace
{

QString systemError(int errorNumber)
{
    return QString::fromLocal8Bit(strerror(errorNumber));
}

QString kernelRelease()
{
    utsname name{};
    return ::uname(&name) == 0 ? QString::fromLatin1(name.release) : QString();
}

QJsonObject headerOf(const SnapshotInfo &info)
{
    QJsonObject header{
        {QStringLiteral("architecture"), QSysInfo::currentCpuArchitecture()},
        {QStringLiteral("pageSize"), qint64(::sysconf(_SC_PAGESIZE))},
        {QStringLiteral("kernel"), kernelRelease()},
        {QStringLiteral("rewindVersion"), QStringLiteral(REWIND_VERSION_STRING)},
        {QStringLiteral("snapshot"),
         QJsonObject{
             {QStringLiteral("session"), info.sessionId},
             {QStringLiteral("createdAt"), info.createdAt.toString(Qt::ISODateWithMs)},
             {QStringLiteral("label"), info.label},
             {QStringLiteral("trigger"), triggerName(info.trigger)},
             {QStringLiteral("metadata"), QJsonObject::fromVariantMap(info.metadata)},
         }},
    };
    if (auto criu = CriuCheckpointer::version()) {
        header.insert(QStringLiteral("criuVersion"), *criu);
    }
    if (auto cpu = CriuCpuInfo::dump()) {
        header.insert(QStringLiteral("cpuinfo"), QString::fromLatin1(cpu->toBase64()));
    }
    return header;
}

/// A label as the helper would take one: no control characters, not too long.
QString printableLabel(QString label)
{
    label.removeIf([](QChar c) {
        return c.category() == QChar::Other_Control || c.category() == QChar::Other_Format;
    });
    return label.left(200);
}

QString versionText(int version)
{
    return QStringLiteral("%1.%2.%3").arg(version / 10000).arg(version / 100 % 100).arg(version % 100);
}

/// Writes the entries and pieces of a stream into a staging tree.
class StagedTree
{
public:
    explicit StagedTree(int rootFd)
        : m_root(rootFd)
    {
    }

    Result<void> entry(const QString &path, quint32 mode)
    {
        m_current.reset();
        const QByteArray nativePath = QFile::encodeName(path);
        if (!isSafeRelativePath(nativePath) || QFile::decodeName(nativePath) != path) {
            return Error{i18n("The snapshot stream is damaged: it names a file outside the snapshot.")};
        }
        const qsizetype slash = nativePath.lastIndexOf('/');
        const QByteArray name = nativePath.mid(slash + 1);
        UniqueFd parent(slash < 0 ? ::fcntl(m_root, F_DUPFD_CLOEXEC, 0) : openBeneath(m_root, nativePath.left(slash), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        if (!parent) {
            return Error{i18n("The snapshot stream is damaged: a file comes before its directory.")};
        }
        // Never set-user-ID or set-group-ID: the files are root's until stored.
        if (S_ISDIR(mode)) {
            if (::mkdirat(parent.get(), name.constData(), 0700) != 0 || ::fchmodat(parent.get(), name.constData(), (mode & 01777) | 0700, 0) != 0) {
                return errno == EEXIST ? Error{i18n("The snapshot stream is damaged: it names a file twice.")} : writeError(errno);
            }
            return {};
        }
        m_current.reset(::openat(parent.get(), name.constData(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
        if (!m_current) {
            return errno == EEXIST ? Error{i18n("The snapshot stream is damaged: it names a file twice.")} : writeError(errno);
        }
        m_currentPath = nativePath;
        m_offset = 0;
        return {};
    }

    /// A new chunk of the current file, remembered for later references.
    Result<void> chunk(const QByteArray &data)
    {
        m_chunks.append(Piece{m_currentPath, m_offset, data.size()});
        return append(data);
    }

    /// A chunk sent before, copied from where it was written.
    Result<void> reference(quint32 index)
    {
        const Piece &piece = m_chunks.at(index);
        QByteArray data(piece.length, Qt::Uninitialized);
        const bool same = piece.path == m_currentPath;
        UniqueFd other(same ? -1 : openBeneath(m_root, piece.path, O_RDONLY | O_NOFOLLOW));
        const int fd = same ? m_current.get() : other.get();
        if (fd < 0 || ::pread(fd, data.data(), std::size_t(data.size()), off_t(piece.offset)) != data.size()) {
            return writeError(errno);
        }
        return append(data);
    }

private:
    struct Piece {
        QByteArray path;
        qint64 offset = 0;
        qsizetype length = 0;
    };

    Result<void> append(const QByteArray &data)
    {
        if (!writeAll(m_current.get(), data.constData(), std::size_t(data.size()))) {
            return writeError(errno);
        }
        m_offset += data.size();
        return {};
    }

    static Error writeError(int errorNumber)
    {
        return Error{i18n("The snapshot could not be staged for the import: %1", systemError(errorNumber))};
    }

    int m_root;
    UniqueFd m_current;
    QByteArray m_currentPath;
    qint64 m_offset = 0;
    QList<Piece> m_chunks;
};

} // namespace

Result<SnapshotTransfer::ExportOutcome> SnapshotTransfer::exportSnapshot(const SnapshotStore &store, qint64 id, int fd)
{
    auto info = store.snapshot(id);
    if (!info) {
        return info.error();
    }
    SnapshotStreamWriter writer(fd);
    if (auto written = writer.writeHeader(headerOf(*info)); !written) {
        return written.error();
    }
    ExportOutcome outcome;
    QHash<QByteArray, quint32> sent;
    SnapshotStore::Visitor visitor;
    visitor.entry = [&writer](const QString &path, quint32 mode, qint64 size) {
        return writer.writeEntry(path, mode, quint64(size));
    };
    visitor.chunk = [&](const QByteArray &chunkId, const QByteArray *data, const QByteArray &zstdFrame) -> Result<void> {
        if (!data) {
            return writer.writeChunkReference(sent.value(chunkId));
        }
        sent.insert(chunkId, quint32(outcome.chunks++));
        // As the store keeps it, checked: compressed once, never again.
        return writer.writeStoredChunk(*data, zstdFrame);
    };
    if (auto walked = store.walk(id, visitor); !walked) {
        return walked.error();
    }
    if (auto ended = writer.writeEnd(); !ended) {
        return ended.error();
    }
    outcome.bytes = writer.bytesWritten();
    return outcome;
}

QStringList SnapshotTransfer::incompatibilities(const QJsonObject &header, uid_t owner)
{
    QStringList reasons;
    const QString architecture = header.value(QStringLiteral("architecture")).toString();
    if (architecture != QSysInfo::currentCpuArchitecture()) {
        reasons.append(i18n("It was taken on a %1 machine; this one is %2.", architecture.left(40), QSysInfo::currentCpuArchitecture()));
    }
    const qint64 pageSize = header.value(QStringLiteral("pageSize")).toInteger();
    if (pageSize != qint64(::sysconf(_SC_PAGESIZE))) {
        reasons.append(
            i18n("Its machine had pages of %1 bytes; this one has pages of %2 bytes.", QString::number(pageSize), QString::number(::sysconf(_SC_PAGESIZE))));
    }
    const int criuThere = header.value(QStringLiteral("criuVersion")).toInt();
    static const auto criuHere = CriuCheckpointer::version();
    if (!criuHere) {
        reasons.append(criuHere.errorMessage());
    } else if (criuThere <= 0) {
        reasons.append(i18n("It does not say which CRIU took it."));
    } else if (criuThere > *criuHere) {
        reasons.append(
            i18n("It was taken with CRIU %1; this machine has the older CRIU %2. Update CRIU here.", versionText(criuThere), versionText(*criuHere)));
    }
    const QByteArray cpu = QByteArray::fromBase64(header.value(QStringLiteral("cpuinfo")).toString().toLatin1());
    if (cpu.isEmpty()) {
        reasons.append(i18n("It does not describe the CPU it was taken on."));
    } else if (auto checked = CriuCpuInfo::check(cpu); !checked) {
        reasons.append(i18n("This machine's CPU lacks features its processes may use (CRIU: %1).", checked.errorMessage()));
    }
    const QJsonObject metadata = header.value(QStringLiteral("snapshot")).toObject().value(QStringLiteral("metadata")).toObject();
    const QJsonObject plan = metadata.value(QStringLiteral("plan")).toObject();
    const auto user = SessionManager::sessionUserOf(owner);
    if (!user) {
        reasons.append(user.errorMessage());
    } else if (plan.value(QStringLiteral("uid")).toInteger(-1) != qint64(user->first)
               || plan.value(QStringLiteral("gid")).toInteger(-1) != qint64(user->second)) {
        reasons.append(i18n("Its processes ran as user %1 and group %2; here your sessions run as user %3 and group %4.",
                            QString::number(plan.value(QStringLiteral("uid")).toInteger(-1)),
                            QString::number(plan.value(QStringLiteral("gid")).toInteger(-1)),
                            QString::number(user->first),
                            QString::number(user->second)));
    }
    if (!metadata.value(QStringLiteral("userNamespace")).toBool()) {
        reasons.append(i18n("It was taken before sessions had user namespaces, and cannot be restored."));
    }
    return reasons;
}

Result<SnapshotInfo> SnapshotTransfer::importSnapshot(SnapshotStore &store, const QString &stagingParent, int fd, uid_t owner, const StoreQuota &quota)
{
    SnapshotStreamReader reader(fd);
    auto header = reader.readHeader();
    if (!header) {
        return header.error();
    }
    // Before anything is staged or stored: everything that would stop a restore.
    if (const QStringList reasons = incompatibilities(*header, owner); !reasons.isEmpty()) {
        return Error{i18n("This snapshot cannot be imported here:\n%1", reasons.join(QLatin1Char('\n')))};
    }
    if (auto allowed = store.checkQuota(owner, quota); !allowed) {
        return allowed.error();
    }
    auto staging = StagingDirectory::create(stagingParent);
    if (!staging) {
        return staging.error();
    }
    StagedTree tree(staging->fd());
    for (;;) {
        auto item = reader.next();
        if (!item) {
            return item.error();
        }
        Result<void> staged;
        switch (item->kind) {
        case SnapshotStreamReader::Item::Kind::Entry:
            staged = tree.entry(item->path, item->mode);
            break;
        case SnapshotStreamReader::Item::Kind::Chunk:
            staged = tree.chunk(item->data);
            break;
        case SnapshotStreamReader::Item::Kind::ChunkReference:
            staged = tree.reference(item->index);
            break;
        case SnapshotStreamReader::Item::Kind::End:
            break;
        }
        if (!staged) {
            return staged.error();
        }
        if (item->kind == SnapshotStreamReader::Item::Kind::End) {
            break;
        }
    }

    // The stream is whole: the snapshot becomes the importer's.
    const QJsonObject snapshot = header->value(QStringLiteral("snapshot")).toObject();
    QVariantMap metadata = snapshot.value(QStringLiteral("metadata")).toObject().toVariantMap();
    metadata.insert(QStringLiteral("owner"), qint64(owner));
    metadata.insert(QStringLiteral("importedFrom"),
                    QVariantMap{{QStringLiteral("session"), snapshot.value(QStringLiteral("session")).toString().left(200)},
                                {QStringLiteral("createdAt"), snapshot.value(QStringLiteral("createdAt")).toString().left(64)},
                                {QStringLiteral("kernel"), header->value(QStringLiteral("kernel")).toString().left(200)}});
    const QString spec = metadata.value(QStringLiteral("spec")).toString();
    return store.commit(SessionRecord::newId(spec.isEmpty() ? QStringLiteral("imported") : spec),
                        owner,
                        staging->fd(),
                        printableLabel(snapshot.value(QStringLiteral("label")).toString()),
                        SnapshotTrigger::Imported,
                        metadata,
                        quota);
}

} // namespace Rewind
