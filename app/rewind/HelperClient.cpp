// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperClient.h"

#include "HelperProtocol.h"
#include "PrivateReply.h"

#include <KAuth/Action>
#include <KAuth/ExecuteJob>
#include <KLocalizedString>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
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

QThread *kauthThread = nullptr;

/// The one thread of the process that uses KAuth: its backends are made on
/// first use, on the thread that uses them first, and stay there.
QThread *kauthThreadInstance()
{
    if (!kauthThread) {
        kauthThread = new QThread;
        kauthThread->setObjectName(QStringLiteral("KAuth"));
        kauthThread->start();
        // Ended with the application; never deleted, as KAuth's objects on it never are.
        qAddPostRoutine([] {
            kauthThread->quit();
            if (!kauthThread->wait(QDeadlineTimer(5000))) {
                qWarning("KAuth's thread is still in a call to the bus; leaving it");
            }
        });
    }
    return kauthThread;
}
} // namespace

/// Runs calls through KAuth on KAuth's thread, one at a time, and says how
/// they went with signals (received on the client's thread).
class KAuthCaller : public QObject
{
    Q_OBJECT

public:
    void execute(quint64 serial, const QString &action, const QVariantMap &arguments, bool withProgress)
    {
        KAuth::Action kauthAction(HelperProtocol::actionName(action));
        kauthAction.setHelperId(HelperProtocol::helperId);
        kauthAction.setArguments(arguments);
        kauthAction.setTimeout(HelperProtocol::actionTimeoutMs);
        KAuth::ExecuteJob *job = kauthAction.execute();
        if (withProgress) {
            connect(job, &KJob::percentChanged, this, [this, serial](KJob *, unsigned long percent) {
                Q_EMIT progressed(serial, int(percent), {});
            });
            connect(job, &KAuth::ExecuteJob::newData, this, [this, serial](const QVariantMap &data) {
                const QString stage = data.value(HelperProtocol::stageKey).toString();
                if (!stage.isEmpty()) {
                    Q_EMIT progressed(serial, -1, stage);
                }
            });
        }
        connect(job, &KJob::result, this, [this, serial, job] {
            // Neither reached the action: see HelperClient::answered.
            const bool unanswered = job->error() == KAuth::ActionReply::DBusError || job->error() == KAuth::ActionReply::AuthorizationDeniedError;
            Q_EMIT answered(serial, answerOf(job), unanswered);
        });
        job->start();
    }

Q_SIGNALS:
    void progressed(quint64 serial, int percent, const QString &stage);
    void answered(quint64 serial, const Rewind::Result<QJsonValue> &answer, bool unanswered);
};

HelperClient::HelperClient(QObject *parent)
    : QObject(parent)
    , m_caller(new KAuthCaller)
{
    m_caller->moveToThread(kauthThreadInstance());
    connect(m_caller, &KAuthCaller::progressed, this, &HelperClient::progressed);
    connect(m_caller, &KAuthCaller::answered, this, &HelperClient::answered);
}

HelperClient::~HelperClient()
{
    // On its thread, after what it was asked to do; a call under way ends without it.
    m_caller->deleteLater();
}

void HelperClient::call(const QString &action, const QVariantMap &arguments, const QObject *receiver, Done done, Progress progress)
{
    m_queue.enqueue(Call{action, arguments, receiver, std::move(done), std::move(progress)});
    Q_EMIT runningChanged(running());
    startNext();
}

void HelperClient::startNext()
{
    while (!m_current && !m_queue.isEmpty()) {
        Call next = m_queue.dequeue();
        if (!next.receiver) {
            continue; // asked for by a window that is gone
        }
        QVariantMap arguments = next.arguments;
        // Messages in the helper's reply come in the user's language.
        if (const QString language = HelperProtocol::clientLanguage(); !language.isEmpty()) {
            arguments.insert(HelperProtocol::languageKey, language);
        }
        const quint64 serial = ++m_serial;
        QMetaObject::invokeMethod(
            m_caller,
            [caller = m_caller, serial, action = next.action, arguments, withProgress = bool(next.progress)] {
                caller->execute(serial, action, arguments, withProgress);
            },
            Qt::QueuedConnection);
        m_current = std::move(next);
        Q_EMIT runningChanged(running());
    }
    if (!m_current) {
        Q_EMIT runningChanged(running());
    }
}

void HelperClient::progressed(quint64 serial, int percent, const QString &stage)
{
    if (serial != m_serial || !m_current || !m_current->receiver || !m_current->progress) {
        return;
    }
    // Copied: progress may start calls of its own.
    const Progress progress = m_current->progress;
    progress(percent, stage);
}

void HelperClient::answered(quint64 serial, const Result<QJsonValue> &answer, bool unanswered)
{
    if (serial != m_serial || !m_current) {
        return;
    }
    Call call = std::move(*m_current);
    m_current.reset();
    // The helper quits after some idle seconds. A call that reaches it as it
    // quits gets no answer, or a refusal: KAuth's helper asks polkit in an
    // event loop of its own, which returns at once, with no answer, in a
    // helper that is quitting. Neither ran the action; ask again once where
    // that does no harm (a real refusal only comes twice).
    if (unanswered && !call.retried && isRepeatable(call.action)) {
        call.retried = true;
        m_queue.prepend(std::move(call));
        QTimer::singleShot(std::chrono::milliseconds(500), this, &HelperClient::startNext);
        return;
    }
    Q_EMIT runningChanged(running());
    if (call.receiver) {
        call.done(answer);
    }
    QTimer::singleShot(0, this, &HelperClient::startNext);
}

#include "HelperClient.moc"
