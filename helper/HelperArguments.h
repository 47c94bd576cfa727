// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QDBusUnixFileDescriptor>
#include <QString>
#include <QVariantMap>

#include <optional>

/// The arguments of one helper action, checked: only the keys the action
/// takes, each of the one type it must have, in its fixed format. Nothing
/// the caller sends is ever used as a path or a command.
struct HelperArguments {
    enum Key {
        Session = 1 << 0,
        Snapshot = 1 << 1,
        Spec = 1 << 2,
        Mode = 1 << 3,
        Label = 1 << 4,
        Pinned = 1 << 5,
        Operation = 1 << 6,
        Stream = 1 << 7,
        Interval = 1 << 8,
        KeepLast = 1 << 9,
        KeepHourly = 1 << 10,
        KeepDaily = 1 << 11,
        Query = 1 << 12,
        /// autosave's schedule and retention.
        AutosaveSettings = Interval | KeepLast | KeepHourly | KeepDaily,
    };

    QString session;
    qint64 snapshot = 0;
    QString spec;
    bool asNew = false;
    std::optional<QString> label;
    std::optional<bool> pinned;
    QString operation;
    QString query; ///< words to search for, taken literally
    QDBusUnixFileDescriptor stream; ///< a file descriptor of the caller's, for an export or an import
    // autosave's settings, each within its HelperProtocol::Bounds.
    std::optional<int> intervalMinutes;
    std::optional<int> keepLast;
    std::optional<int> keepHourly;
    std::optional<int> keepDaily;

    /// Checks map against the keys an action requires and the ones it may take.
    static Rewind::Result<HelperArguments> parse(const QVariantMap &map, int required, int optional = 0);

    /// Text from the caller made safe to quote in a message: printable, short.
    static QString quoted(const QString &text);
    /// Whether a label is acceptable: at most 200 characters, none of them a
    /// control or formatting character, valid UTF-16.
    static bool isValidLabel(const QString &label);
    /// Whether a search query is acceptable: like a label, and not blank.
    static bool isValidQuery(const QString &query);
};
