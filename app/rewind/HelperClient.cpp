// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperClient.h"

#include "HelperProtocol.h"

#include <KAuth/Action>
#include <KAuth/ExecuteJob>
#include <KLocalizedString>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Rewind;

HelperClient::HelperClient(QObject *parent)
    : QObject(parent)
{
}

void HelperClient::call(const QString &action, const QVariantMap &arguments, const QObject *receiver, Done done, Progress progress)
{
    KAuth::Action kauthAction(HelperProtocol::actionName(action));
    kauthAction.setHelperId(HelperProtocol::helperId);
    kauthAction.setArguments(arguments);
    kauthAction.setTimeout(HelperProtocol::actionTimeoutMs);
    KAuth::ExecuteJob *job = kauthAction.execute();

    if (progress) {
        connect(job, &KJob::percentChanged, receiver, [progress](KJob *, unsigned long percent) {
            progress(int(percent), {});
        });
        connect(job, &KAuth::ExecuteJob::newData, receiver, [progress](const QVariantMap &data) {
            const QString stage = data.value(HelperProtocol::stageKey).toString();
            if (!stage.isEmpty()) {
                progress(-1, stage);
            }
        });
    }
    connect(job, &KJob::result, this, [this] {
        --m_running;
        Q_EMIT runningChanged(m_running);
    });
    connect(job, &KJob::result, receiver, [job, done = std::move(done)] {
        if (job->error() != KJob::NoError) {
            const QString text = job->errorText().isEmpty() ? job->errorString() : job->errorText();
            done(Error{text.isEmpty() ? i18n("The Rewind service did not answer. Is rewind-helper installed?") : text});
            return;
        }
        const QByteArray json = job->data().value(HelperProtocol::jsonKey).toString().toUtf8();
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
        if (parseError.error != QJsonParseError::NoError) {
            done(Error{i18n("The Rewind service sent an answer that cannot be read.")});
            return;
        }
        done(document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object()));
    });
    ++m_running;
    Q_EMIT runningChanged(m_running);
    job->start();
}
