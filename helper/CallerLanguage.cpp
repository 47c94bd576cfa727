// SPDX-License-Identifier: GPL-2.0-or-later
#include "CallerLanguage.h"

#include "HelperProtocol.h"

#include <KLocalizedString>

#include <clocale>

using namespace Rewind;

Result<QString> CallerLanguage::take(QVariantMap &arguments)
{
    if (!arguments.contains(HelperProtocol::languageKey)) {
        return QString();
    }
    const QVariant value = arguments.take(HelperProtocol::languageKey);
    if (value.metaType().id() != QMetaType::QString || !HelperProtocol::isLanguageName(value.toString())) {
        return Error{i18n("'language' must be a language name such as de or pt_BR.")};
    }
    return value.toString();
}

CallerLanguage::CallerLanguage(const QString &language)
{
    if (language.isEmpty()) {
        return;
    }
    const QString base = language.section(QLatin1Char('_'), 0, 0);
    KLocalizedString::setLanguages(language == base ? QStringList{language} : QStringList{language, base});
    m_previousLocale = std::setlocale(LC_MESSAGES, nullptr);
    const QString country = language.contains(QLatin1Char('_')) ? language : base + QLatin1Char('_') + base.toUpper();
    for (const QString &candidate : {country + QStringLiteral(".UTF-8"), country}) {
        if (std::setlocale(LC_MESSAGES, candidate.toLatin1().constData())) {
            break;
        }
    }
    m_applied = true;
}

CallerLanguage::~CallerLanguage()
{
    if (m_applied) {
        KLocalizedString::clearLanguages();
        std::setlocale(LC_MESSAGES, m_previousLocale.constData());
    }
}
