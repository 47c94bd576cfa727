// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QVariantMap>

#include <memory>
#include <sys/types.h>

/// The users of the development root (tools/devenv creates them).
struct TestUser {
    uid_t uid;
    QString name;
    static TestUser owner() ///< rewind-user
    {
        return {1500, QStringLiteral("rewind-user")};
    }
    static TestUser other() ///< rewind-other
    {
        return {1501, QStringLiteral("rewind-other")};
    }
    static TestUser root()
    {
        return {0, QStringLiteral("root")};
    }
};

/// Where with-system-bus put things; empty outside of it.
namespace HelperTestEnvironment
{
QString cgroupRoot(); ///< the test's cgroup; pid 1 of the namespace is in its init.scope
QString cellCgroupParent(); ///< REWIND_CGROUP_PARENT of the helper
/// The cgroup v2 directory of a session's cell, in the parent of its owner's; empty if there is none.
QString cellCgroup(const QString &session);
QString stateDirectory(); ///< REWIND_STATE_DIR of the helper
QString policyFile(); ///< the generated org.rewind.helper.policy
QString clientProgram(); ///< rewind-helper-client
QString workDirectory();
/// Empty if the test runs under with-system-bus, else why not.
QString whyUnavailable();
} // namespace HelperTestEnvironment

/// A logind session, emulated the way libsystemd (and so polkitd) reads it:
/// a cgroup <root>/user.slice/user-UID.slice/session-ID.scope and the files
/// /run/systemd/sessions/ID and /run/systemd/users/UID. Local (it has a seat)
/// and active or not. Removed again when it goes out of scope.
class EmulatedLogin
{
public:
    EmulatedLogin(const TestUser &user, const QString &id, bool active);
    ~EmulatedLogin();
    EmulatedLogin(const EmulatedLogin &) = delete;
    EmulatedLogin &operator=(const EmulatedLogin &) = delete;

    void setActive(bool active);
    QString scope() const
    {
        return m_scope;
    }
    bool valid() const
    {
        return !m_scope.isEmpty();
    }

private:
    void write();
    TestUser m_user;
    QString m_id;
    bool m_active;
    QString m_scope;
};

struct HelperRequest {
    QString action; ///< short name: "snapshot", "listsessions", ...
    QVariantMap arguments;
    int timeoutMs = 120000;
    bool withStatus = false; ///< also ask KAuth::Action::status() (polkit, without interaction)
    QString cancelAtStage; ///< send stopAction when the helper reports this stage

    static HelperRequest of(const QString &action, const QVariantMap &arguments = {})
    {
        HelperRequest request;
        request.action = action;
        request.arguments = arguments;
        return request;
    }
};

struct HelperReply {
    int status = -1; ///< KAuth::Action::AuthStatus when asked
    int error = -1;
    QString errorText;
    QVariantMap data;
    QList<qint32> percents;
    QStringList stages;

    bool ok() const
    {
        return error == 0;
    }
    QJsonValue json() const;
};

/// rewind-helper-client running as USER, inside LOGIN's session scope if
/// given (else in the test's own cgroup). Killed by pid and reaped when it
/// goes out of scope.
class HelperClient
{
public:
    HelperClient(const TestUser &user, const EmulatedLogin *login);
    ~HelperClient();
    HelperClient(const HelperClient &) = delete;
    HelperClient &operator=(const HelperClient &) = delete;

    bool isRunning() const;
    QString startError() const
    {
        return m_startError;
    }
    pid_t pid() const;

    /// Sends the request and waits for its reply (or the client's end).
    HelperReply call(const HelperRequest &request);
    /// Sends the request without waiting; take the reply with receive().
    bool send(const HelperRequest &request);
    HelperReply receive(int timeoutMs);
    /// kill -9 of the client and reap it.
    void kill();

private:
    std::unique_ptr<QProcess> m_process;
    QString m_startError;
};

/// Waits until the rewind-test-counter of the session whose init is
/// INITPID counts (the spec "counting" of with-system-bus runs one): the
/// session has settled and runs. False after the timeout.
bool waitUntilCounting(pid_t initPid, int timeoutMs = 30000);

/// Starts a session of the spec "counting" through client and waits until it
/// counts. Its id is appended to started as soon as it exists (for the
/// test's clean-up); returned only once it counts, else empty. initPid, if
/// given, gets the pid of its cell's init.
QString startCountingSession(HelperClient &client, QStringList &started, pid_t *initPid = nullptr);

/// Makes process start as user, inside login's session scope when given
/// (what polkit looks at to tell an active local session).
void runAs(QProcess &process, const TestUser &user, const EmulatedLogin *login);

/// A snapshot of SESSION taken through the helper by CLIENT, with CRIU; 0 on failure.
qint64 snapshotOf(HelperClient &client, const QString &session);

/// Shortcuts on a client.
QJsonArray listOf(HelperClient &client, const QString &action, const QVariantMap &arguments = {});
