// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "HelperClient.h"
#include "Result.h"

#include <QJsonValue>
#include <QTest>

#include <optional>

/// For the window's tests: calls the helper through the GUI's own client,
/// as the window does, and waits (events running) for its answer.
inline Rewind::Result<QJsonValue> callHelperAndWait(HelperClient &client, const QObject *receiver, const QString &action, const QVariantMap &arguments)
{
    std::optional<Rewind::Result<QJsonValue>> answer;
    client.call(action, arguments, receiver, [&](const Rewind::Result<QJsonValue> &result) {
        answer = result;
    });
    if (!QTest::qWaitFor(
            [&] {
                return answer.has_value();
            },
            120000)) {
        return Rewind::Error{QStringLiteral("no answer from the helper")};
    }
    return *answer;
}
