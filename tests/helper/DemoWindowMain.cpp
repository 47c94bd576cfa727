// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-demo-window --screenshot FILE [--stay]: the demo's window step, as
// the user (rewind-demo-gui runs it as rewind-user). It opens Rewind's real
// window and uses it as a person would: Snapshot Now, waits for the
// snapshot's picture on the timeline, Go Back to This Point (answering its
// question with Yes), waits until the session is back, and saves a picture
// of the window to FILE. With --stay the window then stays open until it
// is closed (REWIND_DEMO_GUI_SECONDS closes it after that many seconds).
// Exit code 0: every step worked; 1: one failed (it says which).
#include "HelperClient.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "SessionListModel.h"
#include "TimelineModel.h"

#include <KLocalizedString>

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QImage>
#include <QListView>
#include <QMessageBox>
#include <QSaveFile>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cstdio>

namespace
{
constexpr int operationTimeoutMs = 180000;
constexpr int listTimeoutMs = 30000;

void say(const QString &line)
{
    std::printf("%s\n", qPrintable(line));
    std::fflush(stdout);
}

QAbstractItemModel *timelineOf(MainWindow &window)
{
    auto *view = window.findChild<QListView *>(QStringLiteral("timeline"));
    return view ? view->model() : nullptr;
}

/// The timeline's row of snapshot id, or an invalid index.
QModelIndex rowOf(MainWindow &window, qint64 id)
{
    QAbstractItemModel *timeline = timelineOf(window);
    for (int row = 0; timeline && row < timeline->rowCount(); ++row) {
        const QModelIndex index = timeline->index(row, 0);
        if (index.data(TimelineModel::IdRole).toLongLong() == id) {
            return index;
        }
    }
    return {};
}

qint64 newestSnapshot(MainWindow &window)
{
    qint64 newest = 0;
    QAbstractItemModel *timeline = timelineOf(window);
    for (int row = 0; timeline && row < timeline->rowCount(); ++row) {
        newest = std::max(newest, timeline->index(row, 0).data(TimelineModel::IdRole).toLongLong());
    }
    return newest;
}

bool hasPicture(MainWindow &window, qint64 id)
{
    const QModelIndex index = rowOf(window, id);
    return index.isValid() && !index.data(Qt::DecorationRole).value<QImage>().isNull();
}

/// Qt's offscreen platform says of each new window what it cannot do, which
/// is nothing the demo's reader needs to see.
QtMessageHandler defaultMessageHandler = nullptr;
void withoutPlatformNotes(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (message.startsWith(QLatin1String("This plugin does not support"))) {
        return;
    }
    if (defaultMessageHandler) {
        defaultMessageHandler(type, context, message);
    } else {
        std::fprintf(stderr, "%s\n", qPrintable(message));
    }
}

/// Whole or not at all: rewind-demo-gui takes the picture as soon as it is there.
bool savePicture(QWidget &window, const QString &fileName)
{
    QSaveFile picture(fileName);
    return picture.open(QIODevice::WriteOnly) && window.grab().save(&picture, "PNG") && picture.commit();
}

/// Answers "Go Back in Time?" with Yes, as the person at the window would.
void answerYesWhenAsked(QObject *context)
{
    auto *poll = new QTimer(context);
    QObject::connect(poll, &QTimer::timeout, poll, [poll] {
        auto *question = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
        if (!question || !question->button(QMessageBox::Yes)) {
            return;
        }
        say(QStringLiteral("The window asks: %1 Answered: Yes.").arg(question->text().replace(QLatin1Char('\n'), QLatin1Char(' '))));
        question->button(QMessageBox::Yes)->click();
        poll->deleteLater();
    });
    poll->start(100);
}
} // namespace

int main(int argc, char **argv)
{
    defaultMessageHandler = qInstallMessageHandler(withoutPlatformNotes);
    QApplication app(argc, argv);
    KLocalizedString::setApplicationDomain("rewind");
    IconTheme::useBreezeWhereNoneIsSet(); // as the app does
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("screenshot"), QStringLiteral("Where the picture of the window goes."), QStringLiteral("file")});
    parser.addOption({QStringLiteral("stay"), QStringLiteral("Keep the window open until it is closed.")});
    parser.process(app);
    const QString screenshot = parser.value(QStringLiteral("screenshot"));
    if (screenshot.isEmpty()) {
        say(QStringLiteral("usage: rewind-demo-window --screenshot FILE [--stay]"));
        return 2;
    }

    HelperClient client;
    MainWindow window(&client);
    window.resize(1100, 720);
    QStringList events;
    QString failure;
    QObject::connect(&window, &MainWindow::operationFinished, &window, [&](const QString &event, const QString &text) {
        events.append(event);
        if (event.endsWith(QLatin1String("Failed"))) {
            failure = text;
        }
    });
    window.show();
    window.refresh();

    const auto fail = [&](const QString &why) {
        say(why);
        (void)savePicture(window, screenshot);
        return 1;
    };

    auto *sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
    if (!sessions
        || !QTest::qWaitFor(
            [&] {
                return sessions->currentIndex().data(SessionListModel::StateRole).toString() == QLatin1String("running");
            },
            listTimeoutMs)) {
        return fail(QStringLiteral("The window lists no running session."));
    }
    say(QStringLiteral("The window lists the session %1.").arg(window.currentSession()));

    // Snapshot Now, as from the toolbar.
    if (!QTest::qWaitFor(
            [&] {
                return window.snapshotAction()->isEnabled();
            },
            listTimeoutMs)) {
        return fail(QStringLiteral("Snapshot Now stays greyed out."));
    }
    window.snapshotAction()->trigger();
    if (!QTest::qWaitFor(
            [&] {
                return !events.isEmpty();
            },
            operationTimeoutMs)
        || events.constLast() != QLatin1String("snapshotTaken")) {
        return fail(QStringLiteral("Snapshot Now failed: %1").arg(failure));
    }
    qint64 snapshot = 0;
    if (!QTest::qWaitFor(
            [&] {
                snapshot = newestSnapshot(window);
                return snapshot > 0 && hasPicture(window, snapshot);
            },
            listTimeoutMs)) {
        return fail(QStringLiteral("Snapshot %1 has no picture on the timeline.").arg(snapshot));
    }
    say(QStringLiteral("Snapshot Now: snapshot %1 is on the timeline, with its picture of the screen.").arg(snapshot));

    // Go Back to This Point: the session is replaced by the snapshot.
    auto *timeline = window.findChild<QListView *>(QStringLiteral("timeline"));
    timeline->setCurrentIndex(rowOf(window, snapshot));
    answerYesWhenAsked(&window);
    // The question is modal: asked from the event loop, not from here.
    QTimer::singleShot(0, &window, &MainWindow::restoreSelected);
    if (!QTest::qWaitFor(
            [&] {
                return events.size() >= 2;
            },
            operationTimeoutMs)
        || events.constLast() != QLatin1String("restoreFinished")) {
        return fail(QStringLiteral("Going back to snapshot %1 failed: %2").arg(QString::number(snapshot), failure));
    }
    // The window lists the session again, with the snapshot taken before going back beside the first.
    if (!QTest::qWaitFor(
            [&] {
                const qint64 before = newestSnapshot(window);
                return before > snapshot && hasPicture(window, snapshot) && hasPicture(window, before)
                    && sessions->currentIndex().data(SessionListModel::StateRole).toString() == QLatin1String("running");
            },
            listTimeoutMs)) {
        return fail(QStringLiteral("After going back, the timeline does not show both snapshots with their pictures."));
    }
    timeline->setCurrentIndex(rowOf(window, snapshot));
    // The picture shows the window ready for the next step, not busy with the last.
    if (!QTest::qWaitFor(
            [&] {
                return window.snapshotAction()->isEnabled();
            },
            listTimeoutMs)) {
        return fail(QStringLiteral("After going back, Snapshot Now stays greyed out."));
    }
    say(QStringLiteral("Go Back to This Point: session %1 runs from snapshot %2 again; what ran before is snapshot %3.")
            .arg(window.currentSession(), QString::number(snapshot), QString::number(newestSnapshot(window))));

    if (!savePicture(window, screenshot)) {
        say(QStringLiteral("Could not save the picture of the window to %1.").arg(screenshot));
        return 1;
    }
    if (!parser.isSet(QStringLiteral("stay"))) {
        return 0;
    }
    say(QStringLiteral("The window stays open; close it to end the demo."));
    if (const int seconds = qEnvironmentVariableIntValue("REWIND_DEMO_GUI_SECONDS"); seconds > 0) {
        QTimer::singleShot(seconds * 1000, &window, &QWidget::close);
    }
    return app.exec() == 0 ? 0 : 1;
}
