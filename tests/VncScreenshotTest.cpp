// SPDX-License-Identifier: GPL-2.0-or-later
// VncScreenshot against a real Xvnc on a unix socket, and the demo app on
// that display.
#include "VncScreenshot.h"
#include "TestSkip.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <mutex>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace Rewind;
using namespace std::chrono_literals;

namespace
{

/// The fraction of pixels of image close to color.
double fractionOfColor(const QImage &image, QColor color)
{
    const QImage pixels = image.convertToFormat(QImage::Format_RGB32);
    qint64 matching = 0;
    for (int y = 0; y < pixels.height(); ++y) {
        const auto *line = reinterpret_cast<const QRgb *>(pixels.constScanLine(y));
        for (int x = 0; x < pixels.width(); ++x) {
            if (qAbs(qRed(line[x]) - color.red()) < 16 && qAbs(qGreen(line[x]) - color.green()) < 16 && qAbs(qBlue(line[x]) - color.blue()) < 16) {
                ++matching;
            }
        }
    }
    return pixels.isNull() ? 0.0 : double(matching) / (double(pixels.width()) * pixels.height());
}

/// A unix socket bound at path; listening if asked, but never accepting.
class SilentSocket
{
public:
    SilentSocket(const QString &path, bool listening)
        : m_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray encoded = QFile::encodeName(path);
        qstrncpy(address.sun_path, encoded.constData(), sizeof address.sun_path);
        m_ok = m_fd >= 0 && ::bind(m_fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 && (!listening || ::listen(m_fd, 4) == 0);
    }
    ~SilentSocket()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    SilentSocket(const SilentSocket &) = delete;
    SilentSocket &operator=(const SilentSocket &) = delete;
    bool ok() const
    {
        return m_ok;
    }

private:
    int m_fd;
    bool m_ok = false;
};

/// A minimal RFB 3.8 server on a unix socket, for one client: it announces a
/// framebuffer of the given size and, if it is small, sends it filled with
/// one colour (raw encoding, in the pixel format the client asked for).
/// It notes the uid and gid of the client that connected.
class FakeVncServer
{
public:
    FakeVncServer(const QString &path, int width, int height, QRgb colour)
        : m_listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray encoded = QFile::encodeName(path);
        qstrncpy(address.sun_path, encoded.constData(), sizeof address.sun_path);
        m_ok = m_listener >= 0 && ::bind(m_listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0
            && ::chmod(encoded.constData(), 0777) == 0 && ::listen(m_listener, 1) == 0;
        if (m_ok) {
            m_thread = std::thread([this, width, height, colour] {
                serve(width, height, colour);
            });
        }
    }
    ~FakeVncServer()
    {
        ::shutdown(m_listener, SHUT_RDWR);
        if (m_thread.joinable()) {
            m_thread.join();
        }
        ::close(m_listener);
    }
    FakeVncServer(const FakeVncServer &) = delete;
    FakeVncServer &operator=(const FakeVncServer &) = delete;

    bool ok() const
    {
        return m_ok;
    }
    /// The client's credentials, once it connected.
    ucred peer() const
    {
        std::lock_guard lock(m_mutex);
        return m_peer;
    }

private:
    static bool sendAll(int fd, const QByteArray &data)
    {
        return ::send(fd, data.constData(), data.size(), MSG_NOSIGNAL) == data.size();
    }
    static bool receive(int fd, qsizetype size)
    {
        QByteArray buffer(size, '\0');
        qsizetype got = 0;
        while (got < size) {
            const ssize_t n = ::recv(fd, buffer.data() + got, size - got, 0);
            if (n <= 0) {
                return false;
            }
            got += n;
        }
        return true;
    }
    static QByteArray u16(int value)
    {
        return QByteArray(1, char(value >> 8 & 0xff)) + char(value & 0xff);
    }
    static QByteArray u32(quint32 value)
    {
        return u16(int(value >> 16)) + u16(int(value & 0xffff));
    }

    void serve(int width, int height, QRgb colour)
    {
        const int client = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            return;
        }
        ucred credentials{};
        socklen_t length = sizeof credentials;
        ::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length);
        {
            std::lock_guard lock(m_mutex);
            m_peer = credentials;
        }
        // Version, security type None, result OK, client init.
        const bool handshake = sendAll(client, "RFB 003.008\n") && receive(client, 12) && sendAll(client, QByteArray("\x01\x01", 2)) && receive(client, 1)
            && sendAll(client, u32(0)) && receive(client, 1);
        // Server init: size, 32 bpp little-endian true colour 0x00RRGGBB, a name.
        const QByteArray format = QByteArray("\x20\x18\x00\x01", 4) + u16(255) + u16(255) + u16(255) + QByteArray("\x10\x08\x00\x00\x00\x00", 6);
        if (handshake && sendAll(client, u16(width) + u16(height) + format + u32(4) + "fake")) {
            if (width * height <= 256 * 256) {
                // SetPixelFormat and SetEncodings arrive first; then the picture, whatever was asked.
                ::usleep(200 * 1000);
                QByteArray update = QByteArray("\x00\x00", 2) + u16(1) + u16(0) + u16(0) + u16(width) + u16(height) + u32(0);
                for (int i = 0; i < width * height; ++i) {
                    const quint32 pixel = colour & 0xffffff;
                    update += char(pixel & 0xff);
                    update += char(pixel >> 8 & 0xff);
                    update += char(pixel >> 16 & 0xff);
                    update += '\0';
                }
                sendAll(client, update);
            }
            // Until the client is done.
            char discard[4096];
            while (::recv(client, discard, sizeof discard, 0) > 0) { }
        }
        ::close(client);
    }

    int m_listener;
    bool m_ok = false;
    mutable std::mutex m_mutex;
    ucred m_peer{};
    std::thread m_thread;
};

/// The peak resident memory of this process, in kB.
qint64 peakResidentKb()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const auto lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmHWM:")) {
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
        }
    }
    return -1;
}

} // namespace

class VncScreenshotTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_display = -1;
    QString m_socket;
    std::unique_ptr<QProcess> m_xvnc; // QProcess kills its process when destroyed
    std::unique_ptr<QProcess> m_demo;

    QProcessEnvironment displayEnvironment() const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("DISPLAY"), QStringLiteral(":%1").arg(m_display));
        return env;
    }

    /// Runs an X client on the test display and returns its output; fails the test on error.
    QByteArray runOnDisplay(const QString &program, const QStringList &arguments, bool *ok)
    {
        QProcess process;
        process.setProcessEnvironment(displayEnvironment());
        process.start(program, arguments);
        *ok = process.waitForFinished(10000) && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
        if (!*ok) {
            qWarning() << program << arguments << process.errorString() << process.readAllStandardError();
        }
        return process.readAllStandardOutput();
    }

    /// Ends a process the test started (also done by QProcess's destructor
    /// when a test fails early, if less politely).
    static void stop(std::unique_ptr<QProcess> &process)
    {
        if (process && process->state() != QProcess::NotRunning) {
            process->terminate();
            if (!process->waitForFinished(5000)) {
                process->kill();
                process->waitForFinished(5000);
            }
        }
        process.reset();
    }

    Result<QImage> grab()
    {
        return VncScreenshot::grab(m_socket, 10s);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (QStandardPaths::findExecutable(QStringLiteral("Xvnc")).isEmpty()) {
            REWIND_SKIP("Xvnc (tigervnc-standalone-server) is not installed");
        }
        for (int display = 20; display < 100; ++display) {
            if (!QFileInfo::exists(QStringLiteral("/tmp/.X11-unix/X%1").arg(display)) && !QFileInfo::exists(QStringLiteral("/tmp/.X%1-lock").arg(display))) {
                m_display = display;
                break;
            }
        }
        QVERIFY2(m_display > 0, "no free X display number");
        m_socket = m_dir.filePath(QStringLiteral("vnc"));

        m_xvnc = std::make_unique<QProcess>();
        m_xvnc->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_xvnc->start(QStringLiteral("Xvnc"),
                      {QStringLiteral(":%1").arg(m_display),
                       QStringLiteral("-rfbunixpath"),
                       m_socket,
                       QStringLiteral("-rfbport"),
                       QStringLiteral("-1"),
                       QStringLiteral("-SecurityTypes"),
                       QStringLiteral("None"),
                       QStringLiteral("-geometry"),
                       QStringLiteral("640x480"),
                       QStringLiteral("-depth"),
                       QStringLiteral("24"),
                       QStringLiteral("-nolisten"),
                       QStringLiteral("tcp")});
        QVERIFY2(m_xvnc->waitForStarted(), qPrintable(m_xvnc->errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(m_socket).exists() || m_xvnc->state() != QProcess::Running, 15000);
        QVERIFY2(m_xvnc->state() == QProcess::Running, "Xvnc exited");
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(QStringLiteral("/tmp/.X11-unix/X%1").arg(m_display)), 15000);
    }

    void cleanupTestCase()
    {
        stop(m_demo);
        stop(m_xvnc);
    }

    void grabsTheRootWindow()
    {
        bool ok = false;
        runOnDisplay(QStringLiteral("xsetroot"), {QStringLiteral("-solid"), QStringLiteral("red")}, &ok);
        QVERIFY(ok);
        const auto red = grab();
        QVERIFY2(red.ok(), qPrintable(red.errorMessage()));
        QCOMPARE(red->size(), QSize(640, 480));
        QCOMPARE(red->format(), QImage::Format_RGB32);
        QVERIFY2(fractionOfColor(*red, Qt::red) > 0.95, qPrintable(QString::number(fractionOfColor(*red, Qt::red))));

        runOnDisplay(QStringLiteral("xsetroot"), {QStringLiteral("-solid"), QStringLiteral("#0000ff")}, &ok);
        QVERIFY(ok);
        const auto blue = grab();
        QVERIFY2(blue.ok(), qPrintable(blue.errorMessage()));
        QVERIFY(fractionOfColor(*blue, Qt::blue) > 0.95);

        QCOMPARE(VncScreenshot::differingFraction(*red, *red), 0.0);
        QVERIFY(VncScreenshot::differingFraction(*red, *blue) > 0.95);

        const QImage thumbnail = VncScreenshot::thumbnail(*blue);
        QCOMPARE(thumbnail.size(), QSize(320, 240));
        QVERIFY(fractionOfColor(thumbnail, Qt::blue) > 0.9);
    }

    void leavesNoDescriptorsOpen()
    {
        const auto openDescriptors = []() {
            return QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot).size();
        };
        QVERIFY(grab().ok()); // anything allocated once is allocated now
        const auto before = openDescriptors();
        for (int i = 0; i < 5; ++i) {
            const auto image = grab();
            QVERIFY2(image.ok(), qPrintable(image.errorMessage()));
            QVERIFY(!VncScreenshot::grab(m_dir.filePath(QStringLiteral("missing")), 1s).ok());
        }
        QCOMPARE(openDescriptors(), before);
    }

    void differingFractionCountsPixels()
    {
        QImage a(100, 100, QImage::Format_RGB32);
        a.fill(Qt::white);
        QImage b = a.copy();
        for (int y = 0; y < 10; ++y) {
            for (int x = 0; x < 10; ++x) {
                b.setPixel(x, y, qRgb(0, 0, 0));
            }
        }
        QCOMPARE(VncScreenshot::differingFraction(a, b), 0.01);
        QCOMPARE(VncScreenshot::differingFraction(b, a), 0.01);
        // The changed corner ignored: the rest is the same.
        QCOMPARE(VncScreenshot::differingFraction(a, b, QRect(0, 0, 10, 10)), 0.0);
        QCOMPARE(VncScreenshot::differingFraction(a, b, QRect(5, 5, 50, 50)), 75.0 / (10000 - 2500));
        // Formats do not matter, sizes do.
        QCOMPARE(VncScreenshot::differingFraction(a, a.convertToFormat(QImage::Format_ARGB32)), 0.0);
        QCOMPARE(VncScreenshot::differingFraction(a, a.scaled(50, 50)), 1.0);
        QCOMPARE(VncScreenshot::differingFraction(a, a, a.rect()), 0.0);
    }

    void thumbnailKeepsAspect()
    {
        QImage wide(1280, 800, QImage::Format_RGB32);
        wide.fill(Qt::green);
        QCOMPARE(VncScreenshot::thumbnail(wide).size(), QSize(320, 200));
        QCOMPARE(VncScreenshot::thumbnail(wide, 640).size(), QSize(640, 400));
        QCOMPARE(VncScreenshot::thumbnail(wide, 2000).size(), wide.size());
        QVERIFY(VncScreenshot::thumbnail(QImage()).isNull());
        QVERIFY(VncScreenshot::thumbnail(wide, 0).isNull());
    }

    void refusesWhatIsNotAVncSocket()
    {
        const QString missing = m_dir.filePath(QStringLiteral("missing"));
        auto result = VncScreenshot::grab(missing, 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(missing), qPrintable(result.errorMessage()));
        QVERIFY2(result.errorMessage().contains(QStringLiteral("No such file")), qPrintable(result.errorMessage()));

        const QString regular = m_dir.filePath(QStringLiteral("regular"));
        QFile file(regular);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        result = VncScreenshot::grab(regular, 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("is not a socket")), qPrintable(result.errorMessage()));

        result = VncScreenshot::grab(m_dir.path(), 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("is not a socket")), qPrintable(result.errorMessage()));

        result = VncScreenshot::grab(QStringLiteral("relative/vnc"), 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("not absolute")), qPrintable(result.errorMessage()));

        const QString notListening = m_dir.filePath(QStringLiteral("not-listening"));
        SilentSocket bound(notListening, false);
        QVERIFY(bound.ok());
        result = VncScreenshot::grab(notListening, 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("Nothing listens")), qPrintable(result.errorMessage()));
    }

    void refusesSymbolicLinks()
    {
        QVERIFY(!m_socket.isEmpty());
        const QString link = m_dir.filePath(QStringLiteral("vnc-link"));
        QVERIFY(QFile::link(m_socket, link));
        auto result = VncScreenshot::grab(link, 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(result.errorMessage()));

        // A link to the directory holding the socket is refused as well.
        const QString dirLink = m_dir.filePath(QStringLiteral("dir-link"));
        QVERIFY(QFile::link(m_dir.path(), dirLink));
        result = VncScreenshot::grab(dirLink + QStringLiteral("/vnc"), 1s);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("symbolic link")), qPrintable(result.errorMessage()));
    }

    void givesUpOnASilentServer()
    {
        const QString path = m_dir.filePath(QStringLiteral("silent"));
        SilentSocket silent(path, true);
        QVERIFY(silent.ok());
        QElapsedTimer timer;
        timer.start();
        const auto result = VncScreenshot::grab(path, 300ms);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("did not answer within 300 ms")), qPrintable(result.errorMessage()));
        QVERIFY2(timer.elapsed() < 3000, qPrintable(QString::number(timer.elapsed())));
    }

    void refusesServersThatWantAPassword()
    {
        int display = -1;
        for (int candidate = m_display + 1; candidate < 100; ++candidate) {
            if (!QFileInfo::exists(QStringLiteral("/tmp/.X11-unix/X%1").arg(candidate))
                && !QFileInfo::exists(QStringLiteral("/tmp/.X%1-lock").arg(candidate))) {
                display = candidate;
                break;
            }
        }
        QVERIFY(display > 0);
        // A VNC password file holds 8 obfuscated bytes; any 8 bytes are a password.
        QFile passwordFile(m_dir.filePath(QStringLiteral("passwd")));
        QVERIFY(passwordFile.open(QIODevice::WriteOnly));
        passwordFile.write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
        passwordFile.close();
        const QString socket = m_dir.filePath(QStringLiteral("vnc-password"));
        auto xvnc = std::make_unique<QProcess>();
        xvnc->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        xvnc->start(QStringLiteral("Xvnc"),
                    {QStringLiteral(":%1").arg(display),
                     QStringLiteral("-rfbunixpath"),
                     socket,
                     QStringLiteral("-rfbport"),
                     QStringLiteral("-1"),
                     QStringLiteral("-SecurityTypes"),
                     QStringLiteral("VncAuth"),
                     QStringLiteral("-PasswordFile"),
                     passwordFile.fileName(),
                     QStringLiteral("-geometry"),
                     QStringLiteral("320x200"),
                     QStringLiteral("-nolisten"),
                     QStringLiteral("tcp")});
        QVERIFY2(xvnc->waitForStarted(), qPrintable(xvnc->errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(socket).exists() || xvnc->state() != QProcess::Running, 15000);
        QVERIFY2(xvnc->state() == QProcess::Running, "Xvnc exited");

        QElapsedTimer timer;
        timer.start();
        const auto result = VncScreenshot::grab(socket, 10s);
        const qint64 elapsed = timer.elapsed();
        stop(xvnc);
        QVERIFY(!result.ok());
        QVERIFY2(result.errorMessage().contains(QStringLiteral("password")), qPrintable(result.errorMessage()));
        QVERIFY2(elapsed < 5000, qPrintable(QString::number(elapsed)));
    }

    void grabsAsTheDisplaysOwner()
    {
        const QString path = m_dir.filePath(QStringLiteral("fake-small"));
        FakeVncServer server(path, 64, 32, qRgb(0, 200, 0));
        QVERIFY(server.ok());
        // The directory is root's alone; the socket is opened here and only its descriptor reaches the grabber.
        const auto image = VncScreenshot::grabInCell(::getpid(), path, 10s, 1500, 1500, QSize(64, 32));
        QVERIFY2(image.ok(), qPrintable(image.errorMessage()));
        QCOMPARE(image->size(), QSize(64, 32));
        QVERIFY(fractionOfColor(*image, QColor(0, 200, 0)) > 0.99);
        QCOMPARE(server.peer().uid, uid_t(1500));
        QCOMPARE(server.peer().gid, gid_t(1500));
    }

    void refusesHugeFramebuffers()
    {
        const qint64 peakBefore = peakResidentKb();
        {
            // 16000x16000 is 1 GB of pixels, below libvncclient's own limits.
            const QString path = m_dir.filePath(QStringLiteral("fake-huge"));
            FakeVncServer server(path, 16000, 16000, qRgb(0, 0, 0));
            QVERIFY(server.ok());
            const auto result = VncScreenshot::grabInCell(::getpid(), path, 10s, 1500, 1500);
            QVERIFY(!result.ok());
            QVERIFY2(result.errorMessage().contains(QStringLiteral("16000x16000 refused")), qPrintable(result.errorMessage()));
        }
        {
            // Larger than the display is expected to be.
            const QString path = m_dir.filePath(QStringLiteral("fake-larger"));
            FakeVncServer server(path, 200, 100, qRgb(0, 0, 0));
            QVERIFY(server.ok());
            const auto result = VncScreenshot::grabInCell(::getpid(), path, 10s, 1500, 1500, QSize(100, 100));
            QVERIFY(!result.ok());
            QVERIFY2(result.errorMessage().contains(QStringLiteral("200x100 refused")), qPrintable(result.errorMessage()));
        }
        // Nothing of that size was ever allocated here.
        QVERIFY2(peakResidentKb() - peakBefore < 64 * 1024, qPrintable(QString::number(peakResidentKb() - peakBefore)));
    }

    void demoAppRunsOnTheDisplay()
    {
        QVERIFY(m_display > 0);
        bool ok = false;
        runOnDisplay(QStringLiteral("xsetroot"), {QStringLiteral("-solid"), QStringLiteral("black")}, &ok);
        QVERIFY(ok);
        const auto before = grab();
        QVERIFY2(before.ok(), qPrintable(before.errorMessage()));

        const QString state = m_dir.filePath(QStringLiteral("demo-state"));
        QProcessEnvironment env = displayEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
        env.insert(QStringLiteral("REWIND_DEMO_STATE"), state);
        m_demo = std::make_unique<QProcess>();
        m_demo->setProcessEnvironment(env);
        m_demo->setProcessChannelMode(QProcess::ForwardedChannels);
        m_demo->start(QStringLiteral(BUILD_BIN_DIR "/rewind-demo-app"), QStringList());
        QVERIFY2(m_demo->waitForStarted(), qPrintable(m_demo->errorString()));

        QByteArray tree;
        QTRY_VERIFY_WITH_TIMEOUT(
            (tree = runOnDisplay(QStringLiteral("xwininfo"), {QStringLiteral("-root"), QStringLiteral("-tree")}, &ok)).contains("\"Rewind demo\"")
                || m_demo->state() != QProcess::Running,
            15000);
        QVERIFY2(m_demo->state() == QProcess::Running, "rewind-demo-app exited");
        QVERIFY2(tree.contains("\"Rewind demo\""), tree.constData());

        const auto readCount = [&state]() {
            QFile file(state);
            return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed().toLongLong() : -1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(readCount() > 0, 10000);
        const qint64 first = readCount();
        QTRY_VERIFY_WITH_TIMEOUT(readCount() >= first + 3, 10000);

        // The window shows on the screen.
        QTRY_VERIFY_WITH_TIMEOUT(VncScreenshot::differingFraction(*before, grab().value()) > 0.1, 10000);

        stop(m_demo);
    }
};

REWIND_TEST_GUILESS_MAIN(VncScreenshotTest)
#include "VncScreenshotTest.moc"
