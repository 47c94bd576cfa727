// SPDX-License-Identifier: GPL-2.0-or-later
#include "FailureLog.h"

#include <KLocalizedString>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>

using namespace Rewind;

QString FailureLog::path()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericStateLocation) + QStringLiteral("/rewind/rewind.log");
}

namespace
{
/// The text's lines that are not empty: an empty line ends an entry.
QString withoutEmptyLines(const QString &text)
{
    QStringList lines = text.split(QLatin1Char('\n'));
    lines.removeIf([](const QString &line) {
        return line.trimmed().isEmpty();
    });
    return lines.join(QLatin1Char('\n'));
}

/// Keeps the newer half of a log that grew past the maximum, from an entry's start.
void trim(const QString &fileName)
{
    QFile log(fileName);
    if (log.size() <= FailureLog::maximumSize || !log.open(QIODevice::ReadOnly)) {
        return;
    }
    log.seek(log.size() - FailureLog::maximumSize / 2);
    QByteArray newer = log.readAll();
    log.close();
    const qsizetype entry = newer.indexOf("\n\n");
    newer = entry < 0 ? QByteArray() : newer.mid(entry + 2);
    QSaveFile trimmed(fileName);
    if (trimmed.open(QIODevice::WriteOnly)) {
        trimmed.write(newer);
        trimmed.commit();
    }
}
} // namespace

Result<void> FailureLog::append(const QString &operation, const Error &error)
{
    const QString fileName = path();
    if (!QDir().mkpath(QFileInfo(fileName).path())) {
        return Error{i18n("Could not create the folder of %1.", fileName)};
    }
    QFile log(fileName);
    // Created private: CRIU's lines name the user's files and processes.
    if (!log.open(QIODevice::WriteOnly | QIODevice::Append, QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        return Error{i18n("Could not write %1: %2", fileName, log.errorString())};
    }
    log.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner); // one made by an older Rewind
    QString entry = QDateTime::currentDateTime().toString(Qt::ISODate) + QLatin1Char(' ') + operation + QStringLiteral(": ") + withoutEmptyLines(error.message)
        + QLatin1Char('\n');
    if (const QString details = withoutEmptyLines(error.details); !details.isEmpty()) {
        entry += details + QLatin1Char('\n');
    }
    entry += QLatin1Char('\n'); // an empty line ends an entry
    if (log.write(entry.toUtf8()) < 0) {
        return Error{i18n("Could not write %1: %2", fileName, log.errorString())};
    }
    log.close();
    trim(fileName);
    return {};
}
