// SPDX-License-Identifier: GPL-2.0-or-later
#include "BuildTreeData.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

void useBuildTreeData()
{
    // The build puts programs in <build>/bin and data in <build>/share.
    const QString share = QDir::cleanPath(QCoreApplication::applicationDirPath() + QStringLiteral("/../share"));
    if (!QFileInfo::exists(share + QStringLiteral("/knotifications6/rewind.notifyrc"))) {
        return;
    }
    QString current = qEnvironmentVariable("XDG_DATA_DIRS");
    if (current.isEmpty()) {
        current = QStringLiteral("/usr/local/share:/usr/share"); // what an unset variable means
    }
    QStringList directories = current.split(QLatin1Char(':'), Qt::SkipEmptyParts);
    if (directories.contains(share)) {
        return; // installed where the system looks anyway
    }
    directories.prepend(share);
    qputenv("XDG_DATA_DIRS", QFile::encodeName(directories.join(QLatin1Char(':'))));
}
