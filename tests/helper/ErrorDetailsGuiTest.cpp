// SPDX-License-Identifier: GPL-2.0-or-later
// Failures as rewind-user meets them, in the real window against the real
// helper and the real CRIU (run by rewind-test-as-owner): a snapshot CRIU
// refuses and one the scan refuses. The message above the timeline says
// what happened and what to do, without CRIU's log lines; "Details…" opens
// those lines, selectable and copyable; the user's log file keeps them; and
// rewindctl prints the message first and the details after it.
#include "FailureLog.h"
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "MainWindow.h"
#include "SessionListModel.h"
#include "TestSkip.h"

#include <KMessageWidget>

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDialog>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <sys/socket.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
/// What CRIU's own log lines look like: "(00.093005) Error (criu/namespaces.c:505): …", "pie: 1: …".
const QRegularExpression criuLogLine(QStringLiteral("Error \\(criu/|pie: |\\(\\d+\\.\\d+\\)"));

bool kernelHasVsock()
{
    const int probe = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        return false;
    }
    ::close(probe);
    return true;
}
} // namespace

class ErrorDetailsGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QStringList m_sessions;
    QTemporaryDir m_state; ///< the user's XDG_STATE_HOME for this run: the log file goes there

    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    QString start(const QString &spec)
    {
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, spec}});
        if (!started) {
            qWarning("%s: %s", qPrintable(spec), qPrintable(started.errorMessage()));
            return {};
        }
        const QString id = started->toObject().value(QStringLiteral("id")).toString();
        m_sessions.append(id);
        return id;
    }

    /// Snapshot Now in the window until it fails: the session's obstacle
    /// may not be in place yet when it starts (a few tries at most).
    static QString snapshotUntilRefused(MainWindow &window)
    {
        QSignalSpy finished(&window, &MainWindow::operationFinished);
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (!QTest::qWaitFor(
                    [&] {
                        return window.snapshotAction()->isEnabled();
                    },
                    30000)) {
                return {};
            }
            window.snapshotAction()->trigger();
            if (!QTest::qWaitFor(
                    [&] {
                        return finished.size() > attempt;
                    },
                    180000)) {
                return {};
            }
            if (finished.at(attempt).at(0).toString() == QLatin1String("snapshotFailed")) {
                return finished.at(attempt).at(1).toString();
            }
            QTest::qWait(1000); // the obstacle is made right after the session starts
        }
        return {};
    }

    static QAction *detailsAction(KMessageWidget *message)
    {
        const auto actions = message->actions();
        for (QAction *action : actions) {
            if (action->objectName() == QLatin1String("showErrorDetails")) {
                return action;
            }
        }
        return nullptr;
    }

    static QString logText()
    {
        QFile log(FailureLog::path());
        return log.open(QIODevice::ReadOnly) ? QString::fromUtf8(log.readAll()) : QString();
    }

    /// The window with session selected and running.
    static bool selectRunning(MainWindow &window, const QString &session)
    {
        auto *sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
        window.refresh();
        if (!QTest::qWaitFor(
                [&] {
                    return static_cast<SessionListModel *>(sessions->model())->rowOf(session) >= 0;
                },
                30000)) {
            return false;
        }
        sessions->setCurrentIndex(sessions->model()->index(static_cast<SessionListModel *>(sessions->model())->rowOf(session), 0));
        return QTest::qWaitFor(
            [&] {
                return window.currentSession() == session && sessions->currentIndex().data(SessionListModel::StateRole).toString() == QLatin1String("running");
            },
            30000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        QVERIFY(m_state.isValid());
        qputenv("XDG_STATE_HOME", QFile::encodeName(m_state.path()));
        QVERIFY(FailureLog::path().startsWith(m_state.path()));
    }

    void cleanupTestCase()
    {
        for (const QString &session : std::as_const(m_sessions)) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        }
    }

    void criuRefusalShowsMessageWithDetailsApart()
    {
        if (!kernelHasVsock()) {
            REWIND_SKIP("this kernel has no AF_VSOCK sockets, which the session CRIU refuses holds");
        }
        const QString session = start(QStringLiteral("obstacle-vsock-in-flight"));
        QVERIFY(!session.isEmpty());
        MainWindow window(&m_client);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(selectRunning(window, session));

        const QString notified = snapshotUntilRefused(window);
        QVERIFY2(!notified.isEmpty(), "the snapshot CRIU cannot take was taken");

        // The message: what happened and what to do, in words; none of CRIU's lines.
        auto *message = window.findChild<KMessageWidget *>(QStringLiteral("message"));
        QVERIFY(message);
        QTRY_VERIFY(message->isVisible() && !message->isShowAnimationRunning());
        QCOMPARE(message->messageType(), KMessageWidget::Error);
        const QString text = message->text();
        qInfo("message: %s", qPrintable(text));
        QVERIFY2(text.contains(session) && text.contains(QLatin1String("keeps running")) && text.contains(QLatin1String("report")), qPrintable(text));
        QVERIFY2(!text.contains(criuLogLine), qPrintable(text));
        QVERIFY2(!notified.contains(criuLogLine), qPrintable(notified));

        // Details…: CRIU's lines, selectable, and copied with a click.
        QAction *details = detailsAction(message);
        QVERIFY(details);
        details->trigger();
        QDialog *dialog = nullptr;
        QTRY_VERIFY((dialog = window.findChild<QDialog *>(QStringLiteral("errorDetails"))) && dialog->isVisible());
        auto *lines = dialog->findChild<QPlainTextEdit *>(QStringLiteral("details"));
        QVERIFY(lines);
        qInfo("details: %s", qPrintable(lines->toPlainText()));
        QVERIFY2(lines->toPlainText().contains(QLatin1String("Error (criu/")), qPrintable(lines->toPlainText()));
        QVERIFY2(lines->toPlainText().contains(QLatin1String("Unknown socket collected (family 40)")), qPrintable(lines->toPlainText()));
        QVERIFY(lines->isReadOnly());
        QVERIFY(lines->textInteractionFlags() & Qt::TextSelectableByMouse);
        auto *copy = dialog->findChild<QPushButton *>(QStringLiteral("copy"));
        QVERIFY(copy);
        QApplication::clipboard()->clear();
        copy->click();
        QTRY_VERIFY(QApplication::clipboard()->text().contains(QLatin1String("Unknown socket collected")));
        QVERIFY(QApplication::clipboard()->text().contains(session));
        auto *where = dialog->findChild<QLabel *>(QStringLiteral("logPath"));
        QVERIFY(where && where->text().contains(FailureLog::path()));
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(window.grab().save(directory + QStringLiteral("/error-message.png")));
            QVERIFY(dialog->grab().save(directory + QStringLiteral("/error-details.png")));
        }
        dialog->close();

        // The log file: when, what, the message and CRIU's lines.
        const QString log = logText();
        QVERIFY2(log.contains(QLatin1String(" snapshot: ") + text) && log.contains(QLatin1String("Unknown socket collected (family 40)")), qPrintable(log));
        QVERIFY(QFile(FailureLog::path()).permissions() == (QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser | QFileDevice::WriteUser));

        // rewindctl: the message, then the details after it.
        QProcess rewindctl;
        rewindctl.start(qEnvironmentVariable("REWIND_LIBEXEC_DIR") + QStringLiteral("/rewindctl"), {QStringLiteral("snapshot"), session});
        QVERIFY(rewindctl.waitForFinished(180000));
        QCOMPARE(rewindctl.exitCode(), 1);
        const QString printed = QString::fromUtf8(rewindctl.readAllStandardError());
        qInfo("rewindctl: %s", qPrintable(printed));
        const qsizetype detailsStart = printed.indexOf(QLatin1String("\nDetails:\n"));
        QVERIFY2(detailsStart > 0, qPrintable(printed));
        QVERIFY2(!printed.left(detailsStart).contains(criuLogLine) && printed.left(detailsStart).contains(session), qPrintable(printed));
        QVERIFY2(printed.mid(detailsStart).contains(QLatin1String("Unknown socket collected (family 40)")), qPrintable(printed));

        rewindctl.start(qEnvironmentVariable("REWIND_LIBEXEC_DIR") + QStringLiteral("/rewindctl"),
                        {QStringLiteral("--json"), QStringLiteral("snapshot"), session});
        QVERIFY(rewindctl.waitForFinished(180000));
        QCOMPARE(rewindctl.exitCode(), 1);
        const QJsonObject json = QJsonDocument::fromJson(rewindctl.readAllStandardOutput()).object();
        QVERIFY2(!json.value(QStringLiteral("error")).toString().contains(criuLogLine), qPrintable(json.value(QStringLiteral("error")).toString()));
        QVERIFY2(json.value(QStringLiteral("details")).toString().contains(QLatin1String("Error (criu/")),
                 qPrintable(json.value(QStringLiteral("details")).toString()));
    }

    void scanRefusalNamesTheFirstProblemAndListsAll()
    {
        const QString session = start(QStringLiteral("obstacle-message-queue"));
        QVERIFY(!session.isEmpty());
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(selectRunning(window, session));

        QVERIFY2(!snapshotUntilRefused(window).isEmpty(), "the session with a message queue was snapshotted");
        auto *message = window.findChild<KMessageWidget *>(QStringLiteral("message"));
        QTRY_VERIFY(message->isVisible());
        const QString text = message->text();
        qInfo("message: %s", qPrintable(text));
        QVERIFY2(text.contains(session) && text.contains(QLatin1String("cannot be snapshotted")) && text.contains(QLatin1String("keeps running")),
                 qPrintable(text));
        QAction *details = detailsAction(message);
        QVERIFY(details);
        details->trigger();
        QDialog *dialog = nullptr;
        QTRY_VERIFY((dialog = window.findChild<QDialog *>(QStringLiteral("errorDetails"))) && dialog->isVisible());
        const QString lines = dialog->findChild<QPlainTextEdit *>(QStringLiteral("details"))->toPlainText();
        qInfo("details: %s", qPrintable(lines));
        QVERIFY2(lines.contains(QStringLiteral("• ")) && lines.contains(QLatin1String("queue"), Qt::CaseInsensitive), qPrintable(lines));
        dialog->close();
        QVERIFY2(logText().contains(QLatin1String(" snapshot: ") + text), qPrintable(logText()));
    }
};

REWIND_TEST_MAIN(ErrorDetailsGuiTest)
#include "ErrorDetailsGuiTest.moc"
