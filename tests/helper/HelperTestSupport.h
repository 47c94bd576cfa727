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
QString limitsFile(); ///< REWIND_LIMITS_FILE of the helper; absent until a test writes it
/// Writes the helper's limits.conf (limitsFile()); the helper reads it at each call.
bool writeLimits(const QByteArray &content);
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
    bool leaveAnswer = false; ///< leave the answer's file where the helper put it (as a client that died would)

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
    QString errorText; ///< the whole message and its details, as the caller reads them from the file the helper handed over
    QString errorMessage; ///< the failure's message alone, as the GUI shows it
    QString errorDetails; ///< the failure's details alone (CRIU's log lines, the scan's list)
    QVariantMap data; ///< the reply's data, as every client of the system bus sees it
    QString broadcastErrorText; ///< the reply's error description, as every client of the system bus sees it
    QByteArray answer; ///< the JSON handed over to the caller (HelperProtocol::replyKey)
    QList<qint32> percents;
    QStringList stages;

    bool ok() const
    {
        return error == 0;
    }
    QJsonValue json() const; ///< answer, parsed
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

/// A signal the helper broadcast on the system bus (KAuth's remoteSignal),
/// as every local client receives it.
struct Broadcast {
    /// KAuth's DBusHelperProxy::SignalType.
    enum Type {
        ActionStarted,
        ActionPerformed,
        DebugMessage,
        ProgressStepIndicator,
        ProgressStepData
    };
    int type = -1;
    QString action; ///< the full action name
    QByteArray blob;
    /// All a reader can get out of it as text: a reply's error description
    /// and data, a log message, progress data.
    QString text() const;
};

/// rewind-helper-client --listen running as USER: what another local user
/// receives of every call of the helper. Killed by pid and reaped when it goes out of scope.
class BroadcastListener
{
public:
    explicit BroadcastListener(const TestUser &user);
    ~BroadcastListener();
    BroadcastListener(const BroadcastListener &) = delete;
    BroadcastListener &operator=(const BroadcastListener &) = delete;

    /// Whether its match rule is in place on the bus.
    bool isListening() const
    {
        return m_listening;
    }
    /// Everything the helper broadcast since the last call, up to and with
    /// the reply to ACTION (a short name); what arrived if none came in time.
    QList<Broadcast> until(const QString &action, int timeoutMs = 60000);

private:
    bool next(Broadcast &broadcast, int timeoutMs);
    std::unique_ptr<QProcess> m_process;
    bool m_listening = false;
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

/// The user's XDG_RUNTIME_DIR (/run/user/UID), made as logind would; empty on failure.
QString userRuntimeDirectory(const TestUser &user);

/// A snapshot of SESSION taken through the helper by CLIENT, with CRIU; 0 on failure.
qint64 snapshotOf(HelperClient &client, const QString &session);

/// Stops every one of sessions through administrator's administer action,
/// for a test's clean-up; what is already gone is no error.
void stopSessions(HelperClient &administrator, const QStringList &sessions);

/// Shortcuts on a client.
QJsonArray listOf(HelperClient &client, const QString &action, const QVariantMap &arguments = {});
/// The entry of snapshot id in listsnapshots of session; empty if it is not listed.
QJsonObject snapshotInList(HelperClient &client, const QString &session, qint64 id);
