// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "HelperArguments.h"

#include <KAuth/ActionReply>
#include <KAuth/HelperSupport>

#include <QObject>

#include <functional>
#include <memory>

namespace Rewind
{
class SessionManager;
class SnapshotStore;
class SnapshotEngine;
}

/// The privileged side of Rewind, reached over the D-Bus system bus through
/// KAuth; polkit decides who may call which action (org.rewind.helper.actions).
///
/// Every action takes ids and enumerated values only (HelperArguments). A
/// session belongs to the user who started it; the plain actions see and act
/// on the caller's own sessions and their snapshots only, `administer` acts
/// on anyone's. Answers are JSON in the shapes of `rewindctl --json`, and
/// they and failures' messages are handed to the caller in a file only the
/// caller can read: the reply on the bus, which every client receives, only
/// names it (HelperProtocol::replyKey).
class RewindHelper : public QObject
{
    Q_OBJECT

public:
    /// Thaws cells a killed helper left frozen and removes its staging leftovers.
    RewindHelper();
    ~RewindHelper() override;

public Q_SLOTS:
    /// Which CRIU the helper would use; needs no arguments.
    KAuth::ActionReply status(const QVariantMap &arguments);

    KAuth::ActionReply listsessions(const QVariantMap &arguments);
    KAuth::ActionReply listsnapshots(const QVariantMap &arguments);
    KAuth::ActionReply startsession(const QVariantMap &arguments);
    KAuth::ActionReply stopsession(const QVariantMap &arguments);
    KAuth::ActionReply scan(const QVariantMap &arguments);
    KAuth::ActionReply snapshot(const QVariantMap &arguments);
    KAuth::ActionReply restore(const QVariantMap &arguments);
    KAuth::ActionReply deletesnapshot(const QVariantMap &arguments);
    KAuth::ActionReply setlabel(const QVariantMap &arguments);
    KAuth::ActionReply setpinned(const QVariantMap &arguments);
    KAuth::ActionReply storage(const QVariantMap &arguments);
    KAuth::ActionReply thumbnail(const QVariantMap &arguments);
    KAuth::ActionReply liveview(const QVariantMap &arguments);
    KAuth::ActionReply autosave(const QVariantMap &arguments);
    KAuth::ActionReply verify(const QVariantMap &arguments);
    KAuth::ActionReply gc(const QVariantMap &arguments);
    KAuth::ActionReply exportsnapshot(const QVariantMap &arguments);
    KAuth::ActionReply importsnapshot(const QVariantMap &arguments);
    KAuth::ActionReply listspecs(const QVariantMap &arguments);
    KAuth::ActionReply recover(const QVariantMap &arguments);
    KAuth::ActionReply hibernate(const QVariantMap &arguments);
    /// Any of the session and snapshot actions ("operation") on anyone's sessions.
    KAuth::ActionReply administer(const QVariantMap &arguments);

private:
    struct Caller {
        uid_t uid = 0;
        bool administrator = false;
    };
    /// Takes the caller's language out of arguments and runs handle in it.
    static KAuth::ActionReply inCallersLanguage(const QVariantMap &arguments, const std::function<KAuth::ActionReply(const QVariantMap &)> &handle);
    static KAuth::ActionReply reportStatus(const QVariantMap &arguments);
    KAuth::ActionReply administerOperation(const QVariantMap &arguments);
    KAuth::ActionReply run(const QString &action, const QVariantMap &arguments, bool administrator);
    KAuth::ActionReply dispatch(const QString &action, const QVariantMap &arguments, bool administrator);
    KAuth::ActionReply perform(const QString &action, const HelperArguments &arguments, const Caller &caller);
    Rewind::Result<void> openEngine();
    /// An Error unless the session exists and the caller may act on it.
    std::optional<KAuth::ActionReply> refuseSession(const QString &sessionId, const Caller &caller) const;
    std::optional<KAuth::ActionReply> refuseSnapshot(qint64 snapshotId, const Caller &caller) const;

    std::unique_ptr<Rewind::SessionManager> m_sessions;
    std::unique_ptr<Rewind::SnapshotStore> m_store;
    std::unique_ptr<Rewind::SnapshotEngine> m_engine;
};
