// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>
#include <QVariantMap>

#include <KSharedConfig>

/// The user's autosave settings, kept in rewindrc ([Autosave]). The helper
/// enforces the same bounds (HelperProtocol); values outside them read as
/// the nearest one allowed.
struct AutosaveSettings {
    bool enabled = true;
    int intervalMinutes;
    int keepLast;
    int keepHourly;
    int keepDaily;

    AutosaveSettings(); ///< the defaults, the helper's own

    /// rewindrc, whatever the program is called (the tests' too).
    static KSharedConfigPtr config();
    static AutosaveSettings load(const KSharedConfigPtr &config = AutosaveSettings::config());
    void save(const KSharedConfigPtr &config = AutosaveSettings::config()) const;

    /// The helper's autosave arguments for session with these settings.
    QVariantMap arguments(const QString &session) const;

    bool operator==(const AutosaveSettings &) const = default;
};
