// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperClient.h"

#include "HelperProtocol.h"
#include "PrivateReply.h"

#include <KAuth/Action>
#include <KAuth/ExecuteJob>
#include <KLocalizedString>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

using namespace Rewind;

namespace
{
Result<QJsonValue> answerOf(KAuth::ExecuteJob *job)
{
    switch (job->error()) {
    case KJob::NoError:
        break;
    case KAuth::ActionReply::AuthorizationDeniedError:
        return Error{
            i18n("You are not allowed to do this: polkit refused it, and nothing was done. Sign in to your session at this computer, or ask "
                 "your administrator.")};
    case KAuth::ActionReply::UserCancelledError:
        return Error{i18n("Authentication was cancelled; nothing was done.")};
    default: {
        Error failure = job->errorText().isEmpty() ? Error{job->errorString()} : PrivateReply::failure(job->errorText());
        if (failure.message.isEmpty()) {
            failure.message = i18n("The Rewind service did not answer. Is rewind-helper installed?");
        }
        return failure;
    }
    }
    auto json = PrivateReply::answer(job->data());
    if (!json) {
        return json.error();
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return Error{i18n("The Rewind service sent an answer that cannot be read.")};
    }
    return document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
}

/// Actions that change nothing, or decide for themselves whether to (autosave).
bool isRepeatable(const QString &action)
{
    return action == HelperProtocol::listSessions || action == HelperProtocol::listSnapshots || action == HelperProtocol::thumbnail
        || action == HelperProtocol::autosave || action == HelperProtocol::status;
}
}

HelperClient::HelperClient(QObject *parent)
    : QObject(parent)
{
}

void HelperClient::call(const QString &action, const QVariantMap &arguments, const QObject *receiver, Done done, Progress progress)
{
    m_queue.enqueue(Call{action, arguments, receiver, std::move(done), std::move(progress)});
    Q_EMIT runningChanged(running());
    startNext();
}

void HelperClient::startNext()
{
    while (!m_busy && !m_queue.isEmpty()) {
        Call next = m_queue.dequeue();
        if (!next.receiver) {
            continue; // asked for by a window that is gone
        }
        KAuth::Action kauthAction(HelperProtocol::actionName(next.action));
        kauthAction.setHelperId(HelperProtocol::helperId);
        QVariantMap arguments = next.arguments;
        // Messages in the helper's reply come in the user's language.
        if (const QString language = HelperProtocol::clientLanguage(); !language.isEmpty()) {
            arguments.insert(HelperProtocol::languageKey, language);
        }
        kauthAction.setArguments(arguments);
        kauthAction.setTimeout(HelperProtocol::actionTimeoutMs);
        KAuth::ExecuteJob *job = kauthAction.execute();

        if (next.progress) {
            connect(job, &KJob::percentChanged, next.receiver.data(), [progress = next.progress](KJob *, unsigned long percent) {
                progress(int(percent), {});
            });
            connect(job, &KAuth::ExecuteJob::newData, next.receiver.data(), [progress = next.progress](const QVariantMap &data) {
                const QString stage = data.value(HelperProtocol::stageKey).toString();
                if (!stage.isEmpty()) {
                    progress(-1, stage);
                }
            });
        }
        connect(job, &KJob::result, this, [this, job, call = std::move(next)]() mutable {
            m_busy = false;
            // The helper quits after some idle seconds; a call that reaches it
            // as it quits gets no answer. Ask again once where that does no harm.
            if (job->error() == KAuth::ActionReply::DBusError && !call.retried && isRepeatable(call.action)) {
                call.retried = true;
                m_queue.prepend(std::move(call));
                QTimer::singleShot(std::chrono::milliseconds(500), this, &HelperClient::startNext);
                return;
            }
            Q_EMIT runningChanged(running());
            if (call.receiver) {
                call.done(answerOf(job));
            }
            QTimer::singleShot(0, this, &HelperClient::startNext);
        });
        m_busy = true;
        Q_EMIT runningChanged(running());
        job->start();
    }
    if (!m_busy) {
        Q_EMIT runningChanged(running());
    }
}
