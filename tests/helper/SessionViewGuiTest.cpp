// SPDX-License-Identifier: GPL-2.0-or-later
// The session view as its user has it (as rewind-user, run by
// rewind-test-as-owner), on a real session (the "viewing" spec of
// with-system-bus: a blue xterm running cat on a bare Xvnc) through the
// real helper's relay: the view shows the session's pixels, keys, clicks
// and the clipboard go both ways while interactive and nothing does while
// read-only, and a snapshot only interrupts the view.
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "LiveViewWindow.h"
#include "SessionView.h"
#include "TestSkip.h"
#include "VncConnection.h"
#include "VncScreenshot.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QJsonObject>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include <optional>
#include <unistd.h>

using namespace Rewind;

namespace
{
/// The terminal's background (-bg rgb:20/70/b0).
constexpr QRgb terminalBlue = 0xff2070b0;
constexpr auto screenshotTimeout = std::chrono::seconds(10);

/// The fraction of the image's pixels that are the terminal's blue.
double blueFraction(const QImage &image)
{
    if (image.isNull()) {
        return 0;
    }
    const QImage pixels = image.convertToFormat(QImage::Format_RGB32);
    qint64 blue = 0;
    for (int y = 0; y < pixels.height(); ++y) {
        const auto *line = reinterpret_cast<const QRgb *>(pixels.constScanLine(y));
        for (int x = 0; x < pixels.width(); ++x) {
            blue += (line[x] | 0xff000000u) == terminalBlue;
        }
    }
    return double(blue) / double(qint64(pixels.width()) * pixels.height());
}

/// A band of pixel rows holding the terminal's white text (or its cursor)
/// in the upper left quarter of the screen: one line of the terminal,
/// wherever its font puts it.
struct TextLine {
    int top = 0;
    int left = 0;
    int right = 0;
    int width() const
    {
        return right - left + 1;
    }
};
QList<TextLine> textLines(const QImage &frame)
{
    QList<TextLine> lines;
    bool inLine = false;
    for (int y = 0; y < frame.height() / 2; ++y) {
        int left = -1;
        int right = -1;
        for (int x = 0; x < frame.width() / 2; ++x) {
            const QColor pixel(frame.pixel(x, y));
            if (pixel.red() > 0xc0 && pixel.green() > 0xc0 && pixel.blue() > 0xc0) {
                left = left < 0 ? x : left;
                right = x;
            }
        }
        if (left >= 0 && !inLine) {
            lines.append({y, left, right});
        } else if (left >= 0) {
            lines.last().left = std::min(lines.last().left, left);
            lines.last().right = std::max(lines.last().right, right);
        }
        inLine = left >= 0;
    }
    return lines;
}
/// How wide the terminal's white text is inside area (0: none).
int textWidth(const QImage &frame, const QRect &area)
{
    int left = -1;
    int right = -1;
    const QRect inside = area.intersected(frame.rect());
    for (int y = inside.top(); y <= inside.bottom(); ++y) {
        for (int x = inside.left(); x <= inside.right(); ++x) {
            const QColor pixel(frame.pixel(x, y));
            if (pixel.red() > 0xc0 && pixel.green() > 0xc0 && pixel.blue() > 0xc0) {
                left = left < 0 ? x : std::min(left, x);
                right = std::max(right, x);
            }
        }
    }
    return left < 0 ? 0 : right - left + 1;
}
/// Whether line holds more than a cursor: a word of some characters.
bool holdsWord(const QList<TextLine> &lines, int line)
{
    return lines.size() > line && lines.at(line).width() > 40;
}
}

class SessionViewGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QString m_session;

    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    /// A picture of the session's screen through a connection of its own.
    static QImage screenshot(const LiveViewWindow &window)
    {
        auto picture = VncScreenshot::grab(window.socketPath(), screenshotTimeout);
        return picture ? *picture : QImage();
    }

    /// Whether the view shows, pixel for pixel, what a second connection to the display sees.
    static bool showsWhatTheSessionShows(const LiveViewWindow &window)
    {
        const QImage seen = screenshot(window);
        return !seen.isNull() && VncScreenshot::differingFraction(window.picture(), seen) == 0.0;
    }

    /// Opens the session's view and waits until it shows the terminal.
    static bool waitForTerminal(LiveViewWindow &window)
    {
        window.show();
        window.activateWindow();
        return QTest::qWaitForWindowActive(&window)
            && QTest::qWaitFor(
                   [&] {
                       return blueFraction(window.picture()) > 0.3;
                   },
                   60000);
    }

    /// Two clicks in a row, which the display counts as a double click.
    static void doubleClick(QWidget *view, QPoint position)
    {
        QTest::mouseMove(view, position);
        QTest::mouseClick(view, Qt::LeftButton, {}, position);
        QTest::mouseClick(view, Qt::LeftButton, {}, position);
    }

    static void keepPicture(QWidget *widget, const QString &name)
    {
        // For a person to look at: REWIND_TEST_SCREENSHOT_DIR keeps pictures of the window.
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            widget->grab().save(directory + QLatin1Char('/') + name);
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the view's tests run as rewind-user (rewind-test-as-owner), never as root");
        if (QStandardPaths::findExecutable(QStringLiteral("xterm")).isEmpty()) {
            REWIND_SKIP("xterm is not installed; the test session runs one");
        }
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("viewing")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_session = started->toObject().value(QStringLiteral("id")).toString();
        QVERIFY(!m_session.isEmpty());
    }

    void cleanupTestCase()
    {
        if (!m_session.isEmpty()) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, m_session}});
        }
    }

    void theViewShowsTheSessionsPixels()
    {
        LiveViewWindow window(&m_client, m_session);
        window.setAttribute(Qt::WA_DeleteOnClose, false);
        QVERIFY2(waitForTerminal(window), "the view never showed the session's terminal");
        QVERIFY(window.windowTitle().contains(m_session));
        QVERIFY(!window.isInteractive());
        QCOMPARE(window.picture().size(), QSize(640, 480));

        // Exactly what the session shows, as a second connection sees it.
        QTRY_VERIFY_WITH_TIMEOUT(showsWhatTheSessionShows(window), 30000);

        // And drawn on the screen: the widget shows the blue, scaled to fit.
        SessionView *view = window.view();
        QVERIFY(view->note().isEmpty());
        const QRect picture = view->pictureRect();
        QVERIFY(picture.width() > 320);
        const QImage rendered = view->grab().toImage();
        QVERIFY2(blueFraction(rendered.copy(picture)) > 0.3, "the window does not show the session's screen");
        keepPicture(&window, QStringLiteral("session-view.png"));

        // 100%: the view is as large as the display, pixel for pixel.
        QTest::keyClick(&window, Qt::Key_F, Qt::ControlModifier | Qt::AltModifier);
        QVERIFY(!view->fitsToWindow());
        QTRY_COMPARE(view->pictureRect(), QRect(0, 0, 640, 480));
        QTRY_COMPARE(view->size(), QSize(640, 480));
        QCOMPARE(view->grab().toImage().convertToFormat(QImage::Format_RGB32).copy(0, 0, 640, 480), window.picture());
    }

    void readOnlySendsNothing()
    {
        LiveViewWindow window(&m_client, m_session);
        window.setAttribute(Qt::WA_DeleteOnClose, false);
        QVERIFY(waitForTerminal(window));
        SessionView *view = window.view();
        const QImage before = screenshot(window);
        QVERIFY(!before.isNull());

        QTest::mouseMove(view, view->pictureRect().center());
        QTest::keyClicks(view, QStringLiteral("readonly"));
        QTest::keyClick(view, Qt::Key_Return);
        QTest::mouseClick(view, Qt::MiddleButton, {}, view->pictureRect().center());
        // Nothing can be awaited when nothing is to happen: give the
        // connection's thread and the terminal time to show what they would have got.
        QTest::qWait(1500);
        QCOMPARE(view->connection()->inputMessagesSent(), 0);
        QCOMPARE(VncScreenshot::differingFraction(screenshot(window), before), 0.0);
    }

    void keysClicksAndTheClipboardGoBothWays()
    {
        QClipboard *clipboard = QApplication::clipboard();
        QVERIFY(clipboard);
        clipboard->setText(QStringLiteral("before interacting"));
        LiveViewWindow window(&m_client, m_session);
        window.setAttribute(Qt::WA_DeleteOnClose, false);
        QVERIFY(waitForTerminal(window));
        SessionView *view = window.view();
        const auto keepFailure = qScopeGuard([&window] {
            if (QTest::currentTestFailed()) {
                keepPicture(&window, QStringLiteral("session-view-interactive-failed.png"));
            }
        });
        // 100%: widget and display coordinates are the same.
        window.findChild<QAction *>(QStringLiteral("fitToWindow"))->trigger();
        QTRY_COMPARE(view->pictureRect(), QRect(0, 0, 640, 480));
        // Interact, from the keyboard.
        QTest::keyClick(&window, Qt::Key_I, Qt::ControlModifier | Qt::AltModifier);
        QVERIFY(window.isInteractive());
        QVERIFY(view->isInteractive());

        // Keys typed in the view reach the terminal (under the pointer, which has the keyboard).
        const QImage before = window.picture();
        QTest::mouseMove(view, QPoint(400, 300));
        QTest::keyClicks(view, QStringLiteral("rewindkeys"));
        QTest::keyClick(view, Qt::Key_Return);
        // Echoed by the terminal on its first line, and again by cat on the second.
        QTRY_VERIFY_WITH_TIMEOUT(holdsWord(textLines(window.picture()), 0) && holdsWord(textLines(window.picture()), 1), 30000);
        const QList<TextLine> lines = textLines(window.picture());
        QVERIFY(VncScreenshot::differingFraction(window.picture(), before) > 0);
        const int lineHeight = lines.at(1).top - lines.at(0).top;
        QVERIFY(lineHeight > 5);

        // A double click selects the typed word; the session's selection comes to this clipboard.
        doubleClick(view, QPoint(lines.at(0).left + 12, lines.at(0).top + lineHeight / 3));
        QTRY_COMPARE_WITH_TIMEOUT(clipboard->text(), QStringLiteral("rewindkeys"), 30000);

        // This clipboard goes to the session: a middle click pastes it into the terminal's third line.
        clipboard->setText(QStringLiteral("pastedfromrewind"));
        QTest::mouseClick(view, Qt::MiddleButton, {}, QPoint(400, 300));
        // The upper half of a line's letters: below the descenders of the line above.
        const auto letters = [&](int line) {
            return QRect(0, lines.at(0).top + line * lineHeight, 320, lineHeight / 2);
        };
        QTRY_VERIFY_WITH_TIMEOUT(textWidth(window.picture(), letters(2)) > 40, 30000);
        // Exactly that text: the same word typed on the fifth line (after cat's copy on the fourth) looks the same.
        // Typed only once cat's copy is there: the terminal echoes a key at once, and cat writes when it is scheduled.
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(textWidth(window.picture(), letters(3)) > 40, 30000);
        QTest::keyClicks(view, QStringLiteral("pastedfromrewind"));
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(textWidth(window.picture(), letters(5)) > 40, 30000);
        // The display's updates of the lines above may still be on their way.
        QTRY_COMPARE_WITH_TIMEOUT(window.picture().copy(letters(4)), window.picture().copy(letters(2)), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(window.picture().copy(letters(3)), window.picture().copy(letters(2)), 10000);
        QVERIFY(window.picture().copy(letters(1)) != window.picture().copy(letters(2)));
        QVERIFY(view->connection()->inputMessagesSent() > 0);
        keepPicture(&window, QStringLiteral("session-view-interactive.png"));

        // Back to read-only from the keyboard, while the keyboard is the session's.
        QTest::keyClick(view, Qt::Key_I, Qt::ControlModifier | Qt::AltModifier);
        QVERIFY(!window.isInteractive());
    }

    void aSnapshotOnlyInterruptsTheView()
    {
        LiveViewWindow window(&m_client, m_session);
        window.setAttribute(Qt::WA_DeleteOnClose, false);
        QVERIFY(waitForTerminal(window));
        QSignalSpy lost(window.view()->connection(), &VncConnection::disconnected);
        QSignalSpy connected(window.view()->connection(), &VncConnection::connected);
        QSignalSpy pictures(&window, &LiveViewWindow::pictureChanged);

        auto taken = call(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, m_session}});
        QVERIFY2(taken.ok(), qPrintable(taken.errorMessage()));
        // The snapshot ended the connection; the view made a new one and shows the screen again.
        QTRY_VERIFY_WITH_TIMEOUT(lost.size() >= 1, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(connected.size() >= 1 && pictures.size() >= 1 && window.view()->note().isEmpty(), 60000);
        QVERIFY(!window.findChild<QWidget *>(QStringLiteral("message"))->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(showsWhatTheSessionShows(window), 30000);
        QVERIFY(blueFraction(window.picture()) > 0.3);
    }
};

QTEST_MAIN(SessionViewGuiTest)
#include "SessionViewGuiTest.moc"
