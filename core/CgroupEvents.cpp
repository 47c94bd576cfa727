// SPDX-License-Identifier: GPL-2.0-or-later
#include "CgroupEvents.h"

#include <KLocalizedString>

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>

namespace Rewind
{

CgroupEvents::CgroupEvents(UniqueFd fd, const QString &directory)
    : m_fd(std::move(fd))
    , m_directory(directory)
{
}

Result<CgroupEvents> CgroupEvents::open(const QString &cgroupDir)
{
    const QByteArray path = QFile::encodeName(cgroupDir + QStringLiteral("/cgroup.events"));
    UniqueFd fd(::open(path.constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        return Error{i18n("Cannot open the state of control group %1: %2", cgroupDir, QString::fromLocal8Bit(std::strerror(errno)))};
    }
    return CgroupEvents(std::move(fd), cgroupDir);
}

Result<int> CgroupEvents::value(const QByteArray &key) const
{
    // Reading from offset 0 also re-arms the poll notification for this fd.
    char buffer[512];
    const ssize_t length = ::pread(m_fd.get(), buffer, sizeof buffer - 1, 0);
    if (length < 0) {
        return Error{i18n("Cannot read the state of control group %1: %2", m_directory, QString::fromLocal8Bit(std::strerror(errno)))};
    }
    const auto lines = QByteArray(buffer, length).split('\n');
    for (const QByteArray &line : lines) {
        const auto fields = line.split(' ');
        if (fields.size() == 2 && fields[0] == key) {
            bool ok = false;
            const int value = fields[1].toInt(&ok);
            if (ok) {
                return value;
            }
        }
    }
    return Error{i18n("The state of control group %1 does not say whether it is %2.", m_directory, QString::fromLatin1(key))};
}

Result<bool> CgroupEvents::waitFor(const QByteArray &key, int value, std::chrono::steady_clock::time_point deadline) const
{
    using namespace std::chrono;
    for (;;) {
        const auto current = this->value(key);
        if (!current) {
            return current.error();
        }
        if (*current == value) {
            return true;
        }
        const auto left = ceil<milliseconds>(deadline - steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd events{.fd = m_fd.get(), .events = POLLPRI, .revents = 0};
        const int polled = ::poll(&events, 1, int(left.count()));
        if (polled < 0 && errno != EINTR) {
            return Error{i18n("Cannot wait for control group %1: %2", m_directory, QString::fromLocal8Bit(std::strerror(errno)))};
        }
    }
}

} // namespace Rewind
