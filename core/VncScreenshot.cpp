// SPDX-License-Identifier: GPL-2.0-or-later
#include "VncScreenshot.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QFile>
#include <QRegion>

#include <rfb/rfbclient.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace Rewind
{
namespace
{

using Clock = std::chrono::steady_clock;

QString systemError(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

// libvncclient reports through two global printf-like hooks. Errors are kept
// per thread so that a failed grab can say what the library saw.
thread_local QByteArray lastLibraryError;

__attribute__((format(printf, 1, 2))) void ignoreLibraryLog(const char *, ...)
{
}

__attribute__((format(printf, 1, 2))) void keepLibraryError(const char *format, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    lastLibraryError = QByteArray(buffer).trimmed();
}

void installLibraryLogging()
{
    static std::once_flag once;
    std::call_once(once, [] {
        rfbClientLog = ignoreLibraryLog;
        rfbClientErr = keepLibraryError;
    });
}

/// Opens the socket inode itself, refusing symbolic links.
/// With rootFd, path is resolved as if rootFd were "/" (a cell's root).
Result<UniqueFd> openSocketPath(const QString &path, int rootFd = AT_FDCWD)
{
    const QByteArray encoded = QFile::encodeName(path);
    if (path.isEmpty() || !path.startsWith(QLatin1Char('/'))) {
        return Error{i18n("The VNC socket path '%1' is not absolute.", path)};
    }
    open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (rootFd == AT_FDCWD ? 0 : RESOLVE_IN_ROOT);
    int fd = static_cast<int>(::syscall(SYS_openat2, rootFd, encoded.constData(), &how, sizeof how));
    if (fd < 0 && rootFd == AT_FDCWD && (errno == ENOSYS || errno == EPERM)) {
        // Kernels before 5.6, or a seccomp filter: at least the last component.
        fd = ::open(encoded.constData(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        const int error = errno;
        if (error == ELOOP) {
            return Error{i18n("The VNC socket path %1 contains a symbolic link, which is not followed.", path)};
        }
        return Error{i18n("Could not open the VNC socket %1: %2", path, systemError(error))};
    }
    UniqueFd file(fd);
    struct stat status;
    if (::fstat(file.get(), &status) != 0) {
        return Error{i18n("Could not examine the VNC socket %1: %2", path, systemError(errno))};
    }
    if (S_ISLNK(status.st_mode)) {
        return Error{i18n("The VNC socket path %1 contains a symbolic link, which is not followed.", path)};
    }
    if (!S_ISSOCK(status.st_mode)) {
        return Error{i18n("%1 is not a socket, so it cannot be an Xvnc display's VNC socket.", path)};
    }
    return file;
}

/// Connects to the socket the O_PATH descriptor stands for, through its
/// /proc/self/fd link, so the path is not looked up again.
Result<UniqueFd> connectTo(const UniqueFd &socketFile, const QString &path)
{
    UniqueFd connection(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!connection) {
        return Error{i18n("Could not create a socket: %1", systemError(errno))};
    }
    sockaddr_un address;
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d", socketFile.get());
    int result;
    do {
        result = ::connect(connection.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address);
    } while (result != 0 && errno == EINTR);
    if (result != 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0) {
        // No /proc: fall back to the path, which was just checked to be a socket.
        const QByteArray encoded = QFile::encodeName(path);
        if (static_cast<size_t>(encoded.size()) >= sizeof address.sun_path) {
            return Error{i18n("The VNC socket path %1 is too long.", path)};
        }
        std::memset(address.sun_path, 0, sizeof address.sun_path);
        std::memcpy(address.sun_path, encoded.constData(), encoded.size());
        do {
            result = ::connect(connection.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address);
        } while (result != 0 && errno == EINTR);
    }
    if (result != 0) {
        const int error = errno;
        if (error == ECONNREFUSED) {
            return Error{i18n("Nothing listens on the VNC socket %1 (is the display's Xvnc running?).", path)};
        }
        if (error == EAGAIN) {
            return Error{i18n("The VNC server at %1 does not accept connections (its queue is full).", path)};
        }
        return Error{i18n("Could not connect to the VNC socket %1: %2", path, systemError(error))};
    }
    // libvncclient reads and writes blocking; the watchdog bounds the wait.
    const int flags = ::fcntl(connection.get(), F_GETFL);
    if (flags < 0 || ::fcntl(connection.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
        return Error{i18n("Could not configure the VNC connection: %1", systemError(errno))};
    }
    return connection;
}

/// Shuts a socket down when a deadline passes, which makes any blocking
/// read or write on it return; stopped (and joined) on destruction.
class Watchdog
{
public:
    Watchdog(int fd, Clock::time_point deadline)
        : m_thread([this, fd, deadline] {
            std::unique_lock lock(m_mutex);
            if (!m_condition.wait_until(lock, deadline, [this] {
                    return m_stopped;
                })) {
                m_fired = true;
                ::shutdown(fd, SHUT_RDWR);
            }
        })
    {
    }
    ~Watchdog()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stopped = true;
        }
        m_condition.notify_all();
        m_thread.join();
    }
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    bool fired()
    {
        std::lock_guard lock(m_mutex);
        return m_fired;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_condition;
    bool m_stopped = false;
    bool m_fired = false;
    std::thread m_thread; // last: starts once the members above exist
};

/// Blocks SIGPIPE in this thread while alive (libvncclient writes with
/// write(2), and a server going away must not kill the caller), and
/// swallows a SIGPIPE raised meanwhile.
class SigpipeBlocker
{
public:
    SigpipeBlocker()
    {
        sigset_t pending;
        sigpending(&pending);
        m_wasPending = sigismember(&pending, SIGPIPE) == 1;
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &block, &m_previous);
    }
    ~SigpipeBlocker()
    {
        if (!m_wasPending) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                sigset_t pipe;
                sigemptyset(&pipe);
                sigaddset(&pipe, SIGPIPE);
                const timespec zero{0, 0};
                while (sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) { }
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }
    SigpipeBlocker(const SigpipeBlocker &) = delete;
    SigpipeBlocker &operator=(const SigpipeBlocker &) = delete;

private:
    sigset_t m_previous;
    bool m_wasPending = false;
};

/// What the libvncclient callbacks fill in.
struct Frame {
    QImage image;
    QRegion received;
    bool updateFinished = false;
};

int frameTag;

Frame *frameOf(rfbClient *client)
{
    return static_cast<Frame *>(rfbClientGetClientData(client, &frameTag));
}

rfbBool allocateFrame(rfbClient *client)
{
    Frame *frame = frameOf(client);
    if (client->width <= 0 || client->height <= 0 || client->width > 16384 || client->height > 16384) {
        rfbClientErr("Unsupported framebuffer size %dx%d", client->width, client->height);
        return FALSE;
    }
    frame->image = QImage(client->width, client->height, QImage::Format_RGB32);
    if (frame->image.isNull()) {
        rfbClientErr("Out of memory for a %dx%d framebuffer", client->width, client->height);
        return FALSE;
    }
    frame->image.fill(Qt::black);
    frame->received = QRegion();
    client->frameBuffer = frame->image.bits();
    return TRUE;
}

void frameUpdated(rfbClient *client, int x, int y, int w, int h)
{
    frameOf(client)->received += QRect(x, y, w, h);
}

void frameFinished(rfbClient *client)
{
    frameOf(client)->updateFinished = true;
}

char *noPassword(rfbClient *)
{
    rfbClientErr("The VNC server asks for a password; Rewind's displays run without one");
    return nullptr;
}

struct ClientDeleter {
    void operator()(rfbClient *client) const
    {
        rfbClientCleanup(client);
    }
};
using Client = std::unique_ptr<rfbClient, ClientDeleter>;

} // namespace

Result<QImage> VncScreenshot::grab(const QString &unixSocketPath, std::chrono::milliseconds timeout)
{
    auto socketFile = openSocketPath(unixSocketPath);
    if (!socketFile) {
        return socketFile.error();
    }
    return grabFrom(*socketFile, unixSocketPath, timeout);
}

Result<QImage> VncScreenshot::grabInCell(pid_t initPid, const QString &pathInCell, std::chrono::milliseconds timeout)
{
    // The cell's root is reached through its init's /proc entry; below it, nothing is followed.
    const QByteArray root = "/proc/" + QByteArray::number(initPid) + "/root";
    UniqueFd rootFd(::open(root.constData(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (initPid <= 0 || !rootFd) {
        return Error{i18n("The session's cell (process %1) is not running.", initPid)};
    }
    auto socketFile = openSocketPath(pathInCell, rootFd.get());
    if (!socketFile) {
        return socketFile.error();
    }
    return grabFrom(*socketFile, pathInCell, timeout);
}

Result<QImage> VncScreenshot::grabFrom(const UniqueFd &socketFile, const QString &unixSocketPath, std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    installLibraryLogging();
    lastLibraryError.clear();

    auto connection = connectTo(socketFile, unixSocketPath);
    if (!connection) {
        return connection.error();
    }

    SigpipeBlocker sigpipeBlocker;
    Frame frame;
    Client client(rfbGetClient(8, 3, 4));
    if (!client) {
        return Error{i18n("Could not prepare a VNC client (out of memory).")};
    }
    // Pixels as QImage::Format_RGB32 wants them: 0x__RRGGBB in host byte order
    // (rfbGetClient already chose the host's endianness).
    client->format.redShift = 16;
    client->format.greenShift = 8;
    client->format.blueShift = 0;
    // Lossless encodings only, and the cursor drawn into the picture.
    client->appData.encodingsString = "copyrect zrle hextile zlib raw";
    client->appData.enableJPEG = FALSE;
    client->appData.useRemoteCursor = FALSE;
    client->appData.shareDesktop = TRUE;
    client->GetPassword = noPassword;
    client->MallocFrameBuffer = allocateFrame;
    client->GotFrameBufferUpdate = frameUpdated;
    client->FinishedFrameBufferUpdate = frameFinished;
    rfbClientSetClientData(client.get(), &frameTag, &frame);
    client->sock = connection->release(); // rfbClientCleanup closes it

    const auto failure = [&](const QString &what) -> Error {
        const QString detail = QString::fromLocal8Bit(lastLibraryError);
        return Error{detail.isEmpty() ? i18n("Could not take a picture of the display at %1: %2.", unixSocketPath, what)
                                      : i18n("Could not take a picture of the display at %1: %2 (%3).", unixSocketPath, what, detail)};
    };
    const auto timedOut = [&]() {
        return Error{i18n("Could not take a picture of the display at %1: its VNC server did not answer within %2 ms.", unixSocketPath, timeout.count())};
    };

    {
        Watchdog watchdog(client->sock, deadline);
        if (!InitialiseRFBConnection(client.get())) {
            return watchdog.fired() ? timedOut() : failure(i18n("the VNC handshake failed"));
        }
        client->width = client->si.framebufferWidth;
        client->height = client->si.framebufferHeight;
        if (!client->MallocFrameBuffer(client.get())) {
            return failure(i18n("no framebuffer"));
        }
        // libvncclient asks for this area again after every update it handles.
        client->updateRect.x = 0;
        client->updateRect.y = 0;
        client->updateRect.w = client->width;
        client->updateRect.h = client->height;
        if (!SetFormatAndEncodings(client.get())) {
            return watchdog.fired() ? timedOut() : failure(i18n("the VNC server refused the pixel format"));
        }

        bool requestPending = false;
        for (;;) {
            if (!requestPending) {
                frame.updateFinished = false;
                if (!SendFramebufferUpdateRequest(client.get(), 0, 0, client->width, client->height, FALSE)) {
                    return watchdog.fired() ? timedOut() : failure(i18n("the VNC server went away"));
                }
                requestPending = true;
            }
            if (client->buffered == 0) {
                const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
                if (remaining.count() <= 0) {
                    return timedOut();
                }
                const int ready = WaitForMessage(client.get(), static_cast<unsigned int>(std::min<qint64>(remaining.count(), 500000)));
                if (ready < 0) {
                    return watchdog.fired() ? timedOut() : failure(i18n("waiting for the VNC server failed"));
                }
                if (ready == 0) {
                    continue;
                }
            }
            if (!HandleRFBServerMessage(client.get())) {
                return watchdog.fired() ? timedOut() : failure(i18n("the VNC server sent something unreadable or went away"));
            }
            if (frame.updateFinished) {
                requestPending = false;
                if (QRegion(frame.image.rect()).subtracted(frame.received).isEmpty()) {
                    break;
                }
            }
        }
    }

    // The padding byte is whatever the server sent; RGB32 wants it opaque.
    QImage image = std::move(frame.image);
    client->frameBuffer = nullptr;
    for (int y = 0; y < image.height(); ++y) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(y));
        for (int x = 0; x < image.width(); ++x) {
            line[x] |= 0xff000000u;
        }
    }
    return image;
}

QImage VncScreenshot::thumbnail(const QImage &image, int width)
{
    if (image.isNull() || width <= 0) {
        return {};
    }
    if (image.width() <= width) {
        return image;
    }
    return image.scaledToWidth(width, Qt::SmoothTransformation);
}

double VncScreenshot::differingFraction(const QImage &a, const QImage &b, const QRect &ignore)
{
    if (a.size() != b.size()) {
        return 1.0;
    }
    const QImage first = a.convertToFormat(QImage::Format_RGB32);
    const QImage second = b.convertToFormat(QImage::Format_RGB32);
    const QRect ignored = ignore.intersected(first.rect());
    qint64 compared = 0;
    qint64 differing = 0;
    for (int y = 0; y < first.height(); ++y) {
        const auto *lineA = reinterpret_cast<const QRgb *>(first.constScanLine(y));
        const auto *lineB = reinterpret_cast<const QRgb *>(second.constScanLine(y));
        const bool rowIgnored = y >= ignored.top() && y <= ignored.bottom();
        for (int x = 0; x < first.width(); ++x) {
            if (rowIgnored && x >= ignored.left() && x <= ignored.right()) {
                continue;
            }
            ++compared;
            if ((lineA[x] & 0xffffffu) != (lineB[x] & 0xffffffu)) {
                ++differing;
            }
        }
    }
    return compared == 0 ? 0.0 : static_cast<double>(differing) / static_cast<double>(compared);
}

} // namespace Rewind
