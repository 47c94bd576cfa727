// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "HelperClient.h"
#include "Result.h"

#include <QAction>
#include <QJsonValue>
#include <QTest>
#include <QWidget>

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

/// For the window's tests: the window's action whose text, without its
/// accelerator marker, is text (as a user reads it in a menu), or nullptr.
inline QAction *windowAction(QWidget &window, const QString &text)
{
    const auto actions = window.findChildren<QAction *>();
    for (QAction *candidate : actions) {
        if (candidate->text().remove(QLatin1Char('&')) == text) {
            return candidate;
        }
    }
    return nullptr;
}
