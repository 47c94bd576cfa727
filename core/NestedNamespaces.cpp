// SPDX-License-Identifier: GPL-2.0-or-later
#include "NestedNamespaces.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QByteArray>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Rewind
{

Result<void> NestedNamespaces::forbid(pid_t pid)
{
    return setMaximum(pid, 0);
}

Result<void> NestedNamespaces::setMaximum(pid_t pid, int count)
{
    const QByteArray value = QByteArray::number(count);
    const UniqueFd userNamespace(::open(QByteArray("/proc/" + QByteArray::number(pid) + "/ns/user").constData(), O_RDONLY | O_CLOEXEC));
    if (!userNamespace) {
        return Error{i18n("Cannot reach the user namespace of process %1: %2", QString::number(pid), QString::fromLocal8Bit(std::strerror(errno)))};
    }
    // Joining a user namespace takes a process of one thread: a child does it.
    // The limits of /proc/sys/user are those of the writer's user namespace.
    const pid_t child = ::fork();
    if (child < 0) {
        return Error{i18n("Cannot start a process: %1", QString::fromLocal8Bit(std::strerror(errno)))};
    }
    if (child == 0) {
        if (::setns(userNamespace.get(), CLONE_NEWUSER) != 0) {
            _exit(1);
        }
        const int limit = ::open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
        _exit(limit >= 0 && ::write(limit, value.constData(), value.size()) == value.size() ? 0 : 2);
    }
    int status = 0;
    pid_t waited;
    while ((waited = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) { }
    if (waited != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return Error{i18n("Could not limit nested user namespaces in the cell of process %1.", QString::number(pid))};
    }
    return {};
}

} // namespace Rewind
