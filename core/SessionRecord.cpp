// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionRecord.h"

#include "AtomicFile.h"
#include "ProcessStat.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>

namespace Rewind
{

bool SessionRecord::isValidId(QStringView id)
{
    static const QRegularExpression pattern(QStringLiteral("\\A[a-z0-9][a-z0-9-]{0,62}\\z"));
    return pattern.matchView(id).hasMatch();
}

QString SessionRecord::newId(const QString &specName)
{
    // 96 bits: an id nobody guesses, and two sessions never share.
    QString suffix;
    for (int word = 0; word < 3; ++word) {
        suffix += QStringLiteral("%1").arg(QRandomGenerator::system()->generate(), 8, 16, QLatin1Char('0'));
    }
    QString base;
    for (const QChar c : specName.toLower().left(30)) {
        base.append((c.isLetterOrNumber() && c.unicode() < 128) ? c : QLatin1Char('-'));
    }
    if (base.isEmpty() || base.startsWith(QLatin1Char('-'))) {
        base.prepend(QLatin1String("session"));
    }
    return base + QLatin1Char('-') + suffix;
}

QJsonObject SessionRecord::toJson() const
{
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("spec"), specName},
        {QStringLiteral("owner"), qint64(ownerUid)},
        {QStringLiteral("initPid"), qint64(initPid)},
        {QStringLiteral("initStartTime"), QString::number(initStartTime)},
        {QStringLiteral("bootId"), bootId},
        {QStringLiteral("hibernated"), hibernated},
        {QStringLiteral("createdAt"), createdAt.toString(Qt::ISODateWithMs)},
        {QStringLiteral("plan"), plan},
    };
}

Result<SessionRecord> SessionRecord::fromJson(const QJsonObject &json)
{
    SessionRecord record;
    record.id = json.value(QStringLiteral("id")).toString();
    if (!isValidId(record.id)) {
        return Error{i18n("A session record has an invalid id.")};
    }
    record.specName = json.value(QStringLiteral("spec")).toString();
    record.ownerUid = uid_t(json.value(QStringLiteral("owner")).toInteger());
    record.initPid = pid_t(json.value(QStringLiteral("initPid")).toInteger(-1));
    record.initStartTime = json.value(QStringLiteral("initStartTime")).toString().toULongLong();
    record.bootId = json.value(QStringLiteral("bootId")).toString();
    record.hibernated = json.value(QStringLiteral("hibernated")).toBool(false);
    record.createdAt = QDateTime::fromString(json.value(QStringLiteral("createdAt")).toString(), Qt::ISODateWithMs);
    record.plan = json.value(QStringLiteral("plan")).toObject();
    return record;
}

Result<SessionRecord> SessionRecord::load(const QString &sessionsDirectory, const QString &id)
{
    if (!isValidId(id)) {
        return Error{i18n("'%1' is not a session id. Session ids look like demo-4f2a1c9e07d1b35c8a6e2f40; 'rewindctl session list' shows them.", id.left(64))};
    }
    QFile file(sessionsDirectory + QLatin1Char('/') + id + QStringLiteral(".json"));
    if (!file.open(QIODevice::ReadOnly)) {
        return Error{i18n("There is no session %1. 'rewindctl session list' shows the sessions.", id)};
    }
    QJsonParseError parseError;
    const auto document = QJsonDocument::fromJson(file.read(1024 * 1024), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        return Error{i18n("The record of session %1 is damaged (%2).", id, parseError.errorString())};
    }
    return fromJson(document.object());
}

Result<void> SessionRecord::save(const QString &sessionsDirectory) const
{
    if (auto made = makePrivateDirectory(sessionsDirectory); !made) {
        return made.error();
    }
    if (auto written = writeFileAtomically(sessionsDirectory, id + QStringLiteral(".json"), QJsonDocument(toJson()).toJson()); !written) {
        return Error{i18n("Cannot save the record of session %1: %2", id, written.errorMessage())};
    }
    return {};
}

Result<void> SessionRecord::create(const QString &sessionsDirectory) const
{
    if (auto made = makePrivateDirectory(sessionsDirectory); !made) {
        return made.error();
    }
    const auto written = writeFileAtomically(sessionsDirectory, id + QStringLiteral(".json"), QJsonDocument(toJson()).toJson(), ExistingFile::Refuse);
    if (!written) {
        return Error{i18n("Cannot save the record of session %1: %2", id, written.errorMessage())};
    }
    return {};
}

QString SessionRecord::currentBootId()
{
    static const QString boot = [] {
        QFile file(QStringLiteral("/proc/sys/kernel/random/boot_id"));
        return file.open(QIODevice::ReadOnly) ? QString::fromLatin1(file.read(64).trimmed()) : QString();
    }();
    return boot;
}

Result<void> SessionRecord::remove(const QString &sessionsDirectory, const QString &id)
{
    if (!isValidId(id)) {
        return Error{i18n("'%1' is not a session id.", id.left(64))};
    }
    QFile::remove(sessionsDirectory + QLatin1Char('/') + id + QStringLiteral(".json"));
    return {};
}

QStringList SessionRecord::ids(const QString &sessionsDirectory)
{
    QStringList result;
    const auto names = QDir(sessionsDirectory).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    for (const QString &name : names) {
        const QString id = name.chopped(5);
        if (isValidId(id)) {
            result.append(id);
        }
    }
    return result;
}

qulonglong processStartTime(pid_t pid)
{
    const auto stat = ProcessStat::read(pid);
    return stat && !stat->hasEnded() ? stat->startTime : 0;
}

} // namespace Rewind
