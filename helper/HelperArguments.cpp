// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperArguments.h"

#include "HelperProtocol.h"
#include "SessionRecord.h"
#include "SessionSpec.h"

#include <KLocalizedString>

#include <QMetaType>

using namespace Rewind;

namespace
{

constexpr qsizetype maximumKeys = 8;
constexpr qsizetype maximumTextLength = 256;

struct KeyInfo {
    HelperArguments::Key key;
    const QString &name;
};

const KeyInfo keys[] = {
    {HelperArguments::Session, HelperProtocol::sessionKey},
    {HelperArguments::Snapshot, HelperProtocol::snapshotKey},
    {HelperArguments::Spec, HelperProtocol::specKey},
    {HelperArguments::Mode, HelperProtocol::modeKey},
    {HelperArguments::Label, HelperProtocol::labelKey},
    {HelperArguments::Pinned, HelperProtocol::pinnedKey},
    {HelperArguments::Operation, HelperProtocol::operationKey},
    {HelperArguments::Stream, HelperProtocol::streamKey},
    {HelperArguments::Query, HelperProtocol::queryKey},
    {HelperArguments::Interval, HelperProtocol::intervalKey},
    {HelperArguments::KeepLast, HelperProtocol::keepLastKey},
    {HelperArguments::KeepHourly, HelperProtocol::keepHourlyKey},
    {HelperArguments::KeepDaily, HelperProtocol::keepDailyKey},
};

std::optional<HelperArguments::Key> keyNamed(const QString &name)
{
    for (const KeyInfo &info : keys) {
        if (info.name == name) {
            return info.key;
        }
    }
    return std::nullopt;
}

bool isText(const QVariant &value)
{
    return value.metaType().id() == QMetaType::QString && value.toString().size() <= maximumTextLength;
}

/// A whole number within bounds, or why not.
Result<int> boundedNumber(const QString &name, const QVariant &value, const HelperProtocol::Bounds &bounds)
{
    const int type = value.metaType().id();
    if ((type != QMetaType::Int && type != QMetaType::LongLong) || !bounds.contains(value.toLongLong())) {
        return Error{i18n("'%1' must be a whole number from %2 to %3.", name, QString::number(bounds.minimum), QString::number(bounds.maximum))};
    }
    return int(value.toLongLong());
}

} // namespace

QString HelperArguments::quoted(const QString &text)
{
    QString result;
    for (const QChar c : text.left(64)) {
        result.append(c.isPrint() ? c : QChar(u'?'));
    }
    return text.size() > 64 ? result + QStringLiteral("…") : result;
}

bool HelperArguments::isValidQuery(const QString &query)
{
    return query.size() <= HelperProtocol::maximumQueryLength && !query.trimmed().isEmpty() && isValidLabel(query);
}

bool HelperArguments::isValidLabel(const QString &label)
{
    if (label.size() > HelperProtocol::maximumLabelLength || !label.isValidUtf16()) {
        return false;
    }
    for (const QChar c : label) {
        switch (c.category()) {
        case QChar::Other_Control:
        case QChar::Other_Format:
        case QChar::Separator_Line:
        case QChar::Separator_Paragraph:
            return false;
        default:
            break;
        }
    }
    return true;
}

Result<HelperArguments> HelperArguments::parse(const QVariantMap &map, int required, int optional)
{
    if (map.size() > maximumKeys) {
        return Error{i18n("The request has %1 arguments; no action takes more than %2.", map.size(), maximumKeys)};
    }
    HelperArguments arguments;
    int seen = 0;
    for (auto it = map.cbegin(); it != map.cend(); ++it) {
        const auto key = keyNamed(it.key());
        if (!key || !((required | optional) & *key)) {
            return Error{i18n("This action does not take the argument '%1'.", quoted(it.key()))};
        }
        seen |= *key;
        const QVariant &value = it.value();
        switch (*key) {
        case Session:
            if (!isText(value) || !SessionRecord::isValidId(value.toString())) {
                return Error{i18n("'session' must be a session id: lower-case letters, digits and dashes, at most 48 of them.")};
            }
            arguments.session = value.toString();
            break;
        case Snapshot:
            if (value.metaType().id() != QMetaType::LongLong || value.toLongLong() <= 0) {
                return Error{i18n("'snapshot' must be a snapshot id, a number greater than 0.")};
            }
            arguments.snapshot = value.toLongLong();
            break;
        case Spec:
            if (!isText(value) || !SessionSpec::isValidName(value.toString())) {
                return Error{i18n("'spec' must be the name of an installed session spec: lower-case letters, digits and dashes.")};
            }
            arguments.spec = value.toString();
            break;
        case Mode:
            if (!isText(value) || (value.toString() != HelperProtocol::inPlaceMode && value.toString() != HelperProtocol::asNewMode)) {
                return Error{i18n("'mode' must be '%1' or '%2'.", HelperProtocol::inPlaceMode, HelperProtocol::asNewMode)};
            }
            arguments.asNew = value.toString() == HelperProtocol::asNewMode;
            break;
        case Label:
            if (!isText(value) || !isValidLabel(value.toString())) {
                return Error{i18n("'label' must be text of at most %1 characters without control characters.", HelperProtocol::maximumLabelLength)};
            }
            arguments.label = value.toString();
            break;
        case Pinned:
            if (value.metaType().id() != QMetaType::Bool) {
                return Error{i18n("'pinned' must be true or false.")};
            }
            arguments.pinned = value.toBool();
            break;
        case Operation:
            if (!isText(value) || value.toString().isEmpty()) {
                return Error{i18n("'operation' must name what to administer.")};
            }
            arguments.operation = value.toString();
            break;
        case Query:
            if (isText(value) && value.toString().trimmed().isEmpty()) {
                return Error{i18n("Enter a word to search for.")};
            }
            if (!isText(value) || !isValidQuery(value.toString())) {
                return Error{i18n("'query' must be text of at most %1 characters without control characters.", HelperProtocol::maximumQueryLength)};
            }
            arguments.query = value.toString();
            break;
        case Stream:
            if (value.metaType() != QMetaType::fromType<QDBusUnixFileDescriptor>() || !value.value<QDBusUnixFileDescriptor>().isValid()) {
                return Error{i18n("'stream' must be a file descriptor.")};
            }
            arguments.stream = value.value<QDBusUnixFileDescriptor>();
            break;
        case Interval:
        case KeepLast:
        case KeepHourly:
        case KeepDaily: {
            const auto &[bounds, field] = *key == Interval ? std::pair{HelperProtocol::intervalMinutes, &arguments.intervalMinutes}
                : *key == KeepLast                         ? std::pair{HelperProtocol::keepLast, &arguments.keepLast}
                : *key == KeepHourly                       ? std::pair{HelperProtocol::keepHourly, &arguments.keepHourly}
                                                           : std::pair{HelperProtocol::keepDaily, &arguments.keepDaily};
            auto number = boundedNumber(it.key(), value, bounds);
            if (!number) {
                return number.error();
            }
            *field = *number;
            break;
        }
        case AutosaveSettings:
            break; // a set of keys, never one key's own
        }
    }
    if ((seen & required) != required) {
        QStringList missing;
        for (const KeyInfo &info : keys) {
            if ((required & info.key) && !(seen & info.key)) {
                missing.append(info.name);
            }
        }
        return Error{i18n("This action needs the argument(s) %1.", missing.join(QStringLiteral(", ")))};
    }
    return arguments;
}
