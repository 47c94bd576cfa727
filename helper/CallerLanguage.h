// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QString>
#include <QVariantMap>

/// Translates the helper's messages for one call into the caller's language.
/// The system bus starts the helper without a locale of its own, so every
/// client sends its language (HelperProtocol::languageKey) with each call.
/// Gettext translates only under a locale other than C: the language's own
/// locale is used for messages if it is installed, else messages stay English.
class CallerLanguage
{
public:
    /// Takes the language out of arguments: empty if there is none, an
    /// error if it is not a language name such as "de" or "pt_BR".
    static Rewind::Result<QString> take(QVariantMap &arguments);

    /// Switches to language until destroyed; an empty name changes nothing.
    explicit CallerLanguage(const QString &language);
    ~CallerLanguage();
    CallerLanguage(const CallerLanguage &) = delete;
    CallerLanguage &operator=(const CallerLanguage &) = delete;

private:
    bool m_applied = false;
    QByteArray m_previousLocale;
};
