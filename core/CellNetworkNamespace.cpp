// SPDX-License-Identifier: GPL-2.0-or-later
#include "CellNetworkNamespace.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QByteArray>
#include <QList>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <initializer_list>
#include <linux/if_addr.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace Rewind
{
namespace
{

QString systemError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

/// Runs work in a thread that has joined the network namespace of pid
/// (a thread may, and leaves the rest of this process where it is).
/// Returns false, without running it, when pid shares this process's.
Result<bool> inNetworkNamespaceOf(pid_t pid, const std::function<Result<void>()> &work)
{
    const QByteArray path = "/proc/" + QByteArray::number(pid) + "/ns/net";
    const UniqueFd target(::open(path.constData(), O_RDONLY | O_CLOEXEC));
    struct stat targetStatus{};
    struct stat ownStatus{};
    if (!target || ::fstat(target.get(), &targetStatus) != 0 || ::stat("/proc/thread-self/ns/net", &ownStatus) != 0) {
        return Error{i18n("Cannot reach the network namespace of process %1: %2", QString::number(pid), systemError())};
    }
    if (targetStatus.st_ino == ownStatus.st_ino && targetStatus.st_dev == ownStatus.st_dev) {
        return false; // a snapshot from before cells had networks of their own
    }
    Result<void> outcome;
    std::thread worker([&] {
        if (::setns(target.get(), CLONE_NEWNET) != 0) {
            outcome = Error{i18n("Cannot enter the network namespace of process %1: %2", QString::number(pid), systemError())};
            return;
        }
        outcome = work();
    });
    worker.join();
    if (!outcome) {
        return outcome.error();
    }
    return true;
}

Result<void> bringUpLoopback()
{
    const UniqueFd socketFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (!socketFd || ::ioctl(socketFd.get(), SIOCGIFFLAGS, &request) != 0) {
        return Error{i18n("Cannot find the session's loopback: %1", systemError())};
    }
    request.ifr_flags |= IFF_UP;
    if (::ioctl(socketFd.get(), SIOCSIFFLAGS, &request) != 0) {
        return Error{i18n("Cannot bring up the session's loopback: %1", systemError())};
    }
    return {};
}

/// One rtnetlink request and its acknowledgement; tolerated: the errors the
/// caller expects (such as EADDRNOTAVAIL or ESRCH when removing, EAFNOSUPPORT
/// without IPv6).
struct RouteRequest {
    nlmsghdr header;
    union {
        rtmsg route;
        ifaddrmsg address;
    };
    alignas(NLMSG_ALIGNTO) char attributes[64];
};

void addAttribute(RouteRequest &request, unsigned short type, const void *data, size_t size)
{
    auto *attribute = reinterpret_cast<rtattr *>(reinterpret_cast<char *>(&request) + NLMSG_ALIGN(request.header.nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = RTA_LENGTH(size);
    std::memcpy(RTA_DATA(attribute), data, size);
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

Result<void> sendRouteRequest(RouteRequest &request, std::initializer_list<int> tolerated)
{
    const UniqueFd netlink(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!netlink || ::send(netlink.get(), &request, request.header.nlmsg_len, 0) != ssize_t(request.header.nlmsg_len)) {
        return Error{i18n("Cannot change the addresses or routes of the session's network: %1", systemError())};
    }
    alignas(nlmsghdr) char buffer[4096];
    ssize_t length;
    do {
        length = ::recv(netlink.get(), buffer, sizeof buffer, 0);
    } while (length < 0 && errno == EINTR);
    const auto *header = reinterpret_cast<const nlmsghdr *>(buffer);
    if (length < ssize_t(NLMSG_LENGTH(sizeof(nlmsgerr))) || header->nlmsg_type != NLMSG_ERROR) {
        return Error{i18n("Cannot change the addresses or routes of the session's network: %1", i18n("no answer"))};
    }
    const int error = -static_cast<const nlmsgerr *>(NLMSG_DATA(header))->error;
    if (error != 0 && std::find(tolerated.begin(), tolerated.end(), error) == tolerated.end()) {
        errno = error;
        return Error{i18n("Cannot change the addresses or routes of the session's network: %1", systemError())};
    }
    return {};
}

/// Adds or removes a default route through the loopback, for one address
/// family. CRIU reconnects a restored connection in repair mode, which needs
/// a route to its peer.
Result<void> changeLoopbackDefaultRoute(int family, bool add)
{
    RouteRequest request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    request.header.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    request.route.rtm_family = __u8(family);
    request.route.rtm_table = RT_TABLE_MAIN;
    request.route.rtm_protocol = RTPROT_STATIC;
    request.route.rtm_scope = RT_SCOPE_LINK;
    request.route.rtm_type = RTN_UNICAST;
    const int loopback = int(::if_nametoindex("lo"));
    addAttribute(request, RTA_OIF, &loopback, sizeof loopback);
    return sendRouteRequest(request, {EAFNOSUPPORT, ESRCH});
}

/// Adds or removes an address (4 or 16 bytes) on the loopback. CRIU binds a
/// restored connection to its address before it reconnects it, and the
/// kernel routes from local addresses only.
Result<void> changeLoopbackAddress(const QByteArray &address, bool add)
{
    RouteRequest request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    request.header.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    request.address.ifa_family = address.size() == 4 ? AF_INET : AF_INET6;
    request.address.ifa_prefixlen = address.size() == 4 ? 32 : 128;
    request.address.ifa_flags = IFA_F_NODAD; // usable at once, not "tentative"
    request.address.ifa_scope = RT_SCOPE_UNIVERSE;
    request.address.ifa_index = ::if_nametoindex("lo");
    addAttribute(request, IFA_LOCAL, address.constData(), size_t(address.size()));
    addAttribute(request, IFA_ADDRESS, address.constData(), size_t(address.size()));
    return sendRouteRequest(request, {EAFNOSUPPORT, EADDRNOTAVAIL});
}

/// Where the connections to the outside restore: their addresses on the
/// loopback and default routes through it, until closeOutsideConnections().
/// Nothing is sent on them: they are aborted before the tree runs, and the
/// way out, with the real addresses and routes, comes after the restore.
Result<void> changeRestoreScaffolding(const QList<QByteArray> &addresses, bool add)
{
    for (const QByteArray &address : addresses) {
        if (auto changed = changeLoopbackAddress(address, add); !changed) {
            return changed;
        }
    }
    for (const int family : {AF_INET, AF_INET6}) {
        if (auto changed = changeLoopbackDefaultRoute(family, add); !changed) {
            return changed;
        }
    }
    return {};
}

/// A TCP socket as sock_diag lists it; addresses as IPv6 (IPv4 mapped), so
/// that the two ends of a connection compare whatever their families.
struct TcpSocket {
    int family = AF_INET;
    int state = 0;
    inet_diag_sockid id{};
    std::array<unsigned char, 16> local{};
    std::array<unsigned char, 16> remote{};
};

std::array<unsigned char, 16> mappedAddress(int family, const __be32 *address)
{
    std::array<unsigned char, 16> mapped{};
    if (family == AF_INET6) {
        std::memcpy(mapped.data(), address, 16);
    } else {
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        std::memcpy(mapped.data() + 12, address, 4);
    }
    return mapped;
}

struct DiagRequest {
    nlmsghdr header;
    inet_diag_req_v2 request;
};

Result<QList<TcpSocket>> listTcpSockets(int netlink, int family)
{
    DiagRequest message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = __u8(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0U;
    if (::send(netlink, &message, sizeof message, 0) != ssize_t(sizeof message)) {
        return Error{i18n("Cannot list the session's connections: %1", systemError())};
    }
    QList<TcpSocket> sockets;
    alignas(nlmsghdr) char buffer[32768];
    for (;;) {
        const ssize_t length = ::recv(netlink, buffer, sizeof buffer, 0);
        if (length < 0 && errno == EINTR) {
            continue;
        }
        if (length <= 0) {
            return Error{i18n("Cannot list the session's connections: %1", length < 0 ? systemError() : i18n("no answer"))};
        }
        int remaining = int(length);
        for (auto *header = reinterpret_cast<nlmsghdr *>(buffer); NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
            if (header->nlmsg_type == NLMSG_DONE) {
                return sockets;
            }
            if (header->nlmsg_type == NLMSG_ERROR) {
                const auto *error = static_cast<const nlmsgerr *>(NLMSG_DATA(header));
                errno = -error->error;
                return Error{i18n("Cannot list the session's connections: %1", systemError())};
            }
            const auto *entry = static_cast<const inet_diag_msg *>(NLMSG_DATA(header));
            TcpSocket socket;
            socket.family = entry->idiag_family;
            socket.state = entry->idiag_state;
            socket.id = entry->id;
            socket.local = mappedAddress(entry->idiag_family, entry->id.idiag_src);
            socket.remote = mappedAddress(entry->idiag_family, entry->id.idiag_dst);
            sockets.append(socket);
        }
    }
}

bool isConnection(int state)
{
    switch (state) {
    case TCP_ESTABLISHED:
    case TCP_SYN_SENT:
    case TCP_SYN_RECV:
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
        return true;
    default:
        return false;
    }
}

/// The other end is a socket of the same namespace: a connection inside.
bool hasPeerInside(const TcpSocket &socket, const QList<TcpSocket> &all)
{
    return std::any_of(all.begin(), all.end(), [&socket](const TcpSocket &other) {
        return isConnection(other.state) && other.id.idiag_sport == socket.id.idiag_dport && other.id.idiag_dport == socket.id.idiag_sport
            && other.local == socket.remote && other.remote == socket.local;
    });
}

Result<void> destroy(int netlink, const TcpSocket &socket)
{
    DiagRequest message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DESTROY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    message.request.sdiag_family = __u8(socket.family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1U << socket.state;
    message.request.id = socket.id;
    if (::send(netlink, &message, sizeof message, 0) != ssize_t(sizeof message)) {
        return Error{i18n("Cannot close a connection of the session: %1", systemError())};
    }
    alignas(nlmsghdr) char buffer[4096];
    ssize_t length;
    do {
        length = ::recv(netlink, buffer, sizeof buffer, 0);
    } while (length < 0 && errno == EINTR);
    const auto *header = reinterpret_cast<const nlmsghdr *>(buffer);
    if (length < ssize_t(sizeof(nlmsghdr)) || header->nlmsg_type != NLMSG_ERROR) {
        return Error{i18n("Cannot close a connection of the session: %1", i18n("no answer"))};
    }
    const auto *error = static_cast<const nlmsgerr *>(NLMSG_DATA(header));
    // ENOENT: it closed meanwhile.
    if (error->error != 0 && error->error != -ENOENT) {
        errno = -error->error;
        return Error{i18n("Cannot close a connection of the session: %1", systemError())};
    }
    return {};
}

} // namespace

Result<void> CellNetworkNamespace::prepareForSockets(pid_t pid, const QList<QByteArray> &connectionAddresses)
{
    auto done = inNetworkNamespaceOf(pid, [&connectionAddresses] {
        if (auto up = bringUpLoopback(); !up) {
            return up;
        }
        return changeRestoreScaffolding(connectionAddresses, true);
    });
    if (!done) {
        return done.error();
    }
    return {};
}

Result<int> CellNetworkNamespace::closeOutsideConnections(pid_t pid, const QList<QByteArray> &connectionAddresses)
{
    int closed = 0;
    auto done = inNetworkNamespaceOf(pid, [&closed, &connectionAddresses]() -> Result<void> {
        const UniqueFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
        if (!netlink) {
            return Error{i18n("Cannot list the session's connections: %1", systemError())};
        }
        QList<TcpSocket> all;
        for (const int family : {AF_INET, AF_INET6}) {
            auto listed = listTcpSockets(netlink.get(), family);
            if (!listed) {
                return listed.error();
            }
            all.append(*listed);
        }
        // The scaffolding goes whatever else fails: the session must not keep
        // the restore's addresses and routes.
        std::optional<Error> firstFailure;
        for (const TcpSocket &socket : std::as_const(all)) {
            if (isConnection(socket.state) && !hasPeerInside(socket, all)) {
                if (auto destroyed = destroy(netlink.get(), socket); !destroyed) {
                    firstFailure = firstFailure.value_or(destroyed.error());
                    continue;
                }
                ++closed;
            }
        }
        auto removed = changeRestoreScaffolding(connectionAddresses, false);
        if (firstFailure) {
            return *firstFailure;
        }
        return removed;
    });
    if (!done) {
        return done.error();
    }
    return closed;
}

} // namespace Rewind
