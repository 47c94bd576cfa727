// SPDX-License-Identifier: GPL-2.0-or-later
#include "ChunkRuns.h"

#include "ChunkList.h"

#include <QtEndian>

#include <cstring>

#include <limits>

namespace Rewind::ChunkRuns
{

void Builder::add(const QByteArray &pack, qint64 offset, qint64 length)
{
    if (m_unknown) {
        return;
    }
    if (pack.isEmpty() || offset < 0 || length <= 0) {
        m_unknown = true;
        return;
    }
    if (pack == m_lastPack && offset == m_nextOffset) {
        char *count = m_runs.data() + m_runs.size() - sizeof(quint32);
        qToLittleEndian<quint32>(qFromLittleEndian<quint32>(count) + 1, count);
    } else {
        const std::optional<QByteArray> name = ChunkList::binaryId(pack);
        if (!name) {
            m_unknown = true;
            return;
        }
        char run[runBytes];
        std::memcpy(run, name->constData(), ChunkList::idBytes);
        qToLittleEndian<qint64>(offset, run + ChunkList::idBytes);
        qToLittleEndian<quint32>(1, run + ChunkList::idBytes + sizeof(qint64));
        m_runs.append(run, runBytes);
        m_lastPack = pack;
    }
    m_nextOffset = offset + length;
}

QByteArray Builder::result() const
{
    return m_unknown ? QByteArray() : m_runs;
}

std::optional<QList<Place>> places(const QByteArray &runs, const QByteArray &sizes)
{
    if (runs.size() % runBytes != 0 || sizes.size() % qsizetype(sizeof(quint32)) != 0) {
        return std::nullopt;
    }
    const qsizetype chunkCount = sizes.size() / qsizetype(sizeof(quint32));
    QList<Place> result;
    result.reserve(chunkCount);
    for (qsizetype at = 0; at < runs.size(); at += runBytes) {
        const char *run = runs.constData() + at;
        Place place{QByteArray(run, ChunkList::idBytes).toHex(), qFromLittleEndian<qint64>(run + ChunkList::idBytes)};
        const quint32 count = qFromLittleEndian<quint32>(run + ChunkList::idBytes + sizeof(qint64));
        if (place.offset < 0 || count == 0 || qsizetype(count) > chunkCount - result.size()) {
            return std::nullopt;
        }
        for (quint32 i = 0; i < count; ++i) {
            place.length = qFromLittleEndian<quint32>(sizes.constData() + result.size() * qsizetype(sizeof(quint32)));
            result.append(place);
            if (place.offset > std::numeric_limits<qint64>::max() - place.length) {
                return std::nullopt;
            }
            place.offset += place.length;
        }
    }
    if (result.size() != chunkCount) {
        return std::nullopt;
    }
    return result;
}

} // namespace Rewind::ChunkRuns
