// SPDX-License-Identifier: GPL-2.0-or-later
// The full desktop spec (resources/sessions/desktop.conf) as a session of
// rewind-user: the panel and every app's window come up; each app is given
// input (xdotool through XTEST) that changes its title, the session is
// snapshotted, each app is given more input, and the session is restored in
// place. Each window is back with the title of the snapshot, the panel opens
// and closes its menu on a click, and each app answers input again. A branch
// of the same snapshot shows the same windows and titles beside it.
#include "TestSkip.h"

#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestDisplay.h"
#include "TestSessions.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTest>

#include <functional>

#include <pwd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
// Generous: on a busy machine of two cores Firefox's first start takes tens of seconds.
constexpr int appearTimeoutMs = 180000;
constexpr int answerTimeoutMs = 30000;

/// Input for an app and the title it then shows.
struct Interaction {
    QString keys; ///< keys pressed first (xdotool key), may be empty
    QString text; ///< then typed, may be empty
    QString title; ///< a fragment of the window's title afterwards
};

/// One app of the desktop and three inputs: before the snapshot, after it
/// (undone by the restore), and after the restore.
struct DesktopApp {
    QString windowClass;
    Interaction beforeSnapshot;
    Interaction afterSnapshot;
    Interaction afterRestore;
};

/// A title that only an OSC 0 sequence can give the terminal.
QString terminalTitle(const QString &title)
{
    return QStringLiteral("printf '\\033]0;%s\\007' %1\n").arg(title);
}

/// A page whose title is the given one, typed into the browser's address bar.
QString pageWithTitle(const QString &title)
{
    return QStringLiteral("data:text/html,<title>%1</title>\n").arg(title);
}

const QList<DesktopApp> &desktopApps()
{
    static const QList<DesktopApp> apps{
        {QStringLiteral("xfce4-terminal"),
         {{}, terminalTitle(QStringLiteral("rewind-before")), QStringLiteral("rewind-before")},
         {{}, terminalTitle(QStringLiteral("rewind-after")), QStringLiteral("rewind-after")},
         {{}, terminalTitle(QStringLiteral("rewind-restored")), QStringLiteral("rewind-restored")}},
        {QStringLiteral("thunar"),
         {QStringLiteral("ctrl+l"), QStringLiteral("/usr\n"), QStringLiteral("usr - Thunar")},
         {QStringLiteral("ctrl+l"), QStringLiteral("/etc\n"), QStringLiteral("etc - Thunar")},
         {QStringLiteral("ctrl+l"), QStringLiteral("/var\n"), QStringLiteral("var - Thunar")}},
        // Unsaved text marks the title; a new document is a tab of its own.
        {QStringLiteral("mousepad"),
         {{}, QStringLiteral("typed before the snapshot"), QStringLiteral("*Untitled 1")},
         {QStringLiteral("ctrl+n"), {}, QStringLiteral("Untitled 2")},
         {QStringLiteral("ctrl+n"), {}, QStringLiteral("Untitled 2")}},
        {QStringLiteral("firefox-esr"),
         {QStringLiteral("ctrl+l"), pageWithTitle(QStringLiteral("rewind-before")), QStringLiteral("rewind-before")},
         {QStringLiteral("ctrl+l"), pageWithTitle(QStringLiteral("rewind-after")), QStringLiteral("rewind-after")},
         {QStringLiteral("ctrl+l"), pageWithTitle(QStringLiteral("rewind-restored")), QStringLiteral("rewind-restored")}},
    };
    return apps;
}

const QString panelClass = QStringLiteral("xfce4-panel");

/// Whether condition became true within timeout, asked every 200 ms (each
/// question runs xdotool). Unlike QTRY_*, it does not ask again once it was
/// true: windows come and go while the panel starts.
bool waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (!condition()) {
        if (deadline.hasExpired()) {
            return false;
        }
        QTest::qWait(200);
    }
    return true;
}

QString describeWindows(const TestDisplay &display)
{
    QStringList lines;
    for (const DesktopApp &app : desktopApps()) {
        lines.append(app.windowClass + QStringLiteral(": ") + display.titles(app.windowClass).join(QStringLiteral(" | ")));
    }
    lines.append(panelClass + QStringLiteral(": ") + QString::number(display.visibleWindows(panelClass).size()) + QStringLiteral(" windows"));
    return lines.join(QLatin1Char('\n'));
}

} // namespace

class DesktopSessionTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;

    bool runs(const QString &sessionId, const QString &name) const
    {
        const auto processes = m_sessions->processes(sessionId);
        return processes.ok() && std::any_of(processes->begin(), processes->end(), [&name](const SessionProcess &process) {
                   return process.name == name;
               });
    }

    /// Gives the app's first window the input, and waits for the title it brings.
    void interact(const TestDisplay &display, const QString &windowClass, const Interaction &interaction)
    {
        const QStringList windows = display.visibleWindows(windowClass);
        QVERIFY2(!windows.isEmpty(), qPrintable(windowClass));
        QVERIFY2(display.activate(windows.first()), qPrintable(windowClass));
        if (!interaction.keys.isEmpty()) {
            QVERIFY(display.key(interaction.keys));
        }
        if (!interaction.text.isEmpty()) {
            QVERIFY(display.type(interaction.text));
        }
        QVERIFY2(waitUntil(
                     [&] {
                         return display.hasTitle(windowClass, interaction.title);
                     },
                     answerTimeoutMs),
                 qPrintable(windowClass + QStringLiteral(" shows no title with ") + interaction.title + QStringLiteral(": ")
                            + display.titles(windowClass).join(QStringLiteral(" | "))));
    }

    /// The panel at the top of the screen opens its application menu on a
    /// click at its left end (a tall new window of the panel's; a tooltip is
    /// small), and closes it on Escape.
    void verifyPanelAnswers(const TestDisplay &display)
    {
        const QStringList panels = display.visibleWindows(panelClass);
        QRect topPanel;
        for (const QString &panel : panels) {
            const QRect geometry = display.geometry(panel);
            if (geometry.top() == 0 && geometry.width() > geometry.height()) {
                topPanel = geometry;
            }
        }
        QVERIFY2(topPanel.isValid(), "no panel along the top of the screen");
        QVERIFY(display.click(QPoint(topPanel.left() + 20, topPanel.center().y())));
        QString menu;
        const auto menuOpened = [&] {
            const QStringList windows = display.visibleWindows(panelClass);
            for (const QString &window : windows) {
                if (!panels.contains(window) && display.geometry(window).height() > 100) {
                    menu = window;
                    return true;
                }
            }
            return false;
        };
        QVERIFY2(waitUntil(menuOpened, answerTimeoutMs), "the panel's menu did not open on a click");
        QVERIFY(display.key(QStringLiteral("Escape")));
        QVERIFY2(waitUntil(
                     [&] {
                         return !display.visibleWindows(panelClass).contains(menu);
                     },
                     answerTimeoutMs),
                 "the panel's menu did not close on Escape");
    }

    void verifyShowsSnapshot(const TestDisplay &display)
    {
        const auto windowsOfSnapshot = [&display] {
            return display.visibleWindows(panelClass).size() >= 2 && std::all_of(desktopApps().begin(), desktopApps().end(), [&display](const DesktopApp &app) {
                       return display.hasTitle(app.windowClass, app.beforeSnapshot.title);
                   });
        };
        QVERIFY2(waitUntil(windowsOfSnapshot, answerTimeoutMs), qPrintable(describeWindows(display)));
        for (const DesktopApp &app : desktopApps()) {
            QVERIFY2(!display.hasTitle(app.windowClass, app.afterSnapshot.title), qPrintable(describeWindows(display)));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        if (!TestDisplay::toolsAvailable()) {
            REWIND_SKIP("xdotool is not installed");
        }
        QVERIFY(m_test.isValid());
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void desktopRoundTrips()
    {
        auto spec = SessionSpec::load(QStringLiteral(SOURCE_DIR "/resources/sessions/desktop.conf"));
        QVERIFY2(spec.ok(), qPrintable(spec.errorMessage()));
        QStringList programs{spec->windowManager.value(0)};
        for (const AppSpec &app : std::as_const(spec->apps)) {
            programs.append(app.argv.value(0));
        }
        for (const QString &program : std::as_const(programs)) {
            if (QStandardPaths::findExecutable(program).isEmpty()) {
                REWIND_SKIP(qPrintable(program + QStringLiteral(" of the desktop spec is not installed")));
            }
        }
        QElapsedTimer clock;
        clock.start();
        auto started = m_sessions->start(*spec, userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        const TestDisplay display(started->initPid);
        QVERIFY(display.isValid());
        // The panel and the dock, every app's window, and the terminal's
        // shell (input typed before it runs is lost).
        const auto everythingUp = [&] {
            return display.visibleWindows(panelClass).size() >= 2
                && std::all_of(desktopApps().begin(),
                               desktopApps().end(),
                               [&display](const DesktopApp &app) {
                                   return !display.visibleWindows(app.windowClass).isEmpty();
                               })
                && runs(started->id, QStringLiteral("bash"));
        };
        QVERIFY2(waitUntil(everythingUp, appearTimeoutMs), qPrintable(describeWindows(display)));
        qInfo("the panel and every window are up %lld ms after the start", qint64(clock.elapsed()));
        for (const DesktopApp &app : desktopApps()) {
            interact(display, app.windowClass, app.beforeSnapshot);
            if (QTest::currentTestFailed()) {
                return;
            }
        }

        clock.restart();
        auto snapshot = m_engine->snapshot(started->id, QStringLiteral("desktop"), SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.ok() ? QString() : snapshot.errorMessage() + QLatin1Char('\n') + snapshot.error().details));
        qInfo("snapshot in %lld ms, frozen %.0f ms, %.1f MiB of images, %.1f MiB stored",
              qint64(clock.elapsed()),
              snapshot->metadata.value(QStringLiteral("frozenUs")).toDouble() / 1000.0,
              double(snapshot->logicalBytes) / (1024.0 * 1024.0),
              double(snapshot->storedBytes) / (1024.0 * 1024.0));
        for (const DesktopApp &app : desktopApps()) {
            interact(display, app.windowClass, app.afterSnapshot);
            if (QTest::currentTestFailed()) {
                return;
            }
        }

        clock.restart();
        auto restored = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        qInfo("restored in place in %lld ms", qint64(clock.elapsed()));
        const TestDisplay restoredDisplay(restored->session.initPid);
        QVERIFY(restoredDisplay.isValid());
        verifyShowsSnapshot(restoredDisplay);
        if (QTest::currentTestFailed()) {
            return;
        }
        verifyPanelAnswers(restoredDisplay);
        for (const DesktopApp &app : desktopApps()) {
            if (QTest::currentTestFailed()) {
                return;
            }
            interact(restoredDisplay, app.windowClass, app.afterRestore);
        }
        if (QTest::currentTestFailed()) {
            return;
        }

        clock.restart();
        auto branch = m_engine->restore(snapshot->id, RestoreMode::AsNewSession);
        QVERIFY2(branch.ok(), qPrintable(branch.errorMessage()));
        qInfo("restored as a new session in %lld ms", qint64(clock.elapsed()));
        QVERIFY(branch->session.id != restored->session.id);
        const TestDisplay branchDisplay(branch->session.initPid);
        QVERIFY(branchDisplay.isValid());
        verifyShowsSnapshot(branchDisplay);
        if (QTest::currentTestFailed()) {
            return;
        }
        verifyPanelAnswers(branchDisplay);
    }
};

REWIND_TEST_GUILESS_MAIN(DesktopSessionTest)
#include "DesktopSessionTest.moc"
