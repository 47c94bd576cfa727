// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-stuck: ends up in a wait the cgroup freezer cannot interrupt,
// as a process does that waits on a hung network file system: it reads its
// own memory with process_vm_readv from a range that userfaultfd keeps
// missing. The kernel waits for that page killably (state D), and the
// freezer only wakes interruptible sleeps, so a freeze is never confirmed.
// SIGKILL ends it.
#include <cstdio>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main()
{
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    const int uffd = int(::syscall(SYS_userfaultfd, O_CLOEXEC));
    uffdio_api api{};
    api.api = UFFD_API;
    if (uffd < 0 || ::ioctl(uffd, UFFDIO_API, &api) < 0) {
        std::perror("rewind-test-stuck: userfaultfd");
        return 1;
    }
    void *region = ::mmap(nullptr, pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uffdio_register registration{};
    registration.range.start = reinterpret_cast<unsigned long>(region);
    registration.range.len = pageSize;
    registration.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (region == MAP_FAILED || ::ioctl(uffd, UFFDIO_REGISTER, &registration) < 0) {
        std::perror("rewind-test-stuck: registering the missing page");
        return 1;
    }
    char buffer[16];
    const iovec local{buffer, sizeof buffer};
    const iovec remote{region, sizeof buffer};
    ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
    std::perror("rewind-test-stuck: the read returned");
    return 1;
}
