// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestNetwork.h"

#include "SessionManager.h"
#include "UniqueFd.h"

#include <QFile>
#include <QProcess>
#include <QTcpSocket>
#include <QTest>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <unistd.h>

namespace
{

const QString testLink = QStringLiteral("rwnet0");
const QString testAddress = QStringLiteral("10.199.0.2/24");
const QString testGateway = QStringLiteral("10.199.0.1");

bool ip(const QStringList &arguments)
{
    QProcess process;
    process.start(QStringLiteral("ip"), arguments);
    return process.waitForFinished(10000) && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
}

/// The IPv4 gateway of the default route; empty if there is none.
QString defaultGateway()
{
    QFile routes(QStringLiteral("/proc/net/route"));
    if (!routes.open(QIODevice::ReadOnly)) {
        return {};
    }
    const auto lines = routes.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const auto fields = line.simplified().split(' ');
        if (fields.size() > 3 && fields[1] == "00000000") {
            const quint32 gateway = fields[2].toUInt(nullptr, 16); // the address's bytes in memory order
            const auto *bytes = reinterpret_cast<const unsigned char *>(&gateway);
            return QStringLiteral("%1.%2.%3.%4").arg(bytes[0]).arg(bytes[1]).arg(bytes[2]).arg(bytes[3]);
        }
    }
    return {};
}

} // namespace

TestNetwork::TestNetwork()
{
    m_gateway = defaultGateway();
    if (!m_gateway.isEmpty()) {
        return;
    }
    // A link of a run that was killed before its clean-up would be in the way.
    (void)ip({QStringLiteral("link"), QStringLiteral("delete"), testLink});
    m_madeLink = ip({QStringLiteral("link"),
                     QStringLiteral("add"),
                     testLink,
                     QStringLiteral("type"),
                     QStringLiteral("veth"),
                     QStringLiteral("peer"),
                     QStringLiteral("name"),
                     testLink + QStringLiteral("p")});
    if (!m_madeLink || !ip({QStringLiteral("address"), QStringLiteral("add"), testAddress, QStringLiteral("dev"), testLink})
        || !ip({QStringLiteral("link"), QStringLiteral("set"), testLink, QStringLiteral("up")})
        || !ip({QStringLiteral("link"), QStringLiteral("set"), testLink + QStringLiteral("p"), QStringLiteral("up")})
        || !ip({QStringLiteral("route"), QStringLiteral("add"), QStringLiteral("default"), QStringLiteral("via"), testGateway})) {
        m_error = QStringLiteral("there is no default route, and a veth link with one could not be made (ip link add ... type veth)");
        return;
    }
    m_gateway = testGateway;
}

TestNetwork::~TestNetwork()
{
    // Its peer and the default route through it go with it.
    if (m_madeLink && !ip({QStringLiteral("link"), QStringLiteral("delete"), testLink})) {
        qWarning("could not remove the test's link %s", qPrintable(testLink));
    }
}

EchoServer::EchoServer()
{
    connect(this, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *socket = nextPendingConnection()) {
            connect(socket, &QTcpSocket::readyRead, socket, [socket] {
                socket->write(socket->readAll());
            });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

QByteArray connectionsReport(pid_t initPid)
{
    QFile report(Rewind::SessionManager::cellPath(initPid, QStringLiteral("/tmp/report")));
    return report.open(QIODevice::ReadOnly) ? report.readAll().trimmed() : QByteArray();
}

QByteArray checkConnections(pid_t initPid, uid_t user, long number)
{
    const QByteArray text = QByteArray::number(qlonglong(number));
    const passwd *account = ::getpwuid(user);
    if (!account) {
        return "no such user";
    }
    // Written as the session's user (this thread's file system ids): the
    // cell's /tmp maps no other user, and host root is nobody there.
    const Rewind::UniqueFd directory(
        ::open(QFile::encodeName(Rewind::SessionManager::cellPath(initPid, QStringLiteral("/tmp"))).constData(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ::setfsgid(account->pw_gid);
    ::setfsuid(user);
    const Rewind::UniqueFd command(::openat(directory.get(), "command", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    const bool written = command && ::write(command.get(), text.constData(), text.size()) == text.size();
    const int error = errno;
    ::setfsuid(0);
    ::setfsgid(0);
    if (!written) {
        return "cannot write the command: " + QByteArray(std::strerror(error));
    }
    const auto answered = [&] {
        return connectionsReport(initPid).startsWith(text + ' ');
    };
    if (!QTest::qWaitFor(answered, 20000)) {
        return "no answer: " + connectionsReport(initPid);
    }
    return connectionsReport(initPid).mid(text.size() + 1);
}
