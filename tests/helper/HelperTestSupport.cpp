// SPDX-License-Identifier: GPL-2.0-or-later
#include "HelperTestSupport.h"

#include "HelperProtocol.h"

#include <KAuth/ActionReply>

#include <QDataStream>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTest>

#include <csignal>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace HelperTestEnvironment
{
QString cgroupRoot()
{
    return qEnvironmentVariable("REWIND_TEST_CGROUP_ROOT");
}
QString cellCgroupParent()
{
    return qEnvironmentVariable("REWIND_CGROUP_PARENT");
}
QString cellCgroup(const QString &session)
{
    const QStringList users = QDir(cellCgroupParent()).entryList({QStringLiteral("user-*")}, QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &user : users) {
        const QString directory = cellCgroupParent() + QLatin1Char('/') + user + QLatin1Char('/') + session;
        if (QFileInfo::exists(directory)) {
            return directory;
        }
    }
    return {};
}
QString stateDirectory()
{
    return qEnvironmentVariable("REWIND_STATE_DIR");
}
QString policyFile()
{
    return qEnvironmentVariable("REWIND_TEST_POLICY");
}
QString clientProgram()
{
    return qEnvironmentVariable("REWIND_TEST_CLIENT");
}
QString workDirectory()
{
    return qEnvironmentVariable("REWIND_TEST_WORK");
}
QString limitsFile()
{
    return qEnvironmentVariable("REWIND_LIMITS_FILE");
}
bool writeLimits(const QByteArray &content)
{
    QFile limits(limitsFile());
    return limits.open(QIODevice::WriteOnly | QIODevice::Truncate) && limits.write(content) == content.size();
}
QString whyUnavailable()
{
    if (cgroupRoot().isEmpty() || clientProgram().isEmpty()) {
        return QStringLiteral("not started by tests/helper/with-system-bus (ctest does that)");
    }
    if (!QFile::exists(QStringLiteral("/run/dbus/system_bus_socket"))) {
        return QStringLiteral("no system bus at /run/dbus/system_bus_socket");
    }
    return {};
}
} // namespace HelperTestEnvironment

namespace
{
bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(content) == content.size();
}

QByteArray frame(const QByteArray &payload)
{
    const quint32 length = quint32(payload.size());
    return QByteArray(reinterpret_cast<const char *>(&length), sizeof length) + payload;
}
} // namespace

EmulatedLogin::EmulatedLogin(const TestUser &user, const QString &id, bool active)
    : m_user(user)
    , m_id(id)
    , m_active(active)
{
    const QString scope = HelperTestEnvironment::cgroupRoot() + QStringLiteral("/user.slice/user-%1.slice/session-%2.scope").arg(user.uid).arg(id);
    if (!QDir().mkpath(scope)) {
        return;
    }
    m_scope = scope;
    write();
}

EmulatedLogin::~EmulatedLogin()
{
    QFile::remove(QStringLiteral("/run/systemd/sessions/") + m_id);
    QFile::remove(QStringLiteral("/run/systemd/users/%1").arg(m_user.uid));
    if (!m_scope.isEmpty()) {
        QDir().rmdir(m_scope); // the slices go with the test's cgroup
    }
}

void EmulatedLogin::setActive(bool active)
{
    m_active = active;
    write();
}

void EmulatedLogin::write()
{
    // What logind writes and libsystemd's sd_session_*() and sd_uid_get_state() read.
    writeFile(QStringLiteral("/run/systemd/sessions/") + m_id,
              QStringLiteral("UID=%1\nUSER=%2\nACTIVE=%3\nSTATE=%4\nREMOTE=0\nSEAT=seat0\nTYPE=x11\nCLASS=user\n")
                  .arg(m_user.uid)
                  .arg(m_user.name, m_active ? QStringLiteral("1") : QStringLiteral("0"), m_active ? QStringLiteral("active") : QStringLiteral("online"))
                  .toUtf8());
    writeFile(QStringLiteral("/run/systemd/users/%1").arg(m_user.uid),
              QStringLiteral("NAME=%1\nSTATE=%2\nSESSIONS=%3\nONLINE_SESSIONS=%3\nACTIVE_SESSIONS=%4\n")
                  .arg(m_user.name, m_active ? QStringLiteral("active") : QStringLiteral("online"), m_id, m_active ? m_id : QString())
                  .toUtf8());
}

QJsonValue HelperReply::json() const
{
    const QJsonDocument document = QJsonDocument::fromJson(answer);
    return document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
}

QString startCountingSession(HelperClient &client, QStringList &started, pid_t *initPid)
{
    const HelperReply reply = client.call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}}));
    if (!reply.ok()) {
        qWarning("startsession: %s", qPrintable(reply.errorText));
        return {};
    }
    const QJsonObject session = reply.json().toObject();
    const pid_t pid = pid_t(session.value(QStringLiteral("pid")).toInteger());
    if (initPid) {
        *initPid = pid;
    }
    started.append(session.value(QStringLiteral("id")).toString());
    return waitUntilCounting(pid) ? started.last() : QString();
}

void runAs(QProcess &process, const TestUser &user, const EmulatedLogin *login)
{
    const QByteArray procs = login ? QFile::encodeName(login->scope() + QStringLiteral("/cgroup.procs")) : QByteArray();
    const uid_t uid = user.uid;
    process.setChildProcessModifier([procs, uid] {
        // In the child, before exec: into the session's scope, then become the user.
        if (!procs.isEmpty()) {
            const int fd = ::open(procs.constData(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ::write(fd, "0", 1) != 1) {
                ::_exit(126);
            }
            ::close(fd);
        }
        if (uid != 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)) {
            ::_exit(126);
        }
    });
}

QString userRuntimeDirectory(const TestUser &user)
{
    const QString directory = QStringLiteral("/run/user/%1").arg(user.uid);
    const QByteArray path = QFile::encodeName(directory);
    if (!QDir().mkpath(directory) || ::chown(path.constData(), user.uid, user.uid) != 0 || ::chmod(path.constData(), 0700) != 0) {
        return {};
    }
    return directory;
}

HelperClient::HelperClient(const TestUser &user, const EmulatedLogin *login)
    : m_process(std::make_unique<QProcess>())
{
    runAs(*m_process, user, login);
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("HOME"), user.uid == 0 ? QStringLiteral("/root") : QStringLiteral("/home/") + user.name);
    environment.insert(QStringLiteral("USER"), user.name);
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    for (const char *name : {"QT_LOGGING_RULES", "REWIND_TEST_CLIENT_TRACE"}) {
        if (qEnvironmentVariableIsSet(name)) {
            environment.insert(QString::fromLatin1(name), qEnvironmentVariable(name));
        }
    }
    m_process->setProcessEnvironment(environment);
    m_process->setWorkingDirectory(QStringLiteral("/"));
    m_process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_process->start(HelperTestEnvironment::clientProgram(), {});
    if (!m_process->waitForStarted()) {
        m_startError = m_process->errorString();
    }
}

HelperClient::~HelperClient()
{
    if (m_process->state() != QProcess::NotRunning) {
        m_process->closeWriteChannel();
        if (!m_process->waitForFinished(10000)) {
            kill();
        }
    }
}

bool HelperClient::isRunning() const
{
    return m_process->state() == QProcess::Running;
}

pid_t HelperClient::pid() const
{
    return pid_t(m_process->processId());
}

bool HelperClient::send(const HelperRequest &request)
{
    QByteArray payload;
    QDataStream out(&payload, QIODevice::WriteOnly);
    out << request.action << request.arguments << qint32(request.timeoutMs) << request.withStatus << request.cancelAtStage << request.leaveAnswer;
    const QByteArray framed = frame(payload);
    if (m_process->write(framed) != framed.size()) {
        return false;
    }
    while (m_process->bytesToWrite() > 0) {
        if (!m_process->waitForBytesWritten(30000)) {
            return false;
        }
    }
    return true;
}

namespace
{
/// Whether process has bytes of output ready before the deadline, or had
/// them when it ended.
bool waitForBytes(QProcess &process, qint64 bytes, const QDeadlineTimer &deadline)
{
    while (process.bytesAvailable() < bytes) {
        if (process.state() != QProcess::Running || deadline.hasExpired()) {
            return process.bytesAvailable() >= bytes;
        }
        process.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime())));
    }
    return true;
}
} // namespace

HelperReply HelperClient::receive(int timeoutMs)
{
    HelperReply reply;
    reply.error = -2000;
    QDeadlineTimer deadline(timeoutMs);
    const auto waitFor = [&](qint64 bytes) {
        return waitForBytes(*m_process, bytes, deadline);
    };
    quint32 length = 0;
    if (!waitFor(sizeof length)) {
        reply.errorText = QStringLiteral("the client gave no answer");
        return reply;
    }
    m_process->read(reinterpret_cast<char *>(&length), sizeof length);
    if (!waitFor(length)) {
        reply.errorText = QStringLiteral("the client's answer was cut off");
        return reply;
    }
    const QByteArray payload = m_process->read(length);
    QDataStream in(payload);
    qint32 status = 0;
    qint32 error = 0;
    in >> status >> error >> reply.errorText >> reply.data >> reply.percents >> reply.stages >> reply.broadcastErrorText >> reply.answer >> reply.errorMessage
        >> reply.errorDetails;
    reply.status = status;
    reply.error = error;
    return reply;
}

HelperReply HelperClient::call(const HelperRequest &request)
{
    if (!send(request)) {
        HelperReply reply;
        reply.error = -2000;
        reply.errorText = QStringLiteral("could not send the request to the client");
        return reply;
    }
    return receive(request.timeoutMs + 30000);
}

void HelperClient::kill()
{
    if (m_process->state() != QProcess::NotRunning) {
        ::kill(pid(), SIGKILL);
        m_process->waitForFinished(10000);
    }
}

QString Broadcast::text() const
{
    QDataStream in(blob);
    switch (type) {
    case ActionPerformed: {
        const KAuth::ActionReply reply = KAuth::ActionReply::deserialize(blob);
        return reply.errorDescription() + QLatin1Char('\n')
            + QString::fromUtf8(QJsonDocument(QJsonObject::fromVariantMap(reply.data())).toJson(QJsonDocument::Compact));
    }
    case DebugMessage: {
        int level = 0;
        QString message;
        in >> level >> message;
        return message;
    }
    case ProgressStepIndicator: {
        int step = 0;
        in >> step;
        return QString::number(step);
    }
    case ProgressStepData: {
        QVariantMap data;
        in >> data;
        return QString::fromUtf8(QJsonDocument(QJsonObject::fromVariantMap(data)).toJson(QJsonDocument::Compact));
    }
    default:
        return QString::fromUtf8(blob.toHex());
    }
}

BroadcastListener::BroadcastListener(const TestUser &user)
    : m_process(std::make_unique<QProcess>())
{
    runAs(*m_process, user, nullptr);
    QProcessEnvironment environment;
    environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
    environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
    m_process->setProcessEnvironment(environment);
    m_process->setWorkingDirectory(QStringLiteral("/"));
    m_process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_process->start(HelperTestEnvironment::clientProgram(), {QStringLiteral("--listen")});
    Broadcast ready;
    m_listening = m_process->waitForStarted() && next(ready, 30000) && ready.type == -1;
}

BroadcastListener::~BroadcastListener()
{
    if (m_process->state() != QProcess::NotRunning) {
        ::kill(pid_t(m_process->processId()), SIGKILL);
        m_process->waitForFinished(10000);
    }
}

bool BroadcastListener::next(Broadcast &broadcast, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    const auto waitFor = [&](qint64 bytes) {
        return waitForBytes(*m_process, bytes, deadline);
    };
    quint32 length = 0;
    if (!waitFor(sizeof length)) {
        return false;
    }
    m_process->read(reinterpret_cast<char *>(&length), sizeof length);
    if (!waitFor(length)) {
        return false;
    }
    const QByteArray message = m_process->read(length);
    QDataStream in(message);
    qint32 type = 0;
    in >> type >> broadcast.action >> broadcast.blob;
    broadcast.type = type;
    return true;
}

QList<Broadcast> BroadcastListener::until(const QString &action, int timeoutMs)
{
    QList<Broadcast> received;
    QDeadlineTimer deadline(timeoutMs);
    Broadcast broadcast;
    while (next(broadcast, int(std::max<qint64>(1, deadline.remainingTime())))) {
        received.append(broadcast);
        if (broadcast.type == Broadcast::ActionPerformed && broadcast.action == HelperProtocol::actionName(action)) {
            break;
        }
    }
    return received;
}

namespace
{
long counterValue(pid_t initPid)
{
    QFile file(QStringLiteral("/proc/%1/root/tmp/counter").arg(initPid));
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    bool ok = false;
    const long value = file.readAll().trimmed().toLong(&ok);
    return ok ? value : -1;
}
} // namespace

bool waitUntilCounting(pid_t initPid, int timeoutMs)
{
    // The counter writes a file inside the cell; no notification reaches here, so this polls.
    const long first = counterValue(initPid);
    return QTest::qWaitFor(
        [&] {
            const long now = counterValue(initPid);
            return now >= 0 && now > first;
        },
        timeoutMs);
}

qint64 snapshotOf(HelperClient &client, const QString &session)
{
    const HelperReply taken = client.call(HelperRequest::of(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}}));
    if (!taken.ok()) {
        qWarning("snapshot of %s: %s", qPrintable(session), qPrintable(taken.errorText));
        return 0;
    }
    return taken.json().toObject().value(QStringLiteral("id")).toInteger();
}

void stopSessions(HelperClient &administrator, const QStringList &sessions)
{
    for (const QString &session : sessions) {
        (void)administrator.call(
            HelperRequest::of(HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("stop")}, {HelperProtocol::sessionKey, session}}));
    }
}

QJsonArray listOf(HelperClient &client, const QString &action, const QVariantMap &arguments)
{
    const HelperReply reply = client.call(HelperRequest::of(action, arguments));
    if (!reply.ok()) {
        qWarning("%s failed: %s", qPrintable(action), qPrintable(reply.errorText));
    }
    return reply.json().toArray();
}

QJsonObject snapshotInList(HelperClient &client, const QString &session, qint64 id)
{
    const QJsonArray snapshots = listOf(client, HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}});
    for (const QJsonValue &snapshot : snapshots) {
        if (snapshot.toObject().value(QStringLiteral("id")).toInteger() == id) {
            return snapshot.toObject();
        }
    }
    return {};
}
