// SPDX-License-Identifier: GPL-2.0-or-later
#include "AutosaveSettings.h"

#include "HelperProtocol.h"

#include <KConfigGroup>

#include <algorithm>

namespace
{
const QString group = QStringLiteral("Autosave");

int bounded(const KConfigGroup &settings, const char *key, const HelperProtocol::Bounds &bounds)
{
    return std::clamp(settings.readEntry(key, bounds.standard), bounds.minimum, bounds.maximum);
}
} // namespace

AutosaveSettings::AutosaveSettings()
    : intervalMinutes(HelperProtocol::intervalMinutes.standard)
    , keepLast(HelperProtocol::keepLast.standard)
    , keepHourly(HelperProtocol::keepHourly.standard)
    , keepDaily(HelperProtocol::keepDaily.standard)
{
}

KSharedConfigPtr AutosaveSettings::config()
{
    return KSharedConfig::openConfig(QStringLiteral("rewindrc"));
}

AutosaveSettings AutosaveSettings::load(const KSharedConfigPtr &config)
{
    config->reparseConfiguration(); // the settings dialog of another process may have written it
    const KConfigGroup settings = config->group(group);
    AutosaveSettings loaded;
    loaded.enabled = settings.readEntry("Enabled", true);
    loaded.intervalMinutes = bounded(settings, "IntervalMinutes", HelperProtocol::intervalMinutes);
    loaded.keepLast = bounded(settings, "KeepLast", HelperProtocol::keepLast);
    loaded.keepHourly = bounded(settings, "KeepHourly", HelperProtocol::keepHourly);
    loaded.keepDaily = bounded(settings, "KeepDaily", HelperProtocol::keepDaily);
    return loaded;
}

void AutosaveSettings::save(const KSharedConfigPtr &config) const
{
    KConfigGroup settings = config->group(group);
    settings.writeEntry("Enabled", enabled);
    settings.writeEntry("IntervalMinutes", intervalMinutes);
    settings.writeEntry("KeepLast", keepLast);
    settings.writeEntry("KeepHourly", keepHourly);
    settings.writeEntry("KeepDaily", keepDaily);
    config->sync();
}

QVariantMap AutosaveSettings::arguments(const QString &session) const
{
    return {{HelperProtocol::sessionKey, session},
            {HelperProtocol::intervalKey, intervalMinutes},
            {HelperProtocol::keepLastKey, keepLast},
            {HelperProtocol::keepHourlyKey, keepHourly},
            {HelperProtocol::keepDailyKey, keepDaily}};
}
