// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArrayView>

#include <optional>

namespace Rewind
{

/// Just enough protobuf to read CRIU's images: varints and length-delimited
/// fields, fixed-size ones skipped, never a byte outside the message.
class ProtobufReader
{
public:
    explicit ProtobufReader(QByteArrayView data);

    bool atEnd() const;
    std::optional<quint64> varint();
    /// A length-delimited field's bytes, after its key.
    std::optional<QByteArrayView> bytes();
    /// Skips a field's value of wireType; false if it is malformed.
    bool skip(int wireType);

private:
    QByteArrayView m_data;
    qsizetype m_position = 0;
};

} // namespace Rewind
