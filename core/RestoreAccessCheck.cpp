// SPDX-License-Identifier: GPL-2.0-or-later
#include "RestoreAccessCheck.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace Rewind
{
namespace
{

bool isBelow(const QByteArray &path, const char *directory)
{
    const qsizetype length = qsizetype(std::strlen(directory));
    return path.startsWith(directory) && (path.size() == length || path[length] == '/');
}

/// Comes back from the snapshot itself, or is the cell's own kernel view.
bool isInCell(const QByteArray &path)
{
    return isBelow(path, "/tmp") || isBelow(path, "/dev/shm") || isBelow(path, "/dev/pts") || isBelow(path, "/proc");
}

int accessFor(const OpenedPath &opened)
{
    if (opened.kind == OpenedPath::Kind::BoundSocket) {
        return W_OK | X_OK; // of its directory
    }
    if (opened.kind == OpenedPath::Kind::EnteredDirectory) {
        return X_OK;
    }
    if (opened.flags & O_PATH) {
        return F_OK;
    }
    switch (opened.flags & O_ACCMODE) {
    case O_WRONLY:
        return W_OK;
    case O_RDWR:
        return R_OK | W_OK;
    default:
        return R_OK;
    }
}

QByteArray checkedPath(const OpenedPath &opened)
{
    if (opened.kind != OpenedPath::Kind::BoundSocket) {
        return opened.path;
    }
    const qsizetype slash = opened.path.lastIndexOf('/');
    return slash > 0 ? opened.path.left(slash) : QByteArray("/");
}

/// How long the check may take: it runs as the user, who controls what it reads.
constexpr std::chrono::seconds checkTimeLimit{30};

struct Refusal {
    int index = -1;
    int error = 0;
};

} // namespace

Result<void> RestoreAccessCheck::verify(const QList<OpenedPath> &paths, uid_t uid, gid_t gid)
{
    QList<qsizetype> checked;
    std::vector<QByteArray> targets;
    std::vector<int> modes;
    for (qsizetype i = 0; i < paths.size(); ++i) {
        if (!paths[i].path.startsWith('/')) {
            return Error{i18n("The session had %1 open, which is no absolute path; it cannot be checked, so it is not restored.",
                              QFile::decodeName(paths[i].path).left(200))};
        }
        if (!isInCell(paths[i].path)) {
            checked.append(i);
            targets.push_back(checkedPath(paths[i]));
            modes.push_back(accessFor(paths[i]));
        }
    }
    if (checked.isEmpty()) {
        return {};
    }
    int answer[2];
    if (::pipe2(answer, O_CLOEXEC) != 0) {
        return Error{i18n("Cannot start a process: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    UniqueFd readEnd(answer[0]);
    UniqueFd writeEnd(answer[1]);
    const pid_t child = ::fork();
    if (child < 0) {
        return Error{i18n("Cannot start a process: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    if (child == 0) {
        Refusal refusal;
        // As the session's processes run: the user and their group, no others.
        if (::prctl(PR_SET_DUMPABLE, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
            refusal = {-2, errno};
        } else {
            for (size_t i = 0; i < targets.size(); ++i) {
                if (::faccessat(AT_FDCWD, targets[i].constData(), modes[i], AT_EACCESS) != 0 && errno != ENOENT) {
                    refusal = {int(i), errno};
                    break;
                }
            }
        }
        (void)!::write(writeEnd.get(), &refusal, sizeof refusal);
        _exit(0);
    }
    writeEnd.reset();
    // The child runs as the user, who may stop it, or hold it on a file
    // system that does not answer: wait for a bounded time only.
    Refusal refusal{-2, EIO};
    pollfd answerReady{readEnd.get(), POLLIN, 0};
    const bool answered =
        ::poll(&answerReady, 1, int(checkTimeLimit.count())) == 1 && ::read(readEnd.get(), &refusal, sizeof refusal) == ssize_t(sizeof refusal);
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) { }
    if (!answered || refusal.index == -2 || refusal.index >= int(targets.size())) {
        return Error{i18n("Could not check which files the restored session may open as user %1 (within %2 seconds).",
                          QString::number(uid),
                          QString::number(std::chrono::duration_cast<std::chrono::seconds>(checkTimeLimit).count()))};
    }
    if (refusal.index >= 0) {
        const OpenedPath &opened = paths[checked[refusal.index]];
        const QString path = QFile::decodeName(opened.path);
        if (opened.kind == OpenedPath::Kind::BoundSocket) {
            return Error{
                i18n("The session had a socket at %1, and its user may not create one there now. Restoring it would give the session more than "
                     "its user has.",
                     path)};
        }
        return Error{
            i18n("The session had %1 open, and its user may not open it that way now: it may have been replaced by a link to a file they may not "
                 "use. Restoring it would give the session more than its user has.",
                 path)};
    }
    return {};
}

} // namespace Rewind
