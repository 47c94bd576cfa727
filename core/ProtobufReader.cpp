// SPDX-License-Identifier: GPL-2.0-or-later
#include "ProtobufReader.h"

namespace Rewind
{

ProtobufReader::ProtobufReader(QByteArrayView data)
    : m_data(data)
{
}

bool ProtobufReader::atEnd() const
{
    return m_position >= m_data.size();
}

std::optional<quint64> ProtobufReader::varint()
{
    quint64 value = 0;
    for (int shift = 0; shift < 64 && m_position < m_data.size(); shift += 7) {
        const auto byte = quint8(m_data[m_position++]);
        value |= quint64(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            return value;
        }
    }
    return std::nullopt;
}

std::optional<QByteArrayView> ProtobufReader::bytes()
{
    const auto length = varint();
    if (!length || *length > quint64(m_data.size() - m_position)) {
        return std::nullopt;
    }
    const auto view = m_data.sliced(m_position, qsizetype(*length));
    m_position += qsizetype(*length);
    return view;
}

bool ProtobufReader::skip(int wireType)
{
    switch (wireType) {
    case 0:
        return varint().has_value();
    case 1:
        m_position += 8;
        return m_position <= m_data.size();
    case 2:
        return bytes().has_value();
    case 5:
        m_position += 4;
        return m_position <= m_data.size();
    default:
        return false;
    }
}

} // namespace Rewind
