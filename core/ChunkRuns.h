// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QList>

#include <optional>

namespace Rewind
{

/// Where a file's chunks were when it was stored, as the catalog keeps it
/// beside the file's list (files.chunk_runs): runs of records that follow
/// each other in one pack, each as the pack's name (16 bytes), the first
/// record's offset (8 bytes little-endian) and the number of records (4
/// bytes little-endian). The records' lengths are the file's stored sizes
/// (files.chunk_sizes). A restore takes its chunks' places from here
/// instead of asking the chunk index about each of them. The places are a
/// hint: every record read is checked against its chunk's id, and a pack
/// the garbage collector rewrites clears the runs that name it.
namespace ChunkRuns
{

constexpr qsizetype runBytes = 28;

/// The runs of a file's chunks, one chunk after the other.
class Builder
{
public:
    /// The next chunk's record: in pack (32 hex digits) at offset, length
    /// bytes long. An empty pack means the place is not known.
    void add(const QByteArray &pack, qint64 offset, qint64 length);
    /// The runs of the chunks added; empty if a place was not known.
    QByteArray result() const;

private:
    QByteArray m_runs;
    QByteArray m_lastPack;
    qint64 m_nextOffset = -1;
    bool m_unknown = false;
};

struct Place {
    QByteArray pack; ///< 32 hex digits
    qint64 offset = 0;
    quint32 length = 0; ///< the record's, the chunk's stored bytes
};

/// A place per chunk from runs and the chunks' stored sizes (4 bytes
/// little-endian each); nothing if they do not describe the same chunks.
std::optional<QList<Place>> places(const QByteArray &runs, const QByteArray &sizes);

} // namespace ChunkRuns
} // namespace Rewind
