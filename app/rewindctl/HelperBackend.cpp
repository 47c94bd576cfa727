// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperBackend.h"

#include "FileWriting.h"
#include "HelperProtocol.h"
#include "PrivateReply.h"
#include "UniqueFd.h"

#include <KAuth/Action>
#include <KAuth/ActionReply>
#include <KAuth/ExecuteJob>
#include <KLocalizedString>

#include <QDBusUnixFileDescriptor>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{

bool isRegularFile(int fd)
{
    struct stat status{};
    return ::fstat(fd, &status) == 0 && S_ISREG(status.st_mode);
}

/// An unnamed file of the user's, where a stream waits for its reader.
Result<UniqueFd> spoolFile()
{
    const QString directory = qEnvironmentVariable("TMPDIR", QStringLiteral("/var/tmp"));
    UniqueFd file(::open(QFile::encodeName(directory).constData(), O_RDWR | O_TMPFILE | O_CLOEXEC, 0600));
    if (!file) {
        return Error{i18n("Could not make a temporary file in %1 for the stream: %2", directory, QString::fromLocal8Bit(strerror(errno)))};
    }
    return file;
}

/// Copies all that from delivers into to. A spool file on either side is
/// read from its start, and left at its start for the next reader.
Result<void> copyAll(int from, int to)
{
    ::lseek(from, 0, SEEK_SET); // fails harmlessly on a pipe
    QByteArray buffer(1024 * 1024, Qt::Uninitialized);
    for (;;) {
        const ssize_t n = ::read(from, buffer.data(), std::size_t(buffer.size()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return Error{i18n("Reading the stream failed: %1", QString::fromLocal8Bit(strerror(errno)))};
        }
        if (n == 0) {
            break;
        }
        if (!writeAll(to, buffer.constData(), std::size_t(n))) {
            return Error{i18n("Writing the stream failed: %1", QString::fromLocal8Bit(strerror(errno)))};
        }
    }
    ::lseek(to, 0, SEEK_SET);
    return {};
}

} // namespace

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

Result<QJsonValue> HelperBackend::recover(const QString &session, const Progress &progress)
{
    return call(HelperProtocol::recover, QStringLiteral("recover"), {{HelperProtocol::sessionKey, session}}, progress);
}

Result<QJsonValue> HelperBackend::hibernate(const QString &session, const Progress &progress)
{
    return call(HelperProtocol::hibernate, QStringLiteral("hibernate"), {{HelperProtocol::sessionKey, session}}, progress);
}

Result<QJsonValue> HelperBackend::listSpecs()
{
    return call(HelperProtocol::listSpecs, {}, {}, {});
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
    // The helper does one thing at a time and must never wait on whoever
    // reads the stream (that may be an import through the same helper, as in
    // "rewindctl export 7 | rewindctl import"): into a file first, then on.
    auto spool = isRegularFile(fd) ? Result<UniqueFd>(UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0))) : spoolFile();
    if (!spool) {
        return spool.error();
    }
    auto exported = call(HelperProtocol::exportSnapshot,
                         {},
                         {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(spool->get()))}});
    if (!exported || isRegularFile(fd)) {
        return exported;
    }
    if (auto copied = copyAll(spool->get(), fd); !copied) {
        return copied.error();
    }
    return exported;
}

Result<QJsonValue> HelperBackend::importSnapshot(int fd)
{
    // Likewise the helper never waits on whoever writes the stream.
    auto spool = isRegularFile(fd) ? Result<UniqueFd>(UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0))) : spoolFile();
    if (!spool) {
        return spool.error();
    }
    if (!isRegularFile(fd)) {
        if (auto copied = copyAll(fd, spool->get()); !copied) {
            return copied.error();
        }
    }
    return call(HelperProtocol::importSnapshot, {}, {{HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(spool->get()))}});
}
