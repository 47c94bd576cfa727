// SPDX-License-Identifier: GPL-2.0-or-later
#include "CriuCheckpointer.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QByteArray>
#include <QFile>
#include <QStringList>

#include <criu/criu.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <optional>
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

Result<CriuOptions> makeOptions(int imagesDirFd, const char *logName)
{
    criu_opts *raw = nullptr;
    if (criu_local_init_opts(&raw) != 0) {
        return Error{i18n("Could not prepare a CRIU request (out of memory).")};
    }
    CriuOptions options(raw);
    criu_local_set_service_binary(options.get(), "criu");
    if (imagesDirFd >= 0) {
        criu_local_set_images_dir_fd(options.get(), imagesDirFd);
        criu_local_set_log_file(options.get(), logName);
        criu_local_set_log_level(options.get(), 4);
    }
    // Desktop apps, sqlite and browsers hold file locks; without this CRIU refuses them.
    criu_local_set_file_locks(options.get(), true);
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
        if (line.contains("Error (") || line.contains("BUG at")) {
            errors.append(QString::fromUtf8(line.trimmed()));
        }
    }
    while (errors.size() > 3) {
        errors.removeFirst();
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
        // The mount point is its own key: restore binds the same path again.
        if (criu_local_add_ext_mount(options, path.constData(), path.constData()) != 0) {
            return Error{i18n("Could not prepare a CRIU request (out of memory).")};
        }
    }
    return {};
}

/// Moves the calling process into a cgroup for as long as it lives, then
/// back. The restored tree is forked from criu swrk, our child, so it starts
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
        const int rootEnd = cgroup.indexOf(QStringLiteral("/sys/fs/cgroup")) == 0 ? int(qstrlen("/sys/fs/cgroup")) : -1;
        if (home.isEmpty() || rootEnd < 0) {
            return Error{i18n("Restoring needs the cgroup v2 hierarchy at /sys/fs/cgroup.")};
        }
        CgroupVisit visit;
        visit.m_home = cgroup.left(rootEnd) + home;
        if (!move(cgroup)) {
            return Error{i18n("Cannot enter the session's cgroup %1.", cgroup)};
        }
        visit.m_active = true;
        return visit;
    }
    CgroupVisit() = default;
    CgroupVisit(CgroupVisit &&other) noexcept
        : m_home(other.m_home)
        , m_active(std::exchange(other.m_active, false))
    {
    }
    ~CgroupVisit()
    {
        if (m_active) {
            move(m_home);
        }
    }

private:
    static bool move(const QString &cgroup)
    {
        QFile procs(cgroup + QStringLiteral("/cgroup.procs"));
        return procs.open(QIODevice::WriteOnly) && procs.write(QByteArray::number(::getpid())) > 0 && procs.flush();
    }
    QString m_home;
    bool m_active = false;
};

Error criuError(const QString &what, int code, int imagesDirFd, const char *logName)
{
    QString message = what + QLatin1Char(' ') + describeFailure(code);
    const QString details = criuLogErrors(imagesDirFd, logName);
    if (!details.isEmpty()) {
        message += QLatin1Char('\n') + details;
    }
    return Error{message};
}

} // namespace

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
    criu_local_set_leave_running(options->get(), request.leaveRunning);
    if (!request.freezeCgroup.isEmpty()) {
        criu_local_set_freeze_cgroup(options->get(), request.freezeCgroup.toLocal8Bit().constData());
    }
    if (auto added = addExternalMounts(options->get(), request.externalMounts); !added) {
        return added.error();
    }
    const int code = criu_local_dump(options->get());
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
    auto options = makeOptions(request.imagesDirFd, restoreLogName);
    if (!options) {
        return options.error();
    }
    if (!request.root.isEmpty()) {
        criu_local_set_root(options->get(), request.root.toLocal8Bit().constData());
    }
    if (auto added = addExternalMounts(options->get(), request.externalMounts); !added) {
        return added.error();
    }
    // Rewind places the tree in its cgroup itself (see CgroupVisit).
    criu_local_set_manage_cgroups_mode(options->get(), CRIU_CG_MODE_IGNORE);
    std::optional<CgroupVisit> visit;
    if (!request.cgroup.isEmpty()) {
        auto entered = CgroupVisit::enter(request.cgroup);
        if (!entered) {
            return entered.error();
        }
        visit.emplace(std::move(*entered));
    }
    const int pid = criu_local_restore_child(options->get());
    if (pid < 0) {
        return criuError(i18n("Restoring the snapshot failed."), pid, request.imagesDirFd, restoreLogName);
    }
    return pid_t(pid);
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
