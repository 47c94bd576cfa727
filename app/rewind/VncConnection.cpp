// SPDX-License-Identifier: GPL-2.0-or-later
#include "VncConnection.h"

#include <KLocalizedString>

#include <QFile>
#include <QMutexLocker>
#include <QRegion>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <rfb/rfbclient.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <functional>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace
{
/// The largest display accepted, as rewind-screenshot does.
constexpr int maxSide = 8192;
/// Messages handled in one go before the thread looks at its queued input.
constexpr int messagesPerWakeUp = 32;
/// Seconds a started message may take to arrive whole.
constexpr int readTimeoutSeconds = 20;

// libvncclient reports through two global printf-like hooks; each thread keeps its last error.
thread_local std::string lastLibraryError;

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
    while (!lastLibraryError.empty() && (lastLibraryError.back() == '\n' || lastLibraryError.back() == ' ')) {
        lastLibraryError.pop_back();
    }
}

int workerTag;
}

/// Lives on the connection's thread and is the only one to touch the rfbClient.
class VncWorker : public QObject
{
public:
    VncWorker(VncConnection *connection, quint64 generation)
        : m_connection(connection)
        , m_generation(generation)
    {
    }

    ~VncWorker() override
    {
        delete m_notifier;
        if (m_client) {
            m_client->frameBuffer = nullptr;
            rfbClientCleanup(m_client); // closes the socket
        } else if (m_socket >= 0) {
            ::close(m_socket);
        }
    }

    /// From any thread: makes every read and write on the socket return,
    /// now or as soon as there is a socket.
    void interrupt()
    {
        m_interrupted = true;
        if (const int socket = m_socket.load(); socket >= 0) {
            ::shutdown(socket, SHUT_RDWR);
        }
    }

    void start(const QString &socketPath)
    {
        // A display going away must not end the program: write(2) then fails with EPIPE.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        rfbClientLog = ignoreLibraryLog;
        rfbClientErr = keepLibraryError;

        if (const QString failure = connectTo(socketPath); !failure.isEmpty()) {
            fail(failure);
            return;
        }
        m_client = rfbGetClient(8, 3, 4);
        if (!m_client) {
            fail(i18n("Out of memory."));
            return;
        }
        // Pixels as QImage::Format_RGB32 has them: 0x__RRGGBB in host byte order.
        m_client->format.redShift = 16;
        m_client->format.greenShift = 8;
        m_client->format.blueShift = 0;
        // The display is on this machine: raw pixels cost it the least; the
        // cursor is drawn into the picture.
        m_client->appData.encodingsString = "copyrect raw";
        m_client->appData.enableJPEG = FALSE;
        m_client->appData.useRemoteCursor = FALSE;
        m_client->appData.shareDesktop = TRUE;
        m_client->readTimeout = readTimeoutSeconds;
        m_client->GetPassword = noPassword;
        m_client->MallocFrameBuffer = allocateFrame;
        m_client->GotFrameBufferUpdate = frameUpdated;
        m_client->FinishedFrameBufferUpdate = frameFinished;
        m_client->GotXCutText = cutTextReceived;
        rfbClientSetClientData(m_client, &workerTag, this);
        m_client->sock = m_socket;

        if (!InitialiseRFBConnection(m_client)) {
            fail(i18n("The display did not accept the connection (%1).", libraryError()));
            return;
        }
        m_client->width = m_client->si.framebufferWidth;
        m_client->height = m_client->si.framebufferHeight;
        if (!m_client->MallocFrameBuffer(m_client)) {
            fail(i18n("The display is %1×%2 pixels, more than can be shown.", m_client->width, m_client->height));
            return;
        }
        // libvncclient asks for this area again after every update it handles.
        m_client->updateRect = {0, 0, m_client->width, m_client->height};
        if (!SetFormatAndEncodings(m_client) || !SendFramebufferUpdateRequest(m_client, 0, 0, m_client->width, m_client->height, FALSE)) {
            fail(i18n("The display went away during the handshake."));
            return;
        }
        const QSize size(m_client->width, m_client->height);
        post([size](VncConnection *connection) {
            Q_EMIT connection->connected(size);
        });
        m_notifier = new QSocketNotifier(m_socket.load(), QSocketNotifier::Read);
        QObject::connect(m_notifier, &QSocketNotifier::activated, this, &VncWorker::handleMessages);
    }

    void sendKey(quint32 keysym, bool down)
    {
        if (m_client && SendKeyEvent(m_client, keysym, down ? TRUE : FALSE)) {
            ++m_connection->m_inputMessagesSent;
        }
    }

    void sendPointer(QPoint position, int buttonMask)
    {
        if (m_client && SendPointerEvent(m_client, position.x(), position.y(), buttonMask)) {
            ++m_connection->m_inputMessagesSent;
        }
    }

    void sendClipboard(const QString &text)
    {
        // RFB's cut text is Latin-1; what does not fit becomes '?'.
        QByteArray latin1 = text.toLatin1();
        if (m_client && SendClientCutText(m_client, latin1.data(), int(latin1.size()))) {
            ++m_connection->m_inputMessagesSent;
        }
    }

private:
    /// Runs what on the connection's (GUI) thread, unless the connection
    /// was closed or opened anew meanwhile.
    void post(std::function<void(VncConnection *)> what)
    {
        QMetaObject::invokeMethod(
            m_connection,
            [connection = m_connection, generation = m_generation, what = std::move(what)] {
                if (connection->m_generation == generation) {
                    what(connection);
                }
            },
            Qt::QueuedConnection);
    }

    QString connectTo(const QString &socketPath)
    {
        const QByteArray path = QFile::encodeName(socketPath);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (path.size() >= qsizetype(sizeof address.sun_path)) {
            return i18n("The path of the display's socket is too long: %1", socketPath);
        }
        std::memcpy(address.sun_path, path.constData(), size_t(path.size()));
        const int socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (socket < 0) {
            return i18n("Could not make a socket: %1", QString::fromLocal8Bit(std::strerror(errno)));
        }
        m_socket = socket;
        if (m_interrupted) {
            return i18n("The connection was closed.");
        }
        int result;
        do {
            result = ::connect(socket, reinterpret_cast<const sockaddr *>(&address), sizeof address);
        } while (result != 0 && errno == EINTR);
        if (result != 0) {
            return i18n("Could not connect to %1: %2", socketPath, QString::fromLocal8Bit(std::strerror(errno)));
        }
        return {};
    }

    void handleMessages()
    {
        for (int handled = 0; handled < messagesPerWakeUp; ++handled) {
            // libvncclient may already hold the next message in its buffer,
            // where the socket's notifier does not see it.
            const int ready = m_client->buffered > 0 ? 1 : WaitForMessage(m_client, 0);
            if (ready < 0) {
                fail(i18n("Waiting for the display failed (%1).", libraryError()));
                return;
            }
            if (ready == 0) {
                return;
            }
            if (!HandleRFBServerMessage(m_client)) {
                fail(i18n("The connection to the display ended."));
                return;
            }
        }
        if (m_client->buffered > 0) {
            QTimer::singleShot(0, this, &VncWorker::handleMessages); // the rest after other events
        }
    }

    void fail(const QString &message)
    {
        if (m_notifier) {
            m_notifier->setEnabled(false);
        }
        if (!m_failed) {
            m_failed = true;
            post([message](VncConnection *connection) {
                Q_EMIT connection->disconnected(message);
            });
        }
    }

    QString libraryError() const
    {
        return lastLibraryError.empty() ? i18n("no reason given") : QString::fromLocal8Bit(lastLibraryError.c_str());
    }

    static VncWorker *of(rfbClient *client)
    {
        return static_cast<VncWorker *>(rfbClientGetClientData(client, &workerTag));
    }

    static char *noPassword(rfbClient *)
    {
        rfbClientErr("the display asks for a password; Rewind's displays run without one");
        return nullptr;
    }

    static rfbBool allocateFrame(rfbClient *client)
    {
        VncWorker *worker = of(client);
        if (client->width <= 0 || client->height <= 0 || client->width > maxSide || client->height > maxSide) {
            return FALSE;
        }
        worker->m_pixels = QImage(client->width, client->height, QImage::Format_RGB32);
        if (worker->m_pixels.isNull()) {
            return FALSE;
        }
        worker->m_pixels.fill(Qt::black);
        client->frameBuffer = worker->m_pixels.bits();
        worker->m_changed = worker->m_pixels.rect();
        return TRUE;
    }

    static void frameUpdated(rfbClient *client, int x, int y, int w, int h)
    {
        of(client)->m_changed += QRect(x, y, w, h);
    }

    /// Copies what changed into the connection's frame, and tells the GUI
    /// thread once until it has looked.
    static void frameFinished(rfbClient *client)
    {
        VncWorker *worker = of(client);
        VncConnection *connection = worker->m_connection;
        {
            QMutexLocker locker(&connection->m_frameMutex);
            if (connection->m_frame.size() != worker->m_pixels.size()) {
                connection->m_frame = QImage(worker->m_pixels.size(), QImage::Format_RGB32);
                worker->m_changed = worker->m_pixels.rect();
            }
            for (const QRect &rect : worker->m_changed) {
                const QRect area = rect.intersected(worker->m_pixels.rect());
                for (int y = area.top(); y <= area.bottom(); ++y) {
                    const auto *from = reinterpret_cast<const QRgb *>(worker->m_pixels.constScanLine(y)) + area.left();
                    auto *to = reinterpret_cast<QRgb *>(connection->m_frame.scanLine(y)) + area.left();
                    for (int x = 0; x < area.width(); ++x) {
                        to[x] = from[x] | 0xff000000u; // opaque, whatever the padding byte was
                    }
                }
            }
        }
        worker->m_changed = QRegion();
        if (!connection->m_frameSignalPending.exchange(true)) {
            worker->post([](VncConnection *connection) {
                connection->m_frameSignalPending = false; // before the pixels are looked at
                Q_EMIT connection->frameChanged();
            });
        }
    }

    static void cutTextReceived(rfbClient *client, const char *text, int length)
    {
        const QString received = QString::fromLatin1(text, length);
        of(client)->post([received](VncConnection *connection) {
            Q_EMIT connection->clipboardReceived(received);
        });
    }

    VncConnection *m_connection;
    const quint64 m_generation;
    rfbClient *m_client = nullptr;
    std::atomic<int> m_socket = -1;
    std::atomic<bool> m_interrupted = false;
    QSocketNotifier *m_notifier = nullptr;
    QImage m_pixels; ///< what libvncclient writes into
    QRegion m_changed;
    bool m_failed = false;
};

VncConnection::VncConnection(QObject *parent)
    : QObject(parent)
{
}

VncConnection::~VncConnection()
{
    close();
}

void VncConnection::open(const QString &socketPath)
{
    close();
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("VNC connection"));
    m_worker = new VncWorker(this, ++m_generation);
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread->start();
    QMetaObject::invokeMethod(m_worker, [worker = m_worker, socketPath] {
        worker->start(socketPath);
    });
}

void VncConnection::close()
{
    if (!m_thread) {
        return;
    }
    ++m_generation; // what the old connection still posts is dropped
    m_worker->interrupt();
    m_thread->quit();
    m_thread->wait(); // the worker is deleted on its thread as it finishes
    delete m_thread;
    m_thread = nullptr;
    m_worker = nullptr;
    m_frameSignalPending = false;
}

QImage VncConnection::frame() const
{
    QMutexLocker locker(&m_frameMutex);
    return m_frame.copy();
}

void VncConnection::sendKey(quint32 keysym, bool down)
{
    if (m_worker) {
        QMetaObject::invokeMethod(m_worker, [worker = m_worker, keysym, down] {
            worker->sendKey(keysym, down);
        });
    }
}

void VncConnection::sendPointer(QPoint position, int buttonMask)
{
    if (m_worker) {
        QMetaObject::invokeMethod(m_worker, [worker = m_worker, position, buttonMask] {
            worker->sendPointer(position, buttonMask);
        });
    }
}

void VncConnection::sendClipboard(const QString &text)
{
    if (m_worker) {
        QMetaObject::invokeMethod(m_worker, [worker = m_worker, text] {
            worker->sendClipboard(text);
        });
    }
}
