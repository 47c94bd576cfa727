// SPDX-License-Identifier: GPL-2.0-or-later
#include "IconTheme.h"

#include <QIcon>
#include <QStandardPaths>

void IconTheme::useBreezeWhereNoneIsSet()
{
    const QString breeze = QStringLiteral("breeze");
    const QString current = QIcon::themeName();
    if (current.isEmpty() || current == QLatin1String("hicolor")) {
        QIcon::setThemeName(breeze);
    }
    QIcon::setFallbackThemeName(breeze);
    // Platforms without a desktop's theme (offscreen) search Qt's resources
    // only: add the icon directories of $XDG_DATA_DIRS, where themes live.
    QStringList searchPaths = QIcon::themeSearchPaths();
    const QStringList dataIcons = QStandardPaths::locateAll(QStandardPaths::GenericDataLocation, QStringLiteral("icons"), QStandardPaths::LocateDirectory);
    for (const QString &directory : dataIcons) {
        if (!searchPaths.contains(directory)) {
            searchPaths.append(directory);
        }
    }
    QIcon::setThemeSearchPaths(searchPaths);
}
