// SPDX-License-Identifier: GPL-2.0-or-later
#include "RewindHelper.h"

#include "CriuCheckpointer.h"

#include <KLocalizedString>

using namespace Rewind;

KAuth::ActionReply RewindHelper::status(const QVariantMap &arguments)
{
    if (!arguments.isEmpty()) {
        return KAuth::ActionReply::HelperErrorReply();
    }
    const auto criu = CriuCheckpointer::version();
    if (!criu) {
        auto reply = KAuth::ActionReply::HelperErrorReply();
        reply.setErrorDescription(criu.errorMessage());
        return reply;
    }
    KAuth::ActionReply reply;
    reply.addData(QStringLiteral("criuVersion"), *criu);
    return reply;
}

KAUTH_HELPER_MAIN("org.rewind.helper", RewindHelper)
