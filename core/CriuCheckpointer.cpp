// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuCheckpointer.h"

#include "CellIds.h"
#include "CellNetworkNamespace.h"
#include "CgroupFiles.h"
#include "CriuImageFiles.h"
#include "CriuImageFrame.h"
#include "MountTable.h"
#include "NestedNamespaces.h"
#include "RestoreFixups.h"
#include "RewindPaths.h"
#include "UniqueFd.h"

#include <KLocalizedString>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QScopeGuard>
#include <QStringList>

#include <criu/criu.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <memory>
#include <mutex>
#include <optional>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace Rewind
{
namespace
{

struct CriuOptionsDeleter {
    void operator()(criu_opts *options) const
    {
        criu_local_free_opts(options);
    }
};
using CriuOptions = std::unique_ptr<criu_opts, CriuOptionsDeleter>;

} // namespace

const QByteArray &CriuCheckpointer::binary()
{
    static const QByteArray binary = [] {
        for (const char *candidate : {"/usr/sbin/criu", "/usr/bin/criu", "/usr/local/sbin/criu"}) {
            struct stat status;
            if (::stat(candidate, &status) == 0 && S_ISREG(status.st_mode) && ::access(candidate, X_OK) == 0) {
                return QByteArray(candidate);
            }
        }
        return QByteArray();
    }();
    return binary;
}

namespace
{

constexpr unsigned int seizeTimeLimitSeconds = 60;

// Errors and warnings, as plain criu logs by default: a failure's details
// are CRIU's error lines (criuLogErrors). At debug level (4) CRIU writes
// lines for every mapping, file and thread while the session is frozen:
// about 0.2 s more of a Firefox session's 2 s freeze.
constexpr int criuLogLevel = 2;

/// CRIU archives the contents of a cell's tmpfs mounts with tar, and tar runs
/// "gzip": Rewind's, which stores instead of compressing while the session
/// is frozen (criutools/gzip.cpp), comes first in the PATH CRIU inherits.
void putRewindToolsFirstInPath()
{
    static std::once_flag once;
    std::call_once(once, [] {
        const QString gzip = RewindPaths::findProgram(QStringLiteral("rewind-criu-tools/gzip"));
        if (gzip.isEmpty()) {
            qWarning("rewind: rewind-criu-tools/gzip is missing, so CRIU compresses tmpfs contents while sessions are frozen");
            return;
        }
        const QByteArray directory = QFile::encodeName(QFileInfo(gzip).absolutePath());
        const QByteArray path = qgetenv("PATH");
        qputenv("PATH", directory + ':' + (path.isEmpty() ? QByteArrayLiteral("/usr/sbin:/usr/bin:/sbin:/bin") : path));
    });
}

Result<CriuOptions> makeOptions(int imagesDirFd, const char *logName)
{
    if (CriuCheckpointer::binary().isEmpty()) {
        return Error{i18n("Could not start CRIU. Is the criu package (version 4.2 or newer) installed?")};
    }
    putRewindToolsFirstInPath();
    criu_opts *raw = nullptr;
    if (criu_local_init_opts(&raw) != 0) {
        return Error{i18n("Could not prepare a CRIU request (out of memory).")};
    }
    CriuOptions options(raw);
    criu_local_set_service_binary(options.get(), CriuCheckpointer::binary().constData());
    if (imagesDirFd >= 0) {
        criu_local_set_images_dir_fd(options.get(), imagesDirFd);
        criu_local_set_log_file(options.get(), logName);
        criu_local_set_log_level(options.get(), criuLogLevel);
    }
    // Desktop apps, sqlite and browsers hold file locks; without this CRIU refuses them.
    criu_local_set_file_locks(options.get(), true);
    // CRIU gives seizing the tree 10 s by default, which a busy machine can
    // take; the cell is frozen already, and CriuWatchdog bounds the whole run.
    criu_local_set_timeout(options.get(), seizeTimeLimitSeconds);
    // The cell's network namespace is its own; CRIU takes its sockets, not
    // its devices, addresses and routes: those are the way out's
    // (CellNetwork), which is no part of a snapshot. A restore gets a fresh
    // namespace owned by the restored user namespace (CellNetworkNamespace).
    criu_local_set_empty_ns(options.get(), CLONE_NEWNET);
    // Connections, with both ends in the cell (loopback) or not, are dumped
    // and restored established; a restore then aborts those to the outside,
    // whose other end knows nothing of the restored copy.
    criu_local_set_tcp_established(options.get(), true);
    // A connection still waiting in a listener's queue (a busy local server)
    // is left out rather than refusing the whole snapshot: its client sees a
    // reset after a restore, as when a server drops a connection it never
    // accepted. The scan cannot predict such connections, they come and go.
    criu_local_set_tcp_skip_in_flight(options.get(), true);
    return options;
}

/// The last error lines CRIU wrote to its log, which say why it failed.
QString criuLogErrors(int imagesDirFd, const char *logName)
{
    UniqueFd log(::openat(imagesDirFd, logName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!log) {
        return {};
    }
    QByteArray content;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(log.get(), buffer, sizeof buffer)) > 0) {
        content.append(buffer, n);
        if (content.size() > 4 * 1024 * 1024) {
            content = content.right(1024 * 1024);
        }
    }
    QStringList errors;
    const auto lines = content.split('\n');
    for (const QByteArray &line : lines) {
        // Not the cause: CRIU's probes of the kernel, and a limit it cannot
        // raise for itself where root lacks CAP_SYS_RESOURCE.
        if (line.contains("rlimit: Can't setup RLIMIT_NOFILE for self") || line.contains("tun: Unable to create tun")) {
            continue;
        }
        if (line.contains("Error (") || line.contains("BUG at")) {
            errors.append(QString::fromUtf8(line.trimmed()));
        }
    }
    // The first error is the cause, the last what CRIU made of it.
    if (errors.size() > 4) {
        errors = errors.mid(0, 3) + errors.mid(errors.size() - 1);
    }
    return errors.join(QLatin1Char('\n'));
}

QString describeFailure(int code)
{
    switch (-code) {
    case EBADE:
        return i18n("CRIU reported a failure.");
    case ECONNREFUSED:
        return i18n("Could not start CRIU. Is the criu package (version 4.2 or newer) installed?");
    case ECOMM:
        return i18n("Lost contact with CRIU while it was working.");
    case EINVAL:
        return i18n("CRIU rejected the request as invalid.");
    default:
        return i18n("CRIU failed: %1", QString::fromLocal8Bit(strerror(-code)));
    }
}

Result<void> addExternalMounts(criu_opts *options, const QStringList &mountPoints)
{
    for (const QString &mountPoint : mountPoints) {
        const QByteArray path = mountPoint.toLocal8Bit();
        // The mount point is its own key.
        if (criu_local_add_ext_mount(options, path.constData(), path.constData()) != 0) {
            return Error{i18n("Could not prepare a CRIU request (out of memory).")};
        }
    }
    return {};
}

/// The restored tree's root and the sources of its external mounts, made in
/// a private mount namespace of the calling thread (see RestoreMounts::make).
struct RestoreMounts {
    QByteArray root;
    QList<QPair<QByteArray, QByteArray>> externalSources; ///< mount point, what CRIU binds there

    /// A cell's mounts are copied into its user namespace, where they are
    /// locked together, and CRIU cannot bind a tree of them ("Unable to mount
    /// /proc/self/fd/N: Invalid argument"): the root is a bind of "/" without
    /// its submounts, each external mount a bind of its own without
    /// submounts. They live on a tmpfs over /tmp in a mount namespace only
    /// this thread (and the criu it forks) has: nothing shows on the host,
    /// and everything goes when they end. /tmp, because the restored tree's
    /// root task, the cell's root, opens them itself and must be able to
    /// reach them; the images it reads through a descriptor.
    static Result<RestoreMounts> make(const QStringList &externalMounts)
    {
        const QByteArray directory = "/tmp";
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            return Error{i18n("Cannot make a private mount namespace for the restore: %1", QString::fromLocal8Bit(std::strerror(errno)))};
        }
        if (::mount("rewind-restore", directory.constData(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711") != 0) {
            return Error{i18n("Cannot prepare the mounts of the restore: %1", QString::fromLocal8Bit(std::strerror(errno)))};
        }
        RestoreMounts mounts;
        mounts.root = directory + "/root";
        if (auto bound = bind("/", mounts.root); !bound) {
            return bound.error();
        }
        for (qsizetype i = 0; i < externalMounts.size(); ++i) {
            const QByteArray mountPoint = QFile::encodeName(externalMounts[i]);
            const QByteArray source = directory + "/external-" + QByteArray::number(i);
            if (auto bound = bind(mountPoint, source); !bound) {
                return bound.error();
            }
            mounts.externalSources.append({mountPoint, source});
        }
        return mounts;
    }

private:
    /// Binds the mount at FROM, reached without following a link (a user
    /// may have replaced a directory on the way since the snapshot), and
    /// only if it still is a mount, as it was when the snapshot was taken.
    static Result<void> bind(const QByteArray &from, const QByteArray &to)
    {
        open_how how{};
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        const UniqueFd source(int(::syscall(SYS_openat2, AT_FDCWD, from.constData(), &how, sizeof how)));
        struct statx what{};
        if (!source || ::statx(source.get(), "", AT_EMPTY_PATH, STATX_TYPE, &what) != 0 || !(what.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
            || !(what.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
            return Error{i18n("The snapshot needs %1 mounted, and it is not there (or is reached through a link).", QFile::decodeName(from))};
        }
        const bool made = S_ISDIR(what.stx_mode) ? ::mkdir(to.constData(), 0700) == 0
                                                 : UniqueFd(::open(to.constData(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)).valid();
        const QByteArray sourcePath = "/proc/self/fd/" + QByteArray::number(source.get());
        if (!made || ::mount(sourcePath.constData(), to.constData(), nullptr, MS_BIND, nullptr) != 0) {
            return Error{i18n("Cannot bind %1 for the restore: %2", QFile::decodeName(from), QString::fromLocal8Bit(std::strerror(errno)))};
        }
        return {};
    }
};

/// The restored tree's root task reads its images itself, first as host
/// root without capabilities (before CRIU maps its user namespace), then as
/// the cell's root (CellIds::root): the images directory may be searched and
/// its files read by others, and the memory images (pages-*.img) belong to
/// the cell's root, which punches out what it has read. The directories
/// above it stay root's alone, and the task reaches it through a descriptor
/// only.
Result<void> shareImagesWithCellRoot(int imagesDirFd)
{
    bool shared = ::fchmod(imagesDirFd, 0711) == 0;
    const bool listed = CriuImageFrame::forEachEntry(imagesDirFd, [&](const dirent &entry) {
        if (entry.d_type != DT_REG) {
            return;
        }
        shared = shared && ::fchmodat(imagesDirFd, entry.d_name, 0644, 0) == 0;
        if (std::strncmp(entry.d_name, "pages-", 6) == 0) {
            shared = shared && ::fchownat(imagesDirFd, entry.d_name, CellIds::root, CellIds::rootGroup, AT_SYMLINK_NOFOLLOW) == 0;
        }
    });
    if (!listed) {
        return Error{i18n("Cannot read the snapshot's images: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    if (!shared) {
        return Error{i18n("Cannot hand the snapshot's images to the cell: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    return {};
}

/// Where the cgroup v2 hierarchy this process sees is mounted, and the root
/// of the hierarchy that mount shows; empty without one.
struct Cgroup2Mount {
    QString mountPoint;
    QString root;
};

QList<Cgroup2Mount> cgroup2Mounts()
{
    QList<Cgroup2Mount> result;
    auto mounts = MountTable::read(::getpid());
    if (mounts) {
        for (const MountEntry &mount : std::as_const(*mounts)) {
            if (mount.fsType == QLatin1String("cgroup2")) {
                result.append({mount.mountPoint, mount.root});
            }
        }
    }
    return result;
}

/// path below directory (or directory itself), as path names, with no "..".
bool isBelow(const QString &path, const QString &directory)
{
    if (QDir::cleanPath(path) != path) {
        return false;
    }
    return directory == QLatin1String("/") || path == directory || path.startsWith(directory + QLatin1Char('/'));
}

/// Moves the calling process into a cgroup and, with leave(), back where it
/// was. The restored tree is forked from criu swrk, our child, so it starts
/// in the cell's cgroup instead of being moved there once it runs.
class CgroupVisit
{
public:
    static Result<CgroupVisit> enter(const QString &cgroup)
    {
        QFile own(QStringLiteral("/proc/self/cgroup"));
        if (!own.open(QIODevice::ReadOnly)) {
            return Error{i18n("Cannot read this process's cgroup.")};
        }
        QString home;
        const auto lines = own.readAll().split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("0::")) {
                home = QString::fromUtf8(line.mid(3));
            }
        }
        // The cgroup2 mount holding the target; the deepest one if several do.
        Cgroup2Mount hierarchy;
        const auto mounts = cgroup2Mounts();
        for (const Cgroup2Mount &mount : mounts) {
            if (isBelow(cgroup, mount.mountPoint) && cgroup != mount.mountPoint && mount.mountPoint.size() >= hierarchy.mountPoint.size()) {
                hierarchy = mount;
            }
        }
        if (home.isEmpty() || hierarchy.mountPoint.isEmpty()) {
            return Error{i18n("Restoring needs a cgroup v2 hierarchy that holds %1.", cgroup)};
        }
        // /proc/self/cgroup names the cgroup from the root of the hierarchy; the mount may show a part of it.
        if (!isBelow(home, hierarchy.root)) {
            return Error{i18n("This process's cgroup %1 is not visible below %2.", home, hierarchy.mountPoint)};
        }
        const QString relative = hierarchy.root == QLatin1String("/") ? home : home.mid(hierarchy.root.size());
        CgroupVisit visit;
        visit.m_home = QDir::cleanPath(hierarchy.mountPoint + QLatin1Char('/') + relative);
        visit.m_fallback = hierarchy.mountPoint;
        if (!move(cgroup)) {
            return Error{i18n("Cannot enter the session's cgroup %1.", cgroup)};
        }
        visit.m_active = true;
        return visit;
    }
    CgroupVisit() = default;
    CgroupVisit(CgroupVisit &&other) noexcept
        : m_home(other.m_home)
        , m_fallback(other.m_fallback)
        , m_active(std::exchange(other.m_active, false))
    {
    }
    ~CgroupVisit()
    {
        if (auto left = leave(); !left) {
            qCritical("%s", qPrintable(left.errorMessage()));
        }
    }

    /// Back to the cgroup this process came from, or at least out of the
    /// session's (to the root of the hierarchy). Failing that is an error:
    /// this process must not stay in a cgroup that is frozen and killed.
    Result<void> leave()
    {
        if (!std::exchange(m_active, false)) {
            return {};
        }
        if (move(m_home) || move(m_fallback)) {
            return {};
        }
        return Error{i18n("Could not leave the session's cgroup after the restore: neither %1 nor %2 took this process back.", m_home, m_fallback)};
    }

private:
    static bool move(const QString &cgroup)
    {
        QFile procs(cgroup + QStringLiteral("/cgroup.procs"));
        return procs.open(QIODevice::WriteOnly) && procs.write(QByteArray::number(::getpid())) > 0 && procs.flush();
    }
    QString m_home;
    QString m_fallback;
    bool m_active = false;
};

/// Moves the calling thread into cgroup v1 directories and, with leave(),
/// back where it was. In a cgroup v1 hierarchy a thread moves alone (its
/// tid in "tasks") and the processes it forks are born where it is: the
/// restore's own thread enters the cell's directories, so that criu swrk and
/// the restored tree start inside the cell's limits, and the rest of the
/// calling process stays outside them.
class ThreadCgroupVisit
{
public:
    static Result<ThreadCgroupVisit> enter(const QStringList &directories)
    {
        ThreadCgroupVisit visit;
        if (directories.isEmpty()) {
            return visit;
        }
        auto mounts = MountTable::read(::getpid());
        if (!mounts) {
            return mounts.error();
        }
        QFile own(QStringLiteral("/proc/thread-self/cgroup"));
        if (!own.open(QIODevice::ReadOnly)) {
            return Error{i18n("Cannot read this process's cgroup.")};
        }
        const auto lines = own.readAll().split('\n');
        for (const QString &directory : directories) {
            // The v1 hierarchy holding the directory, and where this thread is in it.
            const MountEntry *hierarchy = nullptr;
            for (const MountEntry &mount : std::as_const(*mounts)) {
                if (mount.fsType == QLatin1String("cgroup") && isBelow(directory, mount.mountPoint)
                    && (!hierarchy || mount.mountPoint.size() >= hierarchy->mountPoint.size())) {
                    hierarchy = &mount;
                }
            }
            if (!hierarchy) {
                return Error{i18n("Restoring needs the cgroup v1 hierarchy that holds %1, and it is not mounted.", directory)};
            }
            QString home = hierarchy->mountPoint;
            for (const QByteArray &line : lines) {
                const auto fields = line.split(':');
                if (fields.size() < 3 || fields[1].isEmpty()) {
                    continue;
                }
                const auto controllers = QString::fromUtf8(fields[1]).split(QLatin1Char(','));
                const bool same = std::all_of(controllers.begin(), controllers.end(), [&](const QString &controller) {
                    return hierarchy->superOptions.contains(controller);
                });
                const QString path = QString::fromUtf8(fields.mid(2).join(':'));
                if (same && isBelow(path, hierarchy->root)) {
                    home = QDir::cleanPath(hierarchy->mountPoint + QLatin1Char('/')
                                           + (hierarchy->root == QLatin1String("/") ? path : path.mid(hierarchy->root.size())));
                }
            }
            if (!move(directory)) {
                return Error{i18n("Cannot enter the session's cgroup %1: %2", directory, QString::fromLocal8Bit(std::strerror(errno)))};
            }
            visit.m_homes.append(home);
        }
        return visit;
    }
    ThreadCgroupVisit() = default;
    ThreadCgroupVisit(ThreadCgroupVisit &&other) noexcept
        : m_homes(std::exchange(other.m_homes, {}))
    {
    }
    ~ThreadCgroupVisit()
    {
        if (auto left = leave(); !left) {
            qCritical("%s", qPrintable(left.errorMessage()));
        }
    }

    /// Back where the thread was in each hierarchy.
    Result<void> leave()
    {
        const QStringList homes = std::exchange(m_homes, {});
        for (const QString &home : homes) {
            if (!move(home)) {
                return Error{i18n("Could not leave the session's cgroup after the restore: %1 did not take this thread back.", home)};
            }
        }
        return {};
    }

private:
    static bool move(const QString &directory)
    {
        const QByteArray tid = QByteArray::number(::gettid());
        UniqueFd tasks = CgroupFiles::open(directory + QStringLiteral("/tasks"), O_WRONLY);
        return tasks && ::write(tasks.get(), tid.constData(), tid.size()) == tid.size();
    }
    QStringList m_homes;
};

QString timeLimitMessage(std::chrono::milliseconds limit)
{
    return i18n(
        "CRIU did not finish within %1 seconds and was stopped. Something in the session keeps it waiting, such as a file on a file system that "
        "does not answer.",
        QString::number(std::chrono::duration_cast<std::chrono::seconds>(limit).count()));
}

/// Why the last notification of this thread's restore failed.
thread_local QString notificationFailure;
/// The restore this thread is doing, for its notifications.
thread_local const RestoreRequest *restoring = nullptr;
/// The local addresses of the restoring snapshot's connections to the outside.
thread_local QList<QByteArray> restoringConnectionAddresses;

/// CRIU's notifications during a restore: at "setup-namespaces" the tree's
/// namespaces exist and nothing is restored into them yet, the moment to
/// prepare its network namespace for the sockets. The restored tree is
/// complete and has not run yet at "post-restore", the moment to set again
/// what CRIU does not restore (nested user namespaces forbidden,
/// RestoreFixups) and to close connections to the outside.
int onRestoreNotification(char *action, criu_notify_arg_t notification)
{
    if (std::strcmp(action, "setup-namespaces") == 0) {
        if (auto prepared = CellNetworkNamespace::prepareForSockets(criu_notify_pid(notification), restoringConnectionAddresses); !prepared) {
            notificationFailure = prepared.errorMessage();
            return -1;
        }
        return 0;
    }
    if (std::strcmp(action, "post-restore") != 0) {
        return 0;
    }
    if (auto closed = CellNetworkNamespace::closeOutsideConnections(criu_notify_pid(notification), restoringConnectionAddresses); !closed) {
        notificationFailure = closed.errorMessage();
        return -1;
    }
    if (auto forbidden = NestedNamespaces::forbid(criu_notify_pid(notification)); !forbidden) {
        notificationFailure = forbidden.errorMessage();
        return -1;
    }
    if (restoring) {
        if (auto applied = RestoreFixups::apply(restoring->fixups, criu_notify_pid(notification)); !applied) {
            notificationFailure = applied.errorMessage();
            return -1;
        }
    }
    return 0;
}

Error criuError(const QString &what, int code, int imagesDirFd, const char *logName)
{
    // CRIU's own lines are for the details: they name CRIU's source, not what to do.
    return Error{what + QLatin1Char(' ') + describeFailure(code), criuLogErrors(imagesDirFd, logName)};
}

} // namespace

bool CriuCheckpointer::isRefusal(const Error &error)
{
    // criuLogErrors() puts CRIU's error lines in the details, the last of
    // which is CRIU's verdict; a CRIU that was killed wrote none. A CRIU that
    // ran out of disk space or memory did not refuse the session either.
    static const QLatin1String lackOfResources[] = {QLatin1String("No space left on device"),
                                                    QLatin1String("Disk quota exceeded"),
                                                    QLatin1String("Cannot allocate memory"),
                                                    QLatin1String("Read-only file system")};
    const QString text = error.fullText();
    for (const QLatin1String &lack : lackOfResources) {
        if (text.contains(lack)) {
            return false;
        }
    }
    return text.contains(QLatin1String("Dumping FAILED")) || text.contains(QLatin1String("Restoring FAILED")) || text.contains(QLatin1String("BUG at"));
}

Result<void> CriuCheckpointer::dump(const DumpRequest &request)
{
    if (request.rootPid <= 0 || request.imagesDirFd < 0) {
        return Error{i18n("Internal error: a checkpoint needs a process and an images directory.")};
    }
    auto options = makeOptions(request.imagesDirFd, dumpLogName);
    if (!options) {
        return options.error();
    }
    criu_local_set_pid(options->get(), request.rootPid);
    criu_local_set_ghost_limit(options->get(), unsigned(ghostFileLimit));
    criu_local_set_leave_running(options->get(), request.leaveRunning);
    if (!request.freezeCgroup.isEmpty()) {
        criu_local_set_freeze_cgroup(options->get(), request.freezeCgroup.toLocal8Bit().constData());
    }
    if (auto added = addExternalMounts(options->get(), request.externalMounts); !added) {
        return added.error();
    }
    criu_local_set_track_mem(options->get(), request.trackMemory);
    if (!request.parentImages.isEmpty() && criu_local_set_parent_images(options->get(), QFile::encodeName(request.parentImages).constData()) != 0) {
        return Error{i18n("Could not prepare a CRIU request (out of memory).")};
    }
    CriuWatchdog watchdog(request.timeLimit);
    const int code = criu_local_dump(options->get());
    if (code < 0 && watchdog.expired()) {
        return Error{timeLimitMessage(request.timeLimit)};
    }
    if (code < 0) {
        return criuError(i18n("Checkpointing process %1 failed.", QString::number(request.rootPid)), code, request.imagesDirFd, dumpLogName);
    }
    return {};
}

Result<pid_t> CriuCheckpointer::restore(const RestoreRequest &request)
{
    if (request.imagesDirFd < 0) {
        return Error{i18n("Internal error: a restore needs an images directory.")};
    }
    if (auto shared = shareImagesWithCellRoot(request.imagesDirFd); !shared) {
        return shared.error();
    }
    // The private mount namespace is the thread's: it ends with it.
    Result<pid_t> outcome = Error{QString()};
    std::thread worker([&] {
        outcome = restoreInPrivateMounts(request);
    });
    worker.join();
    return outcome;
}

Result<pid_t> CriuCheckpointer::restoreInPrivateMounts(const RestoreRequest &request)
{
    auto mounts = RestoreMounts::make(request.externalMounts);
    if (!mounts) {
        return mounts.error();
    }
    auto options = makeOptions(request.imagesDirFd, restoreLogName);
    if (!options) {
        return options.error();
    }
    criu_local_set_root(options->get(), mounts->root.constData());
    for (const auto &[mountPoint, source] : std::as_const(mounts->externalSources)) {
        if (criu_local_add_ext_mount(options->get(), mountPoint.constData(), source.constData()) != 0) {
            return Error{i18n("Could not prepare a CRIU request (out of memory).")};
        }
    }
    // Each restored task punches out of its memory image what it has read,
    // 128 MiB at a time: the restored processes reuse the staging's memory
    // instead of taking as much again (at 512 MB, 680 MiB at the peak
    // instead of 1100 MiB, no slower).
    criu_local_set_auto_dedup(options->get(), true);
    // Rewind places the tree in its cgroup itself (see CgroupVisit).
    criu_local_set_manage_cgroups_mode(options->get(), CRIU_CG_MODE_IGNORE);
    auto connectionAddresses = CriuImageFiles::connectionAddresses(request.imagesDirFd);
    if (!connectionAddresses) {
        return connectionAddresses.error();
    }
    restoringConnectionAddresses = *connectionAddresses;
    notificationFailure.clear();
    restoring = &request;
    const auto forget = qScopeGuard([] {
        restoring = nullptr;
    });
    criu_local_set_notify_cb(options->get(), onRestoreNotification);
    auto legacyVisit = ThreadCgroupVisit::enter(request.legacyCgroups);
    if (!legacyVisit) {
        return legacyVisit.error();
    }
    std::optional<CgroupVisit> visit;
    if (!request.cgroup.isEmpty()) {
        auto entered = CgroupVisit::enter(request.cgroup);
        if (!entered) {
            return entered.error();
        }
        visit.emplace(std::move(*entered));
    }
    std::optional<CriuWatchdog> watchdog(std::in_place, request.timeLimit);
    const int pid = criu_local_restore_child(options->get());
    const bool expired = watchdog->expired();
    watchdog.reset();
    if (visit) {
        if (auto left = visit->leave(); !left) {
            // Restored or not, the caller must not go on from inside the session's cgroup.
            if (pid >= 0) {
                return left.error();
            }
            const Error failure = criuError(i18n("Restoring the snapshot failed."), pid, request.imagesDirFd, restoreLogName);
            return failure.rephrased(left.errorMessage() + QLatin1Char('\n') + failure.message);
        }
    }
    if (auto left = legacyVisit->leave(); !left) {
        qCritical("%s", qPrintable(left.errorMessage())); // only this thread, which ends with the restore
    }
    if (pid < 0 && expired) {
        return Error{timeLimitMessage(request.timeLimit)};
    }
    if (pid < 0) {
        Error failure = criuError(i18n("Restoring the snapshot failed."), pid, request.imagesDirFd, restoreLogName);
        if (!notificationFailure.isEmpty()) {
            failure.message += QLatin1Char('\n') + notificationFailure;
        }
        return failure;
    }
    return pid_t(pid);
}

Result<void> CriuCheckpointer::memoryTracking()
{
    // The kernel's answer does not change; a CRIU that could not be asked is asked again next time.
    static std::mutex asking;
    const std::lock_guard<std::mutex> asked(asking);
    static std::optional<Result<void>> answer;
    if (answer) {
        return *answer;
    }
    // CRIU counts pages in the kernel's page size; the store's memory chunks are 4 KiB.
    if (const long pageSize = ::sysconf(_SC_PAGESIZE); pageSize != 4096) {
        answer = Error{i18n("incremental snapshots need 4 KiB pages of memory, and this kernel's are %1 bytes", pageSize)};
        return *answer;
    }
    auto options = makeOptions(-1, nullptr);
    if (!options) {
        return options.error();
    }
    struct criu_feature_check features{};
    features.mem_track = true;
    if (const int code = criu_local_feature_check(options->get(), &features, sizeof features); code != 0) {
        return Error{i18n("CRIU could not check whether the kernel tracks changed pages: %1", describeFailure(code))};
    }
    if (!features.mem_track) {
        answer =
            Error{i18n("the kernel does not track the pages a program changes (soft-dirty bits, CONFIG_MEM_SOFT_DIRTY), so every snapshot "
                       "holds all of the session's memory")};
    } else {
        answer = Result<void>();
    }
    return *answer;
}

Result<int> CriuCheckpointer::version()
{
    auto options = makeOptions(-1, nullptr);
    if (!options) {
        return options.error();
    }
    const int version = criu_local_get_version(options->get());
    if (version < 0) {
        return Error{describeFailure(version)};
    }
    return version;
}

} // namespace Rewind
