// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotInfo.h"

namespace Rewind
{

QString triggerName(SnapshotTrigger trigger)
{
    switch (trigger) {
    case SnapshotTrigger::Manual:
        return QStringLiteral("manual");
    case SnapshotTrigger::Scheduled:
        return QStringLiteral("scheduled");
    case SnapshotTrigger::BeforeRestore:
        return QStringLiteral("before-restore");
    case SnapshotTrigger::Imported:
        return QStringLiteral("imported");
    case SnapshotTrigger::Hibernate:
        return QStringLiteral("hibernate");
    }
    return QStringLiteral("manual");
}

std::optional<SnapshotTrigger> triggerFromName(QStringView name)
{
    for (const SnapshotTrigger trigger :
         {SnapshotTrigger::Manual, SnapshotTrigger::Scheduled, SnapshotTrigger::BeforeRestore, SnapshotTrigger::Imported, SnapshotTrigger::Hibernate}) {
        if (name == triggerName(trigger)) {
            return trigger;
        }
    }
    return std::nullopt;
}

} // namespace Rewind
