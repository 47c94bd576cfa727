// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <KAuth/ActionReply>
#include <KAuth/HelperSupport>

#include <QObject>

/// The privileged side of Rewind, reached over the D-Bus system bus through
/// KAuth. Every action takes ids and enumerated values only.
class RewindHelper : public QObject
{
    Q_OBJECT

public Q_SLOTS:
    /// Which CRIU the helper would use; needs no arguments.
    KAuth::ActionReply status(const QVariantMap &arguments);
};
