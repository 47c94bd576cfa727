// SPDX-License-Identifier: GPL-2.0-or-later
// The apps people use survive a snapshot: for each app of the matrix, a
// session of rewind-user (openbox and the app, as Debian ships it) gets a
// first word typed in (or a folder, a page, a directory chosen), is
// snapshotted, gets a second one, and is restored in place. The app must
// then show the first and not the second, and answer input again: a third
// word shows up. What the app shows is read from its window title or from
// a picture of the screen (tesseract). Each row prints the app's version,
// how long the session stayed frozen and how large the snapshot is.
#include "AppLaunch.h"
#include "CellDisplay.h"
#include "ScreenText.h"
#include "TestPdf.h"

#include "CheckpointabilityScan.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "TestCell.h"
#include "TestSessions.h"
#include "TestSkip.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <pwd.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
constexpr uid_t userUid = 1500;
/// Slow apps on a busy machine with two cores: LibreOffice and Firefox take
/// tens of seconds to show a window there.
constexpr int windowTimeoutMs = 240000;
constexpr int shownTimeoutMs = 60000;

/// Where an app shows what the test entered.
enum class Reading {
    Title, ///< the title of its window
    Screen, ///< anywhere on the screen, read by tesseract
};

/// What a row does with its app: how it starts (AppLaunch), then where it
/// shows what the test entered and how the test enters it.
struct AppCase : AppLaunch {
    Reading reading = Reading::Screen;
    /// Keys pressed once its window is active (zoom, font size).
    QStringList setUpKeys;
    /// Enters word (typed text, a folder, a page); true if the input went through.
    std::function<bool(CellDisplay &, const QString &word)> enter;
};

const QStringList words = {QStringLiteral("FALCON"), QStringLiteral("WALRUS"), QStringLiteral("PELICAN")};

bool typeWord(CellDisplay &display, const QString &word)
{
    return display.type(word + QLatin1Char(' '));
}

/// Waits until a window whose title matches name shows up.
bool waitForWindowNamed(CellDisplay &display, const QString &name)
{
    return QTest::qWaitFor(
        [&] {
            return !display.xdotool({QStringLiteral("search"), QStringLiteral("--onlyvisible"), QStringLiteral("--name"), name}).isEmpty();
        },
        30000);
}

QMap<QString, AppCase> appCases()
{
    const QMap<QString, AppLaunch> launches = appLaunches();
    QMap<QString, AppCase> cases;
    const auto add = [&](const QString &name, Reading reading, const QStringList &setUpKeys, std::function<bool(CellDisplay &, const QString &)> enter) {
        AppCase app;
        static_cast<AppLaunch &>(app) = launches.value(name);
        app.reading = reading;
        app.setUpKeys = setUpKeys;
        app.enter = std::move(enter);
        cases.insert(name, app);
    };
    add(QStringLiteral("firefox"), Reading::Screen, {}, typeWord);
    add(QStringLiteral("kate"), Reading::Screen, QStringList(8, QStringLiteral("ctrl+equal")), typeWord);
    add(QStringLiteral("konsole"), Reading::Title, {}, [](CellDisplay &display, const QString &word) {
        return display.type(QStringLiteral("cd ~/") + word) && display.keys({QStringLiteral("Return")});
    });
    add(QStringLiteral("dolphin"), Reading::Title, {}, [](CellDisplay &display, const QString &word) {
        return display.keys({QStringLiteral("ctrl+l")}) && display.type(QStringLiteral("~/") + word) && display.keys({QStringLiteral("Return")});
    });
    // The thumbnails would show every page.
    add(QStringLiteral("okular"), Reading::Screen, {QStringLiteral("F7")}, [](CellDisplay &display, const QString &word) {
        // Page 1 is the cover; the words follow it.
        const QString page = QString::number(words.indexOf(word) + 2);
        return display.keys({QStringLiteral("ctrl+g")}) && waitForWindowNamed(display, QStringLiteral("Go to Page")) && display.keys({QStringLiteral("ctrl+a")})
            && display.type(page) && display.keys({QStringLiteral("Return")});
    });
    add(QStringLiteral("writer"), Reading::Screen, QStringList(8, QStringLiteral("ctrl+bracketright")), typeWord);
    return cases;
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

QString versionOf(const QString &package)
{
    QProcess query;
    query.start(QStringLiteral("dpkg-query"), {QStringLiteral("-W"), QStringLiteral("-f=${Version}"), package});
    query.waitForFinished(30000);
    return query.exitCode() == 0 ? QString::fromUtf8(query.readAllStandardOutput()).trimmed() : QStringLiteral("?");
}

/// "ipc:[4026532…]": which namespace of a kind process pid is in; empty if it is gone.
QByteArray namespaceOf(pid_t pid, const char *kind)
{
    char target[64];
    const QByteArray link = "/proc/" + QByteArray::number(pid) + "/ns/" + kind;
    const ssize_t length = ::readlink(link.constData(), target, sizeof target);
    return length > 0 ? QByteArray(target, length) : QByteArray();
}

/// Processes of the cell whose init is initPid that are in a namespace
/// other than the cell's (a sandbox's), with the kind of namespace.
QStringList nestedNamespaces(pid_t initPid)
{
    QStringList nested;
    const auto processes = CheckpointabilityScan::cellProcesses(initPid);
    for (const pid_t pid : processes.ok() ? *processes : QList<pid_t>()) {
        for (const char *kind : {"user", "ipc", "pid", "net", "mnt", "uts"}) {
            const QByteArray own = namespaceOf(initPid, kind);
            const QByteArray its = namespaceOf(pid, kind);
            if (!its.isEmpty() && its != own) {
                nested.append(QStringLiteral("%1 (%2)").arg(pid).arg(QLatin1String(kind)));
            }
        }
    }
    return nested;
}

QString megabytes(qint64 bytes)
{
    return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 0) + QStringLiteral(" MB");
}

} // namespace

class AppMatrixTest : public QObject
{
    Q_OBJECT

private:
    TestSessions m_test;
    SessionManager *m_sessions = &m_test.manager();
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    /// Files every session copies into its home before its app starts; readable by the user.
    QTemporaryDir m_seed{QStringLiteral("/var/tmp/rewind-apps-XXXXXX")};
    QStringList m_results;

    SessionSpec specFor(const QString &name, const AppCase &app) const
    {
        const QByteArray text = "[Session]\nName=app-" + name.toUtf8() + "\n[Display]\nGeometry=1024x768\n[WindowManager]\nCommand=openbox\n[App "
            + name.toUtf8() + "]\nCommand=sh -c '" + appShellCommand(m_seed.path(), app).toUtf8() + "'\n";
        auto spec = SessionSpec::parse(text, name + QStringLiteral(".conf"));
        Q_ASSERT_X(spec.ok(), "specFor", qPrintable(spec.errorMessage()));
        return *spec;
    }

    static CellDisplay displayOf(const SessionRecord &session)
    {
        return CellDisplay(session.initPid, session.plan.value(QStringLiteral("display")).toInt(1));
    }

    /// What the app shows where the row reads it; empty (and why in error) if nothing could be read.
    QString shown(const SessionRecord &session, const AppCase &app, QString *error)
    {
        CellDisplay display = displayOf(session);
        if (app.reading == Reading::Title) {
            QStringList titles;
            const QStringList windows = display.visibleWindows(app.windowClass);
            for (const QString &window : windows) {
                titles.append(display.title(window));
            }
            *error = titles.isEmpty() ? QStringLiteral("no window of class %1").arg(app.windowClass) : QString();
            return titles.join(QLatin1String(" | "));
        }
        const auto picture = m_sessions->screenshot(session, std::chrono::seconds(30));
        if (!picture) {
            *error = picture.errorMessage();
            return {};
        }
        const ScreenText text(*picture);
        *error = text.error();
        return text.text();
    }

    /// The app's main window, once it is shown with titlePart in its title; empty after the timeout.
    static QString mainWindow(const SessionRecord &session, const AppCase &app, const QString &titlePart, int timeoutMs)
    {
        CellDisplay display = displayOf(session);
        return waitForMainWindow(display, app, titlePart, timeoutMs);
    }

    QString sessionLog(const SessionRecord &session) const
    {
        QFile log(SessionManager::cellPath(session.initPid, QStringLiteral("/tmp/session.log")));
        return log.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(log.readAll().right(3000)) : QString();
    }

private Q_SLOTS:
    void initTestCase()
    {
        TestCell::becomeSubreaper();
        if (!::getpwuid(userUid)) {
            REWIND_SKIP("there is no user 1500 (rewind-user of the development environment)");
        }
        if (QStandardPaths::findExecutable(QStringLiteral("xdotool")).isEmpty() || !ScreenText::available()) {
            REWIND_SKIP("the app matrix needs xdotool and tesseract-ocr (with its English data)");
        }
        QVERIFY(m_test.isValid());
        QVERIFY(m_seed.isValid());
        auto store = SnapshotStore::open(m_test.paths().storeDirectory());
        QVERIFY2(store.ok(), qPrintable(store.errorMessage()));
        m_store = std::move(*store);
        m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);

        const QString seed = m_seed.path();
        // A page with a text area for Firefox, and a fresh profile that
        // shows it at once; LibreOffice without its tip of the day.
        QVERIFY(seedAppFiles(seed));
        QVERIFY(writeFile(seed + QStringLiteral("/pages.pdf"), pdfWithPages(QStringList{QStringLiteral("COVER")} + words)));
        for (const QString &word : words) {
            QVERIFY(QDir(seed).mkpath(word));
        }
        // The session's user copies it.
        QVERIFY(QProcess::execute(QStringLiteral("chmod"), {QStringLiteral("-R"), QStringLiteral("a+rX"), seed}) == 0);
    }

    void cleanup()
    {
        m_test.removeAll();
    }

    void cleanupTestCase()
    {
        if (!m_results.isEmpty()) {
            qInfo("app matrix (app | Debian version | result | frozen | snapshot size):\n%s", qPrintable(m_results.join(QLatin1Char('\n'))));
        }
    }

    void roundTrip_data()
    {
        QTest::addColumn<QString>("name");
        const auto cases = appCases();
        for (auto it = cases.begin(); it != cases.end(); ++it) {
            QTest::newRow(qPrintable(it.key())) << it.key();
        }
    }

    void roundTrip()
    {
        QFETCH(QString, name);
        const AppCase app = appCases().value(name);
        if (QStandardPaths::findExecutable(app.program).isEmpty()) {
            REWIND_SKIP(qPrintable(QStringLiteral("%1 is not installed (package %2)").arg(app.program, app.package)));
        }
        const QString version = versionOf(app.package);
        QElapsedTimer clock;
        clock.start();

        auto started = m_sessions->start(specFor(name, app), userUid);
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        SessionRecord session = *started;
        QString window = mainWindow(session, app, app.readyTitle, windowTimeoutMs);
        QVERIFY2(!window.isEmpty(), qPrintable(QStringLiteral("%1 showed no window; the session's log:\n%2").arg(name, sessionLog(session))));
        const qint64 startMs = clock.elapsed();
        {
            CellDisplay display = displayOf(session);
            QVERIFY2(display.activate(window), qPrintable(display.error()));
            // The whole screen, where the window manager lets it: larger
            // text for tesseract, room for the app.
            display.xdotool({QStringLiteral("windowmove"), window, QStringLiteral("0"), QStringLiteral("0")});
            display.xdotool({QStringLiteral("windowsize"), window, QStringLiteral("100%"), QStringLiteral("100%")});
            if (!app.setUpKeys.isEmpty()) {
                QVERIFY2(display.keys(app.setUpKeys), qPrintable(display.error()));
            }
        }

        QString error;
        QString text;
        // Empty if the word went in, else why not.
        const auto enter = [&](const QString &word) {
            CellDisplay display = displayOf(session);
            if (!display.activate(mainWindow(session, app, {}, 10000)) || !app.enter(display, word)) {
                return QStringLiteral("%1: entering %2 failed: %3").arg(name, word, display.error());
            }
            return QString();
        };
        const auto shows = [&](const QString &word) {
            text = shown(session, app, &error);
            return text.contains(word, Qt::CaseInsensitive);
        };
        const auto what = [&] {
            return QStringLiteral("%1 shows: %2 %3").arg(name, text, error).toLocal8Bit();
        };

        error = enter(words[0]);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QTRY_VERIFY2_WITH_TIMEOUT(shows(words[0]), what().constData(), shownTimeoutMs);

        // The cell kept the app dumpable (a browser's sandbox nests no
        // namespaces in it), and the scan says so before CRIU is asked.
        const QStringList nested = nestedNamespaces(session.initPid);
        QVERIFY2(nested.isEmpty(), qPrintable(QStringLiteral("processes in namespaces of their own: ") + nested.join(QLatin1String(", "))));
        const auto obstacles = m_sessions->scan(session);
        QVERIFY2(obstacles.ok(), qPrintable(obstacles.errorMessage()));
        QVERIFY2(obstacles->isEmpty(), qPrintable(CheckpointabilityScan::describe(*obstacles)));

        auto snapshot = m_engine->snapshot(session.id, name, SnapshotTrigger::Manual);
        QVERIFY2(snapshot.ok(), qPrintable(snapshot.ok() ? QString() : snapshot.errorMessage() + QLatin1Char('\n') + snapshot.error().details));
        const qint64 frozenMs = snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000;

        error = enter(words[1]);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QTRY_VERIFY2_WITH_TIMEOUT(shows(words[1]), what().constData(), shownTimeoutMs);

        // The restore in place takes a snapshot of the running session first.
        QElapsedTimer restoreClock;
        restoreClock.start();
        auto restored = m_engine->restore(snapshot->id, RestoreMode::InPlace);
        QVERIFY2(restored.ok(), qPrintable(restored.errorMessage()));
        const qint64 restoreMs = restoreClock.elapsed();
        session = restored->session;

        // The state of the snapshot: the first word, not the second.
        QTRY_VERIFY2_WITH_TIMEOUT(shows(words[0]), what().constData(), shownTimeoutMs);
        QVERIFY2(!text.contains(words[1], Qt::CaseInsensitive), what().constData());
        // And the app answers again.
        error = enter(words[2]);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QTRY_VERIFY2_WITH_TIMEOUT(shows(words[2]), what().constData(), shownTimeoutMs);
        QVERIFY2(!text.contains(words[1], Qt::CaseInsensitive), what().constData());

        const QString row = QStringLiteral("%1 | %2 | round-trips | %3 ms | %4 (stored %5) | window after %6 ms, restore in place %7 ms")
                                .arg(name, version)
                                .arg(frozenMs)
                                .arg(megabytes(snapshot->logicalBytes), megabytes(snapshot->storedBytes))
                                .arg(startMs)
                                .arg(restoreMs);
        qInfo("%s", qPrintable(row));
        m_results.append(row);
    }
};

REWIND_TEST_GUILESS_MAIN(AppMatrixTest)
#include "AppMatrixTest.moc"
