// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <sys/types.h>

namespace Rewind
{

/// What Rewind remembers of a session, kept on disk so that a crash or a
/// reboot does not lose it: sessions/<id>.json under the state directory.
struct SessionRecord {
    QString id;
    QString specName;
    uid_t ownerUid = 0;
    pid_t initPid = -1; ///< the cell's init in Rewind's pid namespace; -1 when stopped
    qulonglong initStartTime = 0; ///< from /proc/PID/stat, tells a reused pid apart
    bool hibernated = false; ///< stopped by a hibernation, to be woken from its latest snapshot
    QString bootId; ///< the boot the init was started or restored in: start times count from it
    QDateTime createdAt;
    QJsonObject plan; ///< what rewind-session was told to start

    /// Session ids: lower-case letters, digits and dashes, 1 to 63 characters.
    static bool isValidId(QStringView id);
    /// The spec's name (at most 30 characters of it) and 96 random bits.
    static QString newId(const QString &specName);
    /// This boot's id (/proc/sys/kernel/random/boot_id).
    static QString currentBootId();

    QJsonObject toJson() const;
    static Result<SessionRecord> fromJson(const QJsonObject &json);

    static Result<SessionRecord> load(const QString &sessionsDirectory, const QString &id);
    /// Written to a temporary file, fsync'ed and renamed: never half a record.
    Result<void> save(const QString &sessionsDirectory) const;
    /// The same for a new session: a record with its id must not exist yet.
    Result<void> create(const QString &sessionsDirectory) const;
    static Result<void> remove(const QString &sessionsDirectory, const QString &id);
    static QStringList ids(const QString &sessionsDirectory);
};

/// The start time of a process (field 22 of /proc/PID/stat); 0 if it is gone or a zombie.
qulonglong processStartTime(pid_t pid);

} // namespace Rewind
