// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperBackend.h"

#include "HelperProtocol.h"
#include "PrivateReply.h"

#include <KAuth/Action>
#include <KAuth/ActionReply>
#include <KAuth/ExecuteJob>
#include <KLocalizedString>

#include <QDBusUnixFileDescriptor>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Rewind;

HelperBackend::HelperBackend(bool administer)
    : m_administer(administer)
{
}

Result<QJsonValue> HelperBackend::call(const QString &action, const QString &operation, QVariantMap arguments, const Progress &progress)
{
    QString name = action;
    if (m_administer && !operation.isEmpty()) {
        name = HelperProtocol::administer;
        arguments.insert(HelperProtocol::operationKey, operation);
    }
    // Messages in the helper's reply come in the user's language.
    if (const QString language = HelperProtocol::clientLanguage(); !language.isEmpty()) {
        arguments.insert(HelperProtocol::languageKey, language);
    }
    KAuth::Action request(HelperProtocol::actionName(name));
    request.setHelperId(HelperProtocol::helperId);
    request.setArguments(arguments);
    request.setTimeout(HelperProtocol::actionTimeoutMs);
    KAuth::ExecuteJob *job = request.execute();
    int percent = 0;
    QObject::connect(job, &KJob::percentChanged, job, [&percent](KJob *, unsigned long value) {
        percent = int(value);
    });
    QObject::connect(job, &KAuth::ExecuteJob::newData, job, [&](const QVariantMap &data) {
        if (progress && data.contains(HelperProtocol::stageKey)) {
            progress(percent, data.value(HelperProtocol::stageKey).toString());
        }
    });
    if (!job->exec()) {
        switch (job->error()) {
        case KAuth::ActionReply::AuthorizationDeniedError:
            return Error{i18n("You are not allowed to do this (polkit refused %1). Run it in your active local session, or as root.", request.name())};
        case KAuth::ActionReply::UserCancelledError:
            return Error{i18n("Authentication was cancelled; nothing was done.")};
        default:
            break;
        }
        const QString text = PrivateReply::message(job->errorText());
        return Error{text.isEmpty() ? i18n("The Rewind helper failed (error %1).", job->error()) : text};
    }
    auto json = PrivateReply::answer(job->data());
    if (!json) {
        return json.error();
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return Error{i18n("The Rewind helper gave an answer that is not JSON: %1", parseError.errorString())};
    }
    return document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
}

Result<QJsonValue> HelperBackend::needsRoot(const QString &command) const
{
    return Error{i18n("'rewindctl %1' needs root for now: run it with sudo.", command)};
}

Result<QJsonValue> HelperBackend::startSession(const QString &spec)
{
    return call(HelperProtocol::startSession, {}, {{HelperProtocol::specKey, spec}});
}

Result<QJsonValue> HelperBackend::stopSession(const QString &session)
{
    return call(HelperProtocol::stopSession, QStringLiteral("stop"), {{HelperProtocol::sessionKey, session}});
}

Result<QJsonValue> HelperBackend::listSessions()
{
    return call(HelperProtocol::listSessions, QStringLiteral("listsessions"), {});
}

Result<QJsonValue> HelperBackend::scan(const QString &session)
{
    return call(HelperProtocol::scan, QStringLiteral("scan"), {{HelperProtocol::sessionKey, session}});
}

Result<QJsonValue> HelperBackend::processes(const QString &)
{
    return needsRoot(QStringLiteral("session ps"));
}

Result<QJsonValue> HelperBackend::screenshot(const QString &, const QString &)
{
    return needsRoot(QStringLiteral("session screenshot"));
}

Result<QJsonValue> HelperBackend::liveView(const QString &session)
{
    return call(HelperProtocol::liveView, {}, {{HelperProtocol::sessionKey, session}}, {});
}

Result<QJsonValue> HelperBackend::recover(const QString &, const Progress &)
{
    return needsRoot(QStringLiteral("session recover"));
}

Result<QJsonValue> HelperBackend::snapshot(const QString &session, const QString &label, const Progress &progress)
{
    QVariantMap arguments{{HelperProtocol::sessionKey, session}};
    if (!label.isEmpty()) {
        arguments.insert(HelperProtocol::labelKey, label);
    }
    return call(HelperProtocol::snapshot, QStringLiteral("snapshot"), arguments, progress);
}

Result<QJsonValue> HelperBackend::listSnapshots(const QString &session)
{
    QVariantMap arguments;
    if (!session.isEmpty()) {
        arguments.insert(HelperProtocol::sessionKey, session);
    }
    return call(HelperProtocol::listSnapshots, QStringLiteral("listsnapshots"), arguments);
}

Result<QJsonValue> HelperBackend::restore(qint64 snapshot, bool asNew, const Progress &progress)
{
    return call(
        HelperProtocol::restore,
        QStringLiteral("restore"),
        {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::modeKey, asNew ? HelperProtocol::asNewMode : HelperProtocol::inPlaceMode}},
        progress);
}

Result<QJsonValue> HelperBackend::remove(qint64 snapshot)
{
    return call(HelperProtocol::remove, QStringLiteral("delete"), {{HelperProtocol::snapshotKey, qlonglong(snapshot)}});
}

Result<QJsonValue> HelperBackend::setLabel(qint64 snapshot, const QString &label)
{
    return call(HelperProtocol::setLabel, QStringLiteral("setlabel"), {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::labelKey, label}});
}

Result<QJsonValue> HelperBackend::setPinned(qint64 snapshot, bool pinned)
{
    return call(HelperProtocol::setPinned,
                QStringLiteral("setpinned"),
                {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::pinnedKey, pinned}});
}

Result<QJsonValue> HelperBackend::autosave(const QString &session, const Progress &progress)
{
    return call(HelperProtocol::autosave, {}, {{HelperProtocol::sessionKey, session}}, progress);
}

Result<QJsonValue> HelperBackend::verify()
{
    return call(HelperProtocol::verify, {}, {});
}

Result<QJsonValue> HelperBackend::collectGarbage()
{
    return call(HelperProtocol::collectGarbage, {}, {});
}

Result<QJsonValue> HelperBackend::exportSnapshot(qint64 snapshot, int fd)
{
    // The helper writes straight into this file descriptor: a file, or a pipe to ssh.
    return call(HelperProtocol::exportSnapshot,
                {},
                {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(fd))}});
}

Result<QJsonValue> HelperBackend::importSnapshot(int fd)
{
    return call(HelperProtocol::importSnapshot, {}, {{HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(fd))}});
}
