// SPDX-License-Identifier: GPL-2.0-or-later
//
// rewind-screenshot --socket-fd N --timeout-ms MS [--max-size WxH]
//
// Takes one picture of a display through its VNC server and writes it to
// stdout as raw pixels ("RWPX", width, height, rows of 0xffRRGGBB). The caller (privileged) opens the VNC unix socket as an
// O_PATH descriptor N and starts this program as the display's owner: the
// RFB protocol, which the owner's Xvnc speaks, is parsed here, never in a
// privileged process. The framebuffer is refused if larger than 8192x8192 or
// than --max-size. On failure the exit code says what failed (see
// ExitCode) and stdout holds a one-line detail instead of a picture.
//
// Qt Gui only for QImage; no QGuiApplication.

#include "FileWriting.h"

#include <QByteArray>
#include <QImage>
#include <QRegion>

#include <rfb/rfbclient.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace
{

/// "RWPX" in host byte order: what VncScreenshot expects first.
constexpr quint32 rawPixelsMagic = 0x58505752;

using Clock = std::chrono::steady_clock;

/// Shared with VncScreenshot.cpp, which turns them into messages.
enum ExitCode {
    Success = 0,
    Usage = 2,
    NotASocket = 10,
    NothingListens = 11,
    QueueFull = 12,
    ConnectFailed = 13,
    TimedOut = 14,
    HandshakeFailed = 15,
    FramebufferRefused = 16,
    FormatRefused = 17,
    ServerWentAway = 18,
    Unreadable = 19,
    WaitFailed = 20,
    OutOfMemory = 21,
    EncodingFailed = 22,
};

constexpr int absoluteMaxSide = 8192;
int maxWidth = absoluteMaxSide;
int maxHeight = absoluteMaxSide;
bool sizeRefused = false;

// libvncclient reports through two global printf-like hooks; the last error is kept.
std::string lastLibraryError;

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
    lastLibraryError = buffer;
}

/// Ends the program with code, and detail (or the library's last error) on stdout.
[[noreturn]] void finish(ExitCode code, std::string detail = {})
{
    if (detail.empty()) {
        detail = lastLibraryError;
    }
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) {
        detail.pop_back();
    }
    detail += '\n';
    (void)Rewind::writeAll(STDOUT_FILENO, detail.data(), detail.size());
    std::_Exit(code);
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
    if (client->width <= 0 || client->height <= 0 || client->width > maxWidth || client->height > maxHeight) {
        rfbClientErr("framebuffer size %dx%d refused (at most %dx%d)", client->width, client->height, maxWidth, maxHeight);
        sizeRefused = true;
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

/// Connects to the socket the O_PATH descriptor stands for, through its
/// /proc/self/fd link, so no path is looked up.
int connectTo(int socketFile)
{
    struct stat status;
    if (::fstat(socketFile, &status) != 0 || !S_ISSOCK(status.st_mode)) {
        finish(NotASocket, "not a socket");
    }
    const int connection = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (connection < 0) {
        finish(ConnectFailed, std::strerror(errno));
    }
    sockaddr_un address;
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d", socketFile);
    int result;
    do {
        result = ::connect(connection, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    } while (result != 0 && errno == EINTR);
    if (result != 0) {
        const int error = errno;
        if (error == ECONNREFUSED) {
            finish(NothingListens, std::strerror(error));
        }
        if (error == EAGAIN) {
            finish(QueueFull, std::strerror(error));
        }
        finish(ConnectFailed, std::strerror(error));
    }
    ::close(socketFile);
    // libvncclient reads and writes blocking; the watchdog bounds the wait.
    const int flags = ::fcntl(connection, F_GETFL);
    if (flags < 0 || ::fcntl(connection, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        finish(ConnectFailed, std::strerror(errno));
    }
    return connection;
}

/// Reads one complete framebuffer; ends the program on failure.
QImage grab(int socketFile, Clock::time_point deadline)
{
    const int connection = connectTo(socketFile);

    SigpipeBlocker sigpipeBlocker;
    Frame frame;
    Client client(rfbGetClient(8, 3, 4));
    if (!client) {
        finish(OutOfMemory);
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
    client->sock = connection; // rfbClientCleanup closes it

    {
        Watchdog watchdog(client->sock, deadline);
        const auto failed = [&](ExitCode code) {
            finish(watchdog.fired() ? TimedOut : code);
        };
        if (!InitialiseRFBConnection(client.get())) {
            failed(HandshakeFailed);
        }
        client->width = client->si.framebufferWidth;
        client->height = client->si.framebufferHeight;
        if (!client->MallocFrameBuffer(client.get())) {
            finish(sizeRefused ? FramebufferRefused : OutOfMemory);
        }
        // libvncclient asks for this area again after every update it handles.
        client->updateRect.x = 0;
        client->updateRect.y = 0;
        client->updateRect.w = client->width;
        client->updateRect.h = client->height;
        if (!SetFormatAndEncodings(client.get())) {
            failed(FormatRefused);
        }

        bool requestPending = false;
        for (;;) {
            if (!requestPending) {
                frame.updateFinished = false;
                if (!SendFramebufferUpdateRequest(client.get(), 0, 0, client->width, client->height, FALSE)) {
                    failed(ServerWentAway);
                }
                requestPending = true;
            }
            if (client->buffered == 0) {
                const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
                if (remaining.count() <= 0) {
                    finish(TimedOut);
                }
                const int ready = WaitForMessage(client.get(), static_cast<unsigned int>(std::min<long long>(remaining.count(), 500000)));
                if (ready < 0) {
                    failed(WaitFailed);
                }
                if (ready == 0) {
                    continue;
                }
            }
            if (!HandleRFBServerMessage(client.get())) {
                failed(sizeRefused ? FramebufferRefused : Unreadable);
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

bool parseInt(const char *text, long long min, long long max, long long *value)
{
    char *end = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < min || parsed > max) {
        return false;
    }
    *value = parsed;
    return true;
}

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: rewind-screenshot --socket-fd N --timeout-ms MS [--max-size WxH]\n");
    std::_Exit(Usage);
}

} // namespace

int main(int argc, char **argv)
{
    long long socketFile = -1;
    long long timeoutMs = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (i + 1 >= argc) {
            usage();
        }
        const char *value = argv[++i];
        if (option == "--socket-fd") {
            if (!parseInt(value, 0, INT_MAX, &socketFile)) {
                usage();
            }
        } else if (option == "--timeout-ms") {
            if (!parseInt(value, 1, 3600 * 1000, &timeoutMs)) {
                usage();
            }
        } else if (option == "--max-size") {
            const std::string size = value;
            const size_t x = size.find('x');
            long long width = 0;
            long long height = 0;
            if (x == std::string::npos || !parseInt(size.substr(0, x).c_str(), 1, absoluteMaxSide, &width)
                || !parseInt(size.substr(x + 1).c_str(), 1, absoluteMaxSide, &height)) {
                usage();
            }
            maxWidth = int(width);
            maxHeight = int(height);
        } else {
            usage();
        }
    }
    if (socketFile < 0 || timeoutMs < 0) {
        usage();
    }
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    rfbClientLog = ignoreLibraryLog;
    rfbClientErr = keepLibraryError;

    // Raw pixels, nothing for the privileged side to decode: "RWPX", width
    // and height (32 bits each, host order), then each row of 0xffRRGGBB.
    const QImage image = grab(int(socketFile), deadline).convertToFormat(QImage::Format_RGB32);
    const quint32 header[3] = {rawPixelsMagic, quint32(image.width()), quint32(image.height())};
    if (!Rewind::writeAll(STDOUT_FILENO, reinterpret_cast<const char *>(header), sizeof header)) {
        return EncodingFailed;
    }
    for (int y = 0; y < image.height(); ++y) {
        if (!Rewind::writeAll(STDOUT_FILENO, reinterpret_cast<const char *>(image.constScanLine(y)), size_t(image.width()) * 4)) {
            return EncodingFailed;
        }
    }
    return Success;
}
