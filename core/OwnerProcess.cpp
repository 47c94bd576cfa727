// SPDX-License-Identifier: GPL-2.0-or-later
#include "OwnerProcess.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace Rewind
{

void runAsOwner(QProcess &process, uid_t uid, gid_t gid, const QList<int> &inherited, int cgroupProcs)
{
    process.setUnixProcessParameters(QProcess::UnixProcessFlag::ResetSignalHandlers | QProcess::UnixProcessFlag::IgnoreSigPipe);
    const bool changeIds = uid != ::geteuid() || gid != ::getegid() || ::getuid() != ::geteuid() || ::getgid() != ::getegid();
    // In the child between fork and exec: raw system calls only (glibc's
    // set*id would try to reach the parent's other threads).
    process.setChildProcessModifier([&process, inherited, uid, gid, changeIds, cgroupProcs] {
        if (cgroupProcs >= 0 && ::write(cgroupProcs, "0", 1) != 1) {
            process.failChildProcessModifier("cannot join the cgroup", errno);
        }
        // Nothing but stdio and what is inherited reaches the program.
        if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            process.failChildProcessModifier("cannot prepare the descriptors", errno);
        }
        for (const int fd : inherited) {
            if (::fcntl(fd, F_SETFD, 0) != 0) {
                process.failChildProcessModifier("cannot pass a descriptor on", errno);
            }
        }
        if (changeIds) {
            if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 || ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
                process.failChildProcessModifier("cannot change to the session's owner", errno);
            }
            uid_t ruid, euid, suid;
            if (::syscall(SYS_getresuid, &ruid, &euid, &suid) != 0 || ruid != uid || euid != uid || suid != uid) {
                process.failChildProcessModifier("the change to the session's owner did not take", EPERM);
            }
        }
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            process.failChildProcessModifier("cannot forbid new privileges", errno);
        }
        const rlimit noCore{0, 0};
        ::setrlimit(RLIMIT_CORE, &noCore);
    });
}

QString printableLine(QByteArray output)
{
    output.truncate(output.indexOf('\n') < 0 ? output.size() : output.indexOf('\n'));
    for (char &c : output) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) {
            c = ' ';
        }
    }
    return QString::fromUtf8(output).trimmed();
}

} // namespace Rewind
