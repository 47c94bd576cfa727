// SPDX-License-Identifier: GPL-2.0-or-later
#include "CheckpointabilityScan.h"
#include "CriuCheckpointer.h"
#include "ProcessStat.h"
#include "UniqueFd.h"

#include <KFormat>
#include <KLocalizedString>

#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <thread>
#include <unistd.h>

namespace Rewind
{
namespace
{

using Obstacle = CheckpointabilityScan::Obstacle;

QString systemError(int error = errno)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

QString procPath(pid_t pid, const char *entry)
{
    return QStringLiteral("/proc/%1/%2").arg(pid).arg(QLatin1String(entry));
}

QByteArray readProcFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return file.readAll();
}

/// The inode of a namespace link such as /proc/PID/ns/pid; 0 if unknown.
ino_t namespaceInode(const QString &path)
{
    struct stat status{};
    return ::stat(QFile::encodeName(path).constData(), &status) == 0 ? status.st_ino : 0;
}

QString readLink(const QString &path)
{
    char target[4096];
    const ssize_t length = ::readlink(QFile::encodeName(path).constData(), target, sizeof target);
    if (length <= 0) {
        return {};
    }
    return QFile::decodeName(QByteArray(target, int(length)));
}

QList<QString> directoryEntries(const QString &path)
{
    QList<QString> entries;
    DIR *dir = ::opendir(QFile::encodeName(path).constData());
    if (!dir) {
        return entries;
    }
    while (const dirent *entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            entries.append(QFile::decodeName(entry->d_name));
        }
    }
    ::closedir(dir);
    return entries;
}

/// The parent pid from /proc/PID/stat; -1 if the process is gone.
pid_t parentOf(pid_t pid)
{
    const auto stat = ProcessStat::read(pid);
    return stat ? stat->parent : -1;
}

/// The name a user knows the process by: its command name, or the name of
/// its program when the kernel cut the command name short (15 characters).
QString processName(pid_t pid)
{
    const QString comm = QString::fromUtf8(readProcFile(procPath(pid, "comm"))).trimmed();
    if (comm.size() >= 15) {
        const QByteArray commandLine = readProcFile(procPath(pid, "cmdline"));
        const QString program = QFileInfo(QString::fromLocal8Bit(commandLine.left(commandLine.indexOf('\0')))).fileName();
        if (program.startsWith(comm)) {
            return program;
        }
    }
    return comm;
}

pid_t tracerOf(pid_t pid)
{
    const QByteArray status = readProcFile(procPath(pid, "status"));
    const auto lines = status.split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("TracerPid:")) {
            return line.mid(10).trimmed().toInt();
        }
    }
    return 0;
}

/// Every process of the cell: those in the init's pid namespace, and the
/// init's descendants (also those in nested pid namespaces).
Result<QList<pid_t>> processesOfCell(pid_t init)
{
    const ino_t cellNamespace = namespaceInode(procPath(init, "ns/pid"));
    if (cellNamespace == 0) {
        return Error{i18n("The session's first process (pid %1) is not running: %2", QString::number(init), systemError())};
    }
    // A cell has a pid namespace of its own; if it does not, only descendants count.
    const bool ownNamespace = cellNamespace != namespaceInode(QStringLiteral("/proc/self/ns/pid"));

    QHash<pid_t, pid_t> parents;
    QSet<pid_t> cell{init};
    const auto entries = directoryEntries(QStringLiteral("/proc"));
    for (const QString &entry : entries) {
        bool numeric = false;
        const pid_t pid = entry.toInt(&numeric);
        if (!numeric) {
            continue;
        }
        parents.insert(pid, parentOf(pid));
        if (ownNamespace && namespaceInode(procPath(pid, "ns/pid")) == cellNamespace) {
            cell.insert(pid);
        }
    }
    for (auto it = parents.cbegin(); it != parents.cend(); ++it) {
        // Walk up to the init; bounded, in case of a loop from pid reuse.
        pid_t ancestor = it.value();
        for (int depth = 0; ancestor > 1 && depth < 4096; ++depth) {
            if (ancestor == init) {
                cell.insert(it.key());
                break;
            }
            ancestor = parents.value(ancestor, -1);
        }
    }
    QList<pid_t> pids(cell.cbegin(), cell.cend());
    std::sort(pids.begin(), pids.end());
    return pids;
}

struct UnixSocket {
    quint32 peer = 0;
    QString name; ///< a path, or "@name" for an abstract socket
    quint32 unread = 0; ///< bytes in its receive queue (0 for a listener)
};

/// A sock_diag netlink socket in the network namespace of PID.
Result<UniqueFd> diagnosticsSocket(pid_t pid)
{
    const QString netNamespace = procPath(pid, "ns/net");
    if (namespaceInode(netNamespace) == namespaceInode(QStringLiteral("/proc/self/ns/net"))) {
        UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
        if (!fd) {
            return Error{i18n("Cannot inspect the session's sockets: %1", systemError())};
        }
        return fd;
    }
    // A socket belongs to the network namespace it was made in: make it in
    // a thread that enters the cell's, and leaves it again by ending.
    int fd = -1;
    int error = 0;
    std::thread([&] {
        UniqueFd ns(::open(QFile::encodeName(netNamespace).constData(), O_RDONLY | O_CLOEXEC));
        if (!ns || ::setns(ns.get(), CLONE_NEWNET) < 0) {
            error = errno;
            return;
        }
        fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        error = errno;
    }).join();
    if (fd < 0) {
        return Error{i18n("Cannot inspect the session's sockets: %1", systemError(error))};
    }
    return UniqueFd(fd);
}

/// Every unix socket of PID's network namespace by inode, with its peer and name.
Result<QHash<quint32, UnixSocket>> unixSockets(pid_t pid)
{
    auto fd = diagnosticsSocket(pid);
    if (!fd) {
        return fd.error();
    }
    struct {
        nlmsghdr header;
        unix_diag_req request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = AF_UNIX;
    message.request.udiag_states = ~0U;
    message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd->get(), &message, sizeof message, 0, reinterpret_cast<sockaddr *>(&kernel), sizeof kernel) < 0) {
        return Error{i18n("Cannot inspect the session's sockets: %1", systemError())};
    }

    QHash<quint32, UnixSocket> sockets;
    alignas(nlmsghdr) char buffer[32768];
    for (;;) {
        const ssize_t length = ::recv(fd->get(), buffer, sizeof buffer, 0);
        if (length < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Error{i18n("Cannot inspect the session's sockets: %1", systemError())};
        }
        int left = int(length);
        for (auto *header = reinterpret_cast<nlmsghdr *>(buffer); NLMSG_OK(header, left); header = NLMSG_NEXT(header, left)) {
            if (header->nlmsg_type == NLMSG_DONE) {
                return sockets;
            }
            if (header->nlmsg_type == NLMSG_ERROR) {
                const auto *failure = static_cast<const nlmsgerr *>(NLMSG_DATA(header));
                return Error{i18n("Cannot inspect the session's sockets: %1", systemError(-failure->error))};
            }
            if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
                continue;
            }
            const auto *socketInfo = static_cast<const unix_diag_msg *>(NLMSG_DATA(header));
            UnixSocket socket;
            int attributesLength = int(header->nlmsg_len - NLMSG_LENGTH(sizeof *socketInfo));
            for (auto *attribute = reinterpret_cast<rtattr *>(const_cast<unix_diag_msg *>(socketInfo) + 1); RTA_OK(attribute, attributesLength);
                 attribute = RTA_NEXT(attribute, attributesLength)) {
                const char *data = static_cast<const char *>(RTA_DATA(attribute));
                const int size = int(RTA_PAYLOAD(attribute));
                if (attribute->rta_type == UNIX_DIAG_RQLEN && size >= int(sizeof(unix_diag_rqlen)) && socketInfo->udiag_state != TCP_LISTEN) {
                    unix_diag_rqlen queues{};
                    std::memcpy(&queues, data, sizeof queues);
                    socket.unread = queues.udiag_rqueue;
                } else if (attribute->rta_type == UNIX_DIAG_PEER && size >= int(sizeof(quint32))) {
                    std::memcpy(&socket.peer, data, sizeof socket.peer);
                } else if (attribute->rta_type == UNIX_DIAG_NAME && size > 0) {
                    if (data[0] == '\0') {
                        socket.name = QLatin1Char('@') + QString::fromLocal8Bit(data + 1, size - 1);
                    } else {
                        socket.name = QString::fromLocal8Bit(data, int(::strnlen(data, size)));
                    }
                }
            }
            sockets.insert(socketInfo->udiag_ino, socket);
        }
    }
}

/// What a user would call the program at the other end of a socket path.
QString peerDescription(const QString &path)
{
    static const QRegularExpression sessionBus(QStringLiteral("\\A/run/user/\\d+/bus\\z"));
    static const QRegularExpression x11(QStringLiteral("\\A@?/tmp/\\.X11-unix/X(\\d+)\\z"));
    const QString fileName = path.mid(path.lastIndexOf(QLatin1Char('/')) + 1);
    if (path == QLatin1String("/run/dbus/system_bus_socket") || path == QLatin1String("/var/run/dbus/system_bus_socket")) {
        return i18n("the host's D-Bus system bus");
    }
    if (sessionBus.match(path).hasMatch() || path.startsWith(QLatin1String("@/tmp/dbus-"))) {
        return i18n("the host's D-Bus session bus");
    }
    if (const auto match = x11.match(path); match.hasMatch()) {
        return i18n("the host's X display :%1", match.captured(1));
    }
    if (fileName.startsWith(QLatin1String("wayland-"))) {
        return i18n("the host's Wayland display");
    }
    if (fileName.startsWith(QLatin1String("pipewire-"))) {
        return i18n("the host's PipeWire sound and video server");
    }
    if (path.endsWith(QLatin1String("/pulse/native"))) {
        return i18n("the host's PulseAudio sound server");
    }
    if (path == QLatin1String("/dev/log") || path.startsWith(QLatin1String("/run/systemd/journal/"))) {
        return i18n("the host's system log");
    }
    return i18n("a program outside the session");
}

/// What a character or block device is, or an empty string for devices
/// every session may hold (null, zero, random, terminals).
QString deviceDescription(const QString &path, const struct stat &status)
{
    if (!S_ISCHR(status.st_mode)) {
        return S_ISBLK(status.st_mode) ? i18n("a disk device") : QString();
    }
    const unsigned int major = ::major(status.st_rdev);
    const unsigned int minor = ::minor(status.st_rdev);
    if ((major == 1 && (minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9)) || (major == 5 && (minor == 0 || minor == 2))
        || (major >= 136 && major <= 143)) {
        return {};
    }
    if (major == 226) {
        return i18n("the graphics card (GPU)");
    }
    if (major == 195 || path.startsWith(QLatin1String("/dev/nvidia"))) {
        return i18n("the NVIDIA graphics card");
    }
    if (major == 116 || path.startsWith(QLatin1String("/dev/snd/"))) {
        return i18n("the sound card");
    }
    if (major == 81 || path.startsWith(QLatin1String("/dev/video"))) {
        return i18n("a video device (camera or capture card)");
    }
    if (major == 1 && minor == 11) {
        return i18n("the kernel log");
    }
    if (major == 13 || path.startsWith(QLatin1String("/dev/input/"))) {
        return i18n("an input device");
    }
    if (path.startsWith(QLatin1String("/dev/vfio/"))) {
        return i18n("a device passed through with VFIO");
    }
    if (major == 10 && minor == 232) {
        return i18n("the virtualization device (KVM)");
    }
    if (major == 10 && minor == 229) {
        return i18n("the FUSE device");
    }
    return i18n("a device");
}

/// Kernel objects behind anonymous inodes that CRIU cannot save.
QString kernelObjectDescription(const QString &target)
{
    if (target == QLatin1String("anon_inode:[io_uring]")) {
        return i18n("an io_uring instance");
    }
    if (target == QLatin1String("anon_inode:[perf_event]")) {
        return i18n("a performance counter (perf event)");
    }
    if (target.startsWith(QLatin1String("anon_inode:bpf")) || target.startsWith(QLatin1String("anon_inode:[bpf"))) {
        return i18n("a BPF program or map");
    }
    if (target.contains(QLatin1String("vfio"))) {
        return i18n("a device passed through with VFIO");
    }
    if (target.startsWith(QLatin1String("anon_inode:kvm"))) {
        return i18n("a KVM virtual machine");
    }
    if (target.startsWith(QLatin1String("/dmabuf:")) || target == QLatin1String("anon_inode:sync_file")) {
        return i18n("a graphics buffer shared with a device");
    }
    // CRIU saves these kernel objects behind anonymous inodes, and no other
    // (criu/files.c, dump_one_file).
    static const QStringList saved = {QStringLiteral("anon_inode:[eventfd]"),
                                      QStringLiteral("anon_inode:[eventpoll]"),
                                      QStringLiteral("anon_inode:inotify"),
                                      QStringLiteral("anon_inode:[fanotify]"),
                                      QStringLiteral("anon_inode:[signalfd]"),
                                      QStringLiteral("anon_inode:[timerfd]"),
                                      QStringLiteral("anon_inode:[pidfd]")};
    if (target.startsWith(QLatin1String("anon_inode:")) && !saved.contains(target)) {
        return i18n("a kernel object of a kind a snapshot cannot save");
    }
    return {};
}

/// The namespaces CRIU takes only as the whole tree's: a process whose
/// namespace of one of these kinds is not the cell's makes CRIU stop ("Can't
/// dump nested ipc namespace", criu/namespaces.c). Mount and network
/// namespaces it can take several of, but making them needs a nested user
/// namespace, which is named.
struct NamespaceKind {
    const char *entry; ///< in /proc/PID/ns
    QString name; ///< as a user would read it
};

QList<NamespaceKind> nestedNamespaceKinds()
{
    return {
        {"user", i18nc("@item namespace kind", "user")},
        {"pid", i18nc("@item namespace kind", "process ID (PID)")},
        {"ipc", i18nc("@item namespace kind", "IPC")},
        {"uts", i18nc("@item namespace kind", "host name (UTS)")},
        {"cgroup", i18nc("@item namespace kind", "cgroup")},
        {"time", i18nc("@item namespace kind", "time")},
        // Its children's time namespace: CRIU refuses one that differs too.
        {"time_for_children", i18nc("@item namespace kind", "time")},
    };
}

QString namespacePath(pid_t pid, const char *kind)
{
    return QStringLiteral("/proc/%1/ns/%2").arg(pid).arg(QLatin1String(kind));
}

/// The magic number of the mqueue file system (linux/magic.h).
constexpr unsigned long mqueueMagic = 0x19800202;

/// The mount ids in PID's mountinfo: the mounts its files may be on.
QSet<int> visibleMountIds(pid_t pid)
{
    QSet<int> ids;
    const auto lines = readProcFile(procPath(pid, "mountinfo")).split('\n');
    for (const QByteArray &line : lines) {
        bool numeric = false;
        const int id = line.left(line.indexOf(' ')).toInt(&numeric);
        if (numeric) {
            ids.insert(id);
        }
    }
    return ids;
}

/// The mount id of PID's descriptor FD (its fdinfo's mnt_id); -1 if unknown.
int mountIdOf(pid_t pid, const QString &fd)
{
    const auto lines = readProcFile(QStringLiteral("/proc/%1/fdinfo/%2").arg(pid).arg(fd)).split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("mnt_id:")) {
            bool numeric = false;
            const int id = line.mid(7).trimmed().toInt(&numeric);
            return numeric ? id : -1;
        }
    }
    return -1;
}

/// The mount id of what the magic link or path PATH leads to; -1 if unknown.
int mountIdOfPath(const QString &path)
{
    struct statx status{};
    if (::statx(AT_FDCWD, QFile::encodeName(path).constData(), 0, STATX_MNT_ID, &status) < 0 || !(status.stx_mask & STATX_MNT_ID)) {
        return -1;
    }
    return int(status.stx_mnt_id);
}

struct ProcessFacts {
    pid_t pid = 0;
    QString name;
};

/// The socket inodes PID holds right now.
QSet<quint32> socketsOf(pid_t pid)
{
    QSet<quint32> inodes;
    const QString fdDir = procPath(pid, "fd");
    const auto fds = directoryEntries(fdDir);
    for (const QString &fd : fds) {
        const QString target = readLink(fdDir + QLatin1Char('/') + fd);
        if (target.startsWith(QLatin1String("socket:["))) {
            inodes.insert(target.mid(8, target.size() - 9).toUInt());
        }
    }
    return inodes;
}

/// A process's session and controlling terminal, from /proc/PID/stat.
struct TerminalOfProcess {
    pid_t session = 0;
    dev_t terminal = 0; ///< 0: none
    pid_t foreground = 0; ///< the terminal's foreground process group
};

TerminalOfProcess terminalOf(pid_t pid)
{
    const auto stat = ProcessStat::read(pid);
    if (!stat) {
        return {};
    }
    // TTY_NR as the kernel encodes it (new_encode_dev), not as dev_t is.
    const unsigned int number = stat->terminal;
    const unsigned int major = (number >> 8) & 0xfff;
    const unsigned int minor = (number & 0xff) | ((number >> 12) & 0xfff00);
    return TerminalOfProcess{.session = stat->session, .terminal = number == 0 ? 0 : ::makedev(major, minor), .foreground = stat->terminalForeground};
}

/// The processes of the tree under ROOT in the order CRIU dumps them: a
/// process, then its children's trees, children as the kernel lists them
/// per thread (criu/proc_parse.c, parse_children).
QList<pid_t> dumpOrder(pid_t root)
{
    QList<pid_t> order;
    QSet<pid_t> seen;
    QList<pid_t> pending{root};
    while (!pending.isEmpty()) {
        const pid_t pid = pending.takeLast();
        if (seen.contains(pid)) {
            continue;
        }
        seen.insert(pid);
        order.append(pid);
        QList<pid_t> children;
        const QString tasks = procPath(pid, "task");
        const auto threads = directoryEntries(tasks);
        for (const QString &thread : threads) {
            const auto listed = readProcFile(tasks + QLatin1Char('/') + thread + QLatin1String("/children")).split(' ');
            for (const QByteArray &child : listed) {
                if (const pid_t childPid = child.trimmed().toInt(); childPid > 0) {
                    children.append(childPid);
                }
            }
        }
        // Last pushed, first taken: push them backwards.
        std::reverse(children.begin(), children.end());
        pending.append(children);
    }
    return order;
}

/// The descriptors of PID, in the order CRIU dumps them.
QList<int> descriptorsOf(pid_t pid)
{
    QList<int> fds;
    const auto entries = directoryEntries(procPath(pid, "fd"));
    for (const QString &entry : entries) {
        fds.append(entry.toInt());
    }
    std::sort(fds.begin(), fds.end());
    return fds;
}

/// The pty index of a ptmx descriptor ("tty-index:" of its fdinfo); -1 if unknown.
int ptyIndexOfMaster(pid_t pid, int fd)
{
    const auto lines = readProcFile(procPath(pid, "fdinfo/") + QString::number(fd)).split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("tty-index:")) {
            return line.mid(10).trimmed().toInt();
        }
    }
    return -1;
}

class Scanner
{
public:
    Scanner(pid_t init, const QList<pid_t> &endedBeforeSnapshot)
        : m_init(init)
        , m_endedBeforeSnapshot(endedBeforeSnapshot)
    {
    }

    Result<QList<Obstacle>> run()
    {
        const auto pids = processesOfCell(m_init);
        if (!pids) {
            return pids.error();
        }
        // Connections to these count as inside: they are closed before a dump.
        for (const pid_t pid : std::as_const(m_endedBeforeSnapshot)) {
            m_socketOwners.unite(socketsOf(pid));
        }
        for (const NamespaceKind &kind : nestedNamespaceKinds()) {
            m_cellNamespaces.insert(QLatin1String(kind.entry), namespaceInode(namespacePath(m_init, kind.entry)));
        }
        for (const pid_t pid : *pids) {
            scanProcess(ProcessFacts{.pid = pid, .name = processName(pid)});
        }
        checkTerminalInheritance(*pids);
        if (!m_sockets.isEmpty()) {
            auto checked = checkSockets();
            if (!checked) {
                return checked.error();
            }
        }
        return m_obstacles;
    }

private:
    void add(const ProcessFacts &process, const QString &resource, const QString &reason)
    {
        m_obstacles.append(Obstacle{.pid = process.pid, .processName = process.name, .resource = resource, .reason = reason});
    }

    void scanProcess(const ProcessFacts &process)
    {
        checkNamespaces(process);
        if (const pid_t tracer = tracerOf(process.pid); tracer > 0) {
            add(process,
                processName(tracer),
                i18n("%1 (pid %2) is being traced by %3 (pid %4), for example a debugger; a snapshot needs to trace it itself. Detach the debugger "
                     "first.",
                     process.name,
                     QString::number(process.pid),
                     processName(tracer),
                     QString::number(tracer)));
        }

        QSet<QString> devicesSeen;
        const QString fdDir = procPath(process.pid, "fd");
        const auto fds = directoryEntries(fdDir);
        for (const QString &fd : fds) {
            const QString link = fdDir + QLatin1Char('/') + fd;
            const QString target = readLink(link);
            if (target.startsWith(QLatin1String("socket:["))) {
                const quint32 inode = target.mid(8, target.size() - 9).toUInt();
                if (!m_socketOwners.contains(inode)) {
                    m_sockets.append({process, inode});
                    m_socketDescriptors.insert(inode, fd.toInt());
                }
                m_socketOwners.insert(inode);
                continue;
            }
            if (const QString kernelObject = kernelObjectDescription(target); !kernelObject.isEmpty()) {
                add(process,
                    target,
                    i18n("%1 (pid %2) uses %3 (%4), which a snapshot cannot save. Close the program before taking a snapshot.",
                         process.name,
                         QString::number(process.pid),
                         kernelObject,
                         target));
                continue;
            }
            struct stat status{};
            if (!target.startsWith(QLatin1Char('/')) || ::stat(QFile::encodeName(link).constData(), &status) < 0 || devicesSeen.contains(target)) {
                continue;
            }
            if ((S_ISREG(status.st_mode) || S_ISDIR(status.st_mode)) && !target.startsWith(QLatin1String("/memfd:"))
                && checkFileMount(process, fd, link, target)) {
                continue;
            }
            // As CRIU measures a ghost file: unlinked everywhere, by the blocks it holds.
            const qint64 held = qint64(status.st_blocks) * 512;
            if (target.endsWith(QLatin1String(" (deleted)")) && S_ISREG(status.st_mode) && status.st_nlink == 0 && held > CriuCheckpointer::ghostFileLimit) {
                addDeletedFile(process, target.chopped(10), held);
                continue;
            }
            if (const QString device = deviceDescription(target, status); !device.isEmpty()) {
                devicesSeen.insert(target);
                addDevice(process, target, device);
            }
        }

        // Device memory stays mapped after its file is closed (GPU buffers).
        const auto maps = readProcFile(procPath(process.pid, "maps")).split('\n');
        for (const QByteArray &line : maps) {
            const qsizetype slash = line.indexOf(" /dev/");
            if (slash < 0) {
                continue;
            }
            const QString path = QString::fromLocal8Bit(line.mid(slash + 1)).trimmed();
            if (path.startsWith(QLatin1String("/dev/shm/")) || path.startsWith(QLatin1String("/dev/zero")) || devicesSeen.contains(path)) {
                continue;
            }
            devicesSeen.insert(path);
            addDevice(process, path, path.startsWith(QLatin1String("/dev/dri/")) ? i18n("the graphics card (GPU)") : i18n("a device"));
        }
        checkPlacesOnUnseenMounts(process, maps);

        // The kernel maps this page of breakpoint code into a process once a
        // uprobe fired in it; CRIU refuses it ("has uprobes vma").
        const bool probed = std::any_of(maps.cbegin(), maps.cend(), [](const QByteArray &line) {
            return line.endsWith("[uprobes]");
        });
        if (probed) {
            add(process,
                QStringLiteral("[uprobes]"),
                i18n("%1 (pid %2) is being probed by a tracing tool (uprobes, as bpftrace, perf or a security monitor set them); a snapshot "
                     "cannot take the probes' breakpoints along. Stop the tracing tool, then restart the program, before taking a snapshot.",
                     process.name,
                     QString::number(process.pid)));
        }
    }

    /// CRIU saves /dev/tty only with the first process in its dump order
    /// that holds it, and only if the first pty end it dumped whose session
    /// and foreground process group are that process's session was dumped
    /// from that same process; otherwise it stops ("ctty inheritance
    /// detected", criu/tty.c, tty_verify_ctty). A terminal emulator holds
    /// the master of its shell's terminal and is dumped before the shell:
    /// a shell that keeps /dev/tty open (dash) stops the dump. bash opens
    /// /dev/tty only for a moment.
    void checkTerminalInheritance(const QList<pid_t> &cell)
    {
        struct PtyEnd {
            pid_t holder = 0;
            pid_t session = 0; ///< 0 where CRIU reads none
            pid_t foreground = 0;
        };
        QHash<pid_t, TerminalOfProcess> terminals;
        for (const pid_t pid : cell) {
            terminals.insert(pid, terminalOf(pid));
        }
        // The session and foreground group of the terminal DEVICE, as
        // TIOCGSID and TIOCGPGRP on its master tell them.
        const auto terminalState = [&terminals](dev_t device) {
            for (const TerminalOfProcess &terminal : std::as_const(terminals)) {
                if (terminal.terminal == device) {
                    return PtyEnd{.session = terminal.session, .foreground = terminal.foreground};
                }
            }
            return PtyEnd{};
        };

        pid_t ttyHolder = 0;
        QList<PtyEnd> ptyEnds;
        QSet<QPair<int, bool>> ptyEndsSeen; ///< by index, and whether master
        const auto order = dumpOrder(m_init);
        for (const pid_t pid : order) {
            const TerminalOfProcess own = terminals.contains(pid) ? terminals.value(pid) : terminalOf(pid);
            const auto fds = descriptorsOf(pid);
            for (const int fd : fds) {
                struct stat status{};
                if (::stat(QFile::encodeName(procPath(pid, "fd/") + QString::number(fd)).constData(), &status) < 0 || !S_ISCHR(status.st_mode)) {
                    continue;
                }
                const unsigned int major = ::major(status.st_rdev);
                const unsigned int minor = ::minor(status.st_rdev);
                if (major == 5 && minor == 0) {
                    ttyHolder = ttyHolder == 0 ? pid : ttyHolder;
                    continue;
                }
                const bool master = major == 5 && minor == 2;
                const bool slave = major >= 136 && major <= 143;
                const int index = master ? ptyIndexOfMaster(pid, fd) : int((major - 136) * 256 + minor);
                if ((!master && !slave) || index < 0 || ptyEndsSeen.contains({index, master})) {
                    continue;
                }
                ptyEndsSeen.insert({index, master});
                PtyEnd end;
                if (master) {
                    end = terminalState(::makedev(136 + index / 256, index % 256));
                } else if (own.terminal == status.st_rdev) {
                    // A slave tells its session only to a process it controls.
                    end = PtyEnd{.session = own.session, .foreground = own.foreground};
                }
                end.holder = pid;
                ptyEnds.append(end);
            }
        }
        if (ttyHolder == 0) {
            return;
        }
        const TerminalOfProcess holderTerminal = terminalOf(ttyHolder);
        const pid_t session = holderTerminal.terminal != 0 ? holderTerminal.session : 0;
        const auto peer = std::find_if(ptyEnds.cbegin(), ptyEnds.cend(), [session](const PtyEnd &end) {
            return end.session == session && end.foreground == session;
        });
        if (peer != ptyEnds.cend() && peer->holder == ttyHolder) {
            return;
        }
        const ProcessFacts process{.pid = ttyHolder, .name = processName(ttyHolder)};
        if (peer != ptyEnds.cend()) {
            add(process,
                QStringLiteral("/dev/tty"),
                i18n("%1 (pid %2) keeps its terminal's /dev/tty open (the shell dash does so), and its terminal belongs to %3 (pid %4); a snapshot "
                     "cannot take that /dev/tty along. Use bash as the terminal's shell, or close the program before taking a snapshot.",
                     process.name,
                     QString::number(process.pid),
                     processName(peer->holder),
                     QString::number(peer->holder)));
            return;
        }
        add(process,
            QStringLiteral("/dev/tty"),
            i18n("%1 (pid %2) keeps its terminal's /dev/tty open (the shell dash does so) while another program runs in the terminal's foreground, or "
                 "while it has no terminal of the session; a snapshot cannot take that /dev/tty along. Use bash as the terminal's shell, or close the "
                 "program before taking a snapshot.",
                 process.name,
                 QString::number(process.pid)));
    }

    /// The working directory and mapped files on a mount the process does
    /// not see: CRIU looks them up by mount as it does open files.
    void checkPlacesOnUnseenMounts(const ProcessFacts &process, const QList<QByteArray> &maps)
    {
        const QString workingDirectory = procPath(process.pid, "cwd");
        if (!mountSeenBy(process, mountIdOfPath(workingDirectory))) {
            const QString path = readLink(workingDirectory);
            add(process,
                path,
                i18n("%1 (pid %2) has its working directory %3 on a file system that is not mounted in the session (it came from outside, "
                     "or its mount was removed); a snapshot cannot find it again. Close the program before taking a snapshot.",
                     process.name,
                     QString::number(process.pid),
                     path));
        }
        QSet<QByteArray> filesSeen;
        for (const QByteArray &line : maps) {
            // "START-END PERMS OFFSET DEV INODE PATH"; the path may hold spaces.
            QList<QByteArray> fields;
            qsizetype at = 0;
            while (fields.size() < 5 && at < line.size()) {
                const qsizetype end = line.indexOf(' ', at);
                fields.append(line.mid(at, end < 0 ? -1 : end - at));
                at = end < 0 ? line.size() : end + 1;
                while (at < line.size() && line[at] == ' ') {
                    ++at;
                }
            }
            const QByteArray path = line.mid(at);
            if (fields.size() < 5 || !path.startsWith('/') || fields[4] == "0") {
                continue;
            }
            // The kernel's own mounts that CRIU knows: shared anonymous and
            // SysV memory, memfd, aio rings; devices are named above.
            static const QList<QByteArray> kernelOwn = {"/dev/", "/memfd:", "/SYSV", "/[aio]", "/drm mm object", "/dmabuf:"};
            const bool known = std::any_of(kernelOwn.cbegin(), kernelOwn.cend(), [&path](const QByteArray &prefix) {
                return path.startsWith(prefix);
            });
            const QByteArray file = fields[3] + ' ' + fields[4];
            if (known || filesSeen.contains(file)) {
                continue;
            }
            filesSeen.insert(file);
            const QString mapped = procPath(process.pid, "map_files/") + QString::fromLatin1(fields[0]);
            if (!mountSeenBy(process, mountIdOfPath(mapped))) {
                const QString name = QString::fromLocal8Bit(path).trimmed();
                add(process,
                    name,
                    i18n("%1 (pid %2) has the file %3 mapped into its memory, on a file system that is not mounted in the session (it came from "
                         "outside, or its mount was removed); a snapshot cannot find it again. Close the program before taking a snapshot.",
                         process.name,
                         QString::number(process.pid),
                         name));
            }
        }
    }

    /// Whether the mount MOUNTID is in the mount table of the process; a
    /// mount that is not known (-1) counts as seen.
    bool mountSeenBy(const ProcessFacts &process, int mountId)
    {
        if (mountId < 0) {
            return true;
        }
        const ino_t mountNamespace = namespaceInode(procPath(process.pid, "ns/mnt"));
        auto mounts = m_visibleMounts.find(mountNamespace);
        if (mounts == m_visibleMounts.end()) {
            mounts = m_visibleMounts.insert(mountNamespace, visibleMountIds(process.pid));
        }
        return mounts->isEmpty() || mounts->contains(mountId);
    }

    /// CRIU takes pid, ipc, uts, user, cgroup and time namespaces only as
    /// the whole cell's: a process in one of its own stops the dump.
    void checkNamespaces(const ProcessFacts &process)
    {
        QStringList nested;
        for (const NamespaceKind &kind : nestedNamespaceKinds()) {
            const ino_t cell = m_cellNamespaces.value(QLatin1String(kind.entry));
            const ino_t own = namespaceInode(namespacePath(process.pid, kind.entry));
            // 0: the kernel has no such namespaces, or the process just ended.
            if (cell != 0 && own != 0 && own != cell && !nested.contains(kind.name)) {
                nested.append(kind.name);
            }
        }
        if (nested.isEmpty()) {
            return;
        }
        const QString kinds = nested.join(i18nc("@item separator of namespace kinds", ", "));
        // Sandboxed processes have names of their own ("Socket Process"):
        // the program they run tells which application they belong to.
        const QString program = QFileInfo(readLink(procPath(process.pid, "exe")).remove(QLatin1String(" (deleted)"))).fileName();
        if (!program.isEmpty() && program != process.name) {
            add(process,
                i18n("%1 namespaces", kinds),
                i18n("%1 (pid %2), a process of %3, runs in namespaces of its own inside the session (%4), as the sandboxes of web browsers make "
                     "them for their content processes; a snapshot can save only the session's own namespaces. Close the program, or start it so "
                     "that it makes no namespaces (for Firefox: MOZ_ASSUME_USER_NS=0 in its environment).",
                     process.name,
                     QString::number(process.pid),
                     program,
                     kinds));
            return;
        }
        add(process,
            i18n("%1 namespaces", kinds),
            i18n("%1 (pid %2) runs in namespaces of its own inside the session (%3), as the sandboxes of web browsers make them for their content "
                 "processes; a snapshot can save only the session's own namespaces. Close the program, or start it so that it makes no "
                 "namespaces (for Firefox: MOZ_ASSUME_USER_NS=0 in its environment).",
                 process.name,
                 QString::number(process.pid),
                 kinds));
    }

    /// CRIU reopens files by path on a mount the process sees; a file on a
    /// mount it does not see stops the dump ("Can't lookup mount"): a POSIX
    /// message queue (on the kernel's own mqueue mount), or a file handed
    /// in from outside the session. True if it was named.
    bool checkFileMount(const ProcessFacts &process, const QString &fd, const QString &link, const QString &target)
    {
        if (mountSeenBy(process, mountIdOf(process.pid, fd))) {
            return false;
        }
        struct statfs fileSystem{};
        const QString path = target.endsWith(QLatin1String(" (deleted)")) ? target.chopped(10) : target;
        if (::statfs(QFile::encodeName(link).constData(), &fileSystem) == 0 && static_cast<unsigned long>(fileSystem.f_type) == mqueueMagic) {
            add(process,
                path,
                i18n("%1 (pid %2) uses the POSIX message queue %3, which a snapshot cannot save. Close the program before taking a snapshot.",
                     process.name,
                     QString::number(process.pid),
                     path));
            return true;
        }
        add(process,
            path,
            i18n("%1 (pid %2) holds the file %3 open on a file system that is not mounted in the session (it came from outside, or its mount "
                 "was removed); a snapshot cannot reopen it. Close the file or the program before taking a snapshot.",
                 process.name,
                 QString::number(process.pid),
                 path));
        return true;
    }

    void addDeletedFile(const ProcessFacts &process, const QString &path, qint64 size)
    {
        const KFormat format;
        add(process,
            path,
            i18n("%1 (pid %2) holds the deleted file %3 of %4 open; a snapshot takes deleted files along up to %5 only. Close the file or the program "
                 "before taking a snapshot.",
                 process.name,
                 QString::number(process.pid),
                 path,
                 format.formatByteSize(double(size)),
                 format.formatByteSize(double(CriuCheckpointer::ghostFileLimit))));
    }

    void addDevice(const ProcessFacts &process, const QString &path, const QString &device)
    {
        add(process,
            path,
            i18n("%1 (pid %2) is using %3 (%4); a snapshot cannot save or restore the state of a device. Close the program before taking a snapshot.",
                 process.name,
                 QString::number(process.pid),
                 device,
                 path));
    }

    /// Socket inodes the cell's processes hold right now.
    QSet<quint32> currentSocketOwners() const
    {
        QSet<quint32> owners;
        const auto pids = processesOfCell(m_init);
        for (const pid_t pid : pids.ok() ? *pids : QList<pid_t>()) {
            owners.unite(socketsOf(pid));
        }
        for (const pid_t pid : std::as_const(m_endedBeforeSnapshot)) {
            owners.unite(socketsOf(pid));
        }
        return owners;
    }

    Result<void> checkSockets()
    {
        // TCP connections are no obstacle: the cell's network namespace is
        // its own, and a restore brings back those inside it established and
        // those to the outside closed (CellNetworkNamespace).
        auto sockets = unixSockets(m_init);
        if (!sockets) {
            return sockets.error();
        }
        checkQueuedCredentials(*sockets);
        checkSocketFamilies(*sockets);
        const auto connectedOutside = [&](quint32 inode) {
            const auto found = sockets->constFind(inode);
            // not a unix socket, not connected, or connected within the cell
            return found != sockets->cend() && found->peer != 0 && !m_socketOwners.contains(found->peer);
        };
        // The processes were read one after the other: a server of the cell may
        // have accepted a connection after its fds were read and before its
        // client's were. Such a peer shows up when everything is read again;
        // a connection that really leads outside does not.
        bool anyOutside = false;
        for (const auto &use : std::as_const(m_sockets)) {
            anyOutside = anyOutside || connectedOutside(use.inode);
        }
        if (anyOutside) {
            m_socketOwners.unite(currentSocketOwners());
            sockets = unixSockets(m_init);
            if (!sockets) {
                return sockets.error();
            }
        }
        for (const auto &[process, inode] : std::as_const(m_sockets)) {
            if (!connectedOutside(inode)) {
                continue;
            }
            const auto found = sockets->constFind(inode);
            QString path = sockets->value(found->peer).name;
            if (path.isEmpty()) {
                path = found->name; // the cell's end of a connection from outside
            }
            if (path.isEmpty()) {
                add(process,
                    QStringLiteral("socket:[%1]").arg(inode),
                    i18n("%1 (pid %2) is connected to a program outside the session through an unnamed socket; a snapshot cannot take that connection "
                         "along. Close the program or run it inside the session.",
                         process.name,
                         QString::number(process.pid)));
                continue;
            }
            add(process,
                path,
                i18n("%1 (pid %2) is connected to %3 (%4); a snapshot cannot take that connection along. Close the program or run it inside the session.",
                     process.name,
                     QString::number(process.pid),
                     peerDescription(path),
                     path));
        }
        return {};
    }

    /// A unix socket that asks for its senders' credentials or pidfds
    /// (SO_PASSCRED, SO_PASSPIDFD, SO_PASSSEC) and holds unread messages:
    /// CRIU reads its queue with those attached and stops ("Control
    /// messages in queue, not supported", criu/sk-queue.c).
    void checkQueuedCredentials(const QHash<quint32, UnixSocket> &sockets)
    {
        for (const SocketUse &use : std::as_const(m_sockets)) {
            const auto found = sockets.constFind(use.inode);
            const int fd = m_socketDescriptors.value(use.inode, -1);
            if (found == sockets.cend() || found->unread == 0 || !asksForCredentials(use.process.pid, fd)) {
                continue;
            }
            add(use.process,
                QStringLiteral("socket:[%1]").arg(use.inode),
                i18n("%1 (pid %2) has unread messages on a socket that receives its senders' credentials with them (descriptor %3); a snapshot "
                     "cannot save such messages. Take the snapshot again in a moment, when the program has read them.",
                     use.process.name,
                     QString::number(use.process.pid),
                     QString::number(fd)));
        }
    }

    /// CRIU saves unix, IPv4, IPv6, packet and netlink sockets, and stops at
    /// any other ("Unknown socket collected", criu/sockets.c).
    void checkSocketFamilies(const QHash<quint32, UnixSocket> &unixSockets)
    {
        for (const SocketUse &use : std::as_const(m_sockets)) {
            if (unixSockets.contains(use.inode)) {
                continue;
            }
            const UniqueFd socket = duplicateOf(use.process.pid, m_socketDescriptors.value(use.inode, -1));
            int family = AF_UNSPEC;
            socklen_t length = sizeof family;
            if (!socket || ::getsockopt(socket.get(), SOL_SOCKET, SO_DOMAIN, &family, &length) < 0) {
                continue;
            }
            if (family == AF_INET || family == AF_INET6) {
                checkNetworkProtocol(use.process, use.inode, socket.get());
                continue;
            }
            if (family == AF_UNIX || family == AF_PACKET || family == AF_NETLINK) {
                continue;
            }
            add(use.process,
                QStringLiteral("socket:[%1]").arg(use.inode),
                i18n("%1 (pid %2) uses %3, a kind of socket a snapshot cannot save. Close the program before taking a snapshot.",
                     use.process.name,
                     QString::number(use.process.pid),
                     socketFamilyDescription(family)));
        }
    }

    /// CRIU saves IPv4 and IPv6 sockets of TCP, UDP, UDP-Lite and ICMP,
    /// and raw ones ("Unsupported proto 262 for socket", criu/sk-inet.c):
    /// Go programs make MPTCP listeners by default.
    void checkNetworkProtocol(const ProcessFacts &process, quint32 inode, int socket)
    {
        int type = 0;
        int protocol = 0;
        socklen_t length = sizeof type;
        if (::getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &length) < 0) {
            return;
        }
        length = sizeof protocol;
        if (::getsockopt(socket, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) < 0 || type == SOCK_RAW) {
            return;
        }
        const bool savedType = type == SOCK_STREAM || type == SOCK_DGRAM;
        const bool savedProtocol = protocol == IPPROTO_IP || protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE
            || protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
        if (savedType && savedProtocol) {
            return;
        }
        const QString resource = QStringLiteral("socket:[%1]").arg(inode);
        if (protocol == IPPROTO_MPTCP) {
            add(process,
                resource,
                i18n("%1 (pid %2) uses a Multipath TCP (MPTCP) socket, which a snapshot cannot save. Close the program, or start it with plain "
                     "TCP (Go programs: GODEBUG=multipathtcp=0 in their environment).",
                     process.name,
                     QString::number(process.pid)));
            return;
        }
        add(process,
            resource,
            i18n("%1 (pid %2) uses a network socket of protocol %3, which a snapshot cannot save (it saves TCP, UDP and ICMP). Close the "
                 "program before taking a snapshot.",
                 process.name,
                 QString::number(process.pid),
                 protocol == IPPROTO_SCTP ? QStringLiteral("SCTP") : QString::number(protocol)));
    }

    static QString socketFamilyDescription(int family)
    {
        switch (family) {
        case AF_ALG:
            return i18n("a socket of the kernel's cryptography interface (AF_ALG)");
        case AF_BLUETOOTH:
            return i18n("a Bluetooth socket");
        case AF_VSOCK:
            return i18n("a socket to a virtual machine or its host (AF_VSOCK)");
        case AF_CAN:
            return i18n("a CAN bus socket");
        default:
            return i18n("a socket of address family %1", QString::number(family));
        }
    }

    /// A duplicate of descriptor FD of process PID, to look at what it is.
    static UniqueFd duplicateOf(pid_t pid, int fd)
    {
        if (fd < 0) {
            return UniqueFd();
        }
        const UniqueFd process(int(::syscall(SYS_pidfd_open, pid, 0)));
        return UniqueFd(process ? int(::syscall(SYS_pidfd_getfd, process.get(), fd, 0)) : -1);
    }

    /// Whether socket FD of PID has SO_PASSCRED, SO_PASSPIDFD or SO_PASSSEC set.
    static bool asksForCredentials(pid_t pid, int fd)
    {
        const UniqueFd socket = duplicateOf(pid, fd);
        if (!socket) {
            return false;
        }
        constexpr int passPidfd = 76; // SO_PASSPIDFD, Linux 6.5
        for (const int option : {SO_PASSCRED, SO_PASSSEC, passPidfd}) {
            int value = 0;
            socklen_t length = sizeof value;
            if (::getsockopt(socket.get(), SOL_SOCKET, option, &value, &length) == 0 && value != 0) {
                return true;
            }
        }
        return false;
    }

    struct SocketUse {
        ProcessFacts process;
        quint32 inode = 0;
    };

    pid_t m_init;
    QList<pid_t> m_endedBeforeSnapshot;
    QList<Obstacle> m_obstacles;
    QList<SocketUse> m_sockets;
    QSet<quint32> m_socketOwners;
    QHash<quint32, int> m_socketDescriptors; ///< a socket's descriptor in the process of its SocketUse
    QHash<QString, ino_t> m_cellNamespaces; ///< by /proc/PID/ns entry
    QHash<ino_t, QSet<int>> m_visibleMounts; ///< by mount namespace
};

} // namespace

Result<QList<Obstacle>> CheckpointabilityScan::scan(pid_t cellInitPid, const QList<pid_t> &endedBeforeSnapshot)
{
    if (cellInitPid <= 0) {
        return Error{i18n("There is no session to scan.")};
    }
    return Scanner(cellInitPid, endedBeforeSnapshot).run();
}

Result<QList<pid_t>> CheckpointabilityScan::cellProcesses(pid_t cellInitPid)
{
    return processesOfCell(cellInitPid);
}

QString CheckpointabilityScan::describe(const QList<Obstacle> &obstacles)
{
    if (obstacles.isEmpty()) {
        return {};
    }
    QStringList lines{
        i18np("The session cannot be snapshotted because of one problem:", "The session cannot be snapshotted because of %1 problems:", obstacles.size())};
    for (const Obstacle &obstacle : obstacles) {
        lines.append(QStringLiteral("• ") + obstacle.reason);
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace Rewind
