// SPDX-License-Identifier: GPL-2.0-or-later
#include "MainWindow.h"

#include "HelperClient.h"
#include "HelperProtocol.h"
#include "LiveViewWindow.h"
#include "SessionListModel.h"
#include "TimelineModel.h"

#include <KLocalizedString>
#include <KMessageWidget>

#include <QAction>
#include <QHBoxLayout>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QProgressBar>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <unistd.h>

using namespace Rewind;

MainWindow::MainWindow(HelperClient *client, QWidget *parent)
    : QMainWindow(parent)
    , m_client(client)
    , m_sessions(new SessionListModel(this))
    , m_timeline(new TimelineModel(this))
    , m_sessionView(new QListView(this))
    , m_timelineView(new QListView(this))
    , m_message(new KMessageWidget(this))
    , m_progress(new QProgressBar(this))
    , m_stage(new QLabel(this))
{
    setWindowTitle(i18n("Rewind"));

    m_sessionView->setObjectName(QStringLiteral("sessions"));
    m_sessionView->setModel(m_sessions);
    m_sessionView->setAccessibleName(i18n("Sessions"));
    m_sessionView->setMinimumWidth(220);

    m_timelineView->setObjectName(QStringLiteral("timeline"));
    m_timelineView->setModel(m_timeline);
    m_timelineView->setAccessibleName(i18n("Timeline"));
    m_timelineView->setViewMode(QListView::IconMode);
    m_timelineView->setIconSize(QSize(240, 150));
    m_timelineView->setGridSize(QSize(280, 210));
    m_timelineView->setResizeMode(QListView::Adjust);
    m_timelineView->setMovement(QListView::Static);
    m_timelineView->setWordWrap(true);
    // A picture arrives after its entry: lay the entries out again, each its own size.
    m_timelineView->setUniformItemSizes(false);
    connect(m_timeline, &QAbstractItemModel::dataChanged, m_timelineView, &QListView::doItemsLayout);

    m_message->setObjectName(QStringLiteral("message"));
    m_message->setCloseButtonVisible(true);
    m_message->setWordWrap(true);
    m_message->hide();

    auto splitter = new QSplitter(this);
    splitter->addWidget(m_sessionView);
    splitter->addWidget(m_timelineView);
    splitter->setStretchFactor(1, 1);
    auto central = new QWidget(this);
    auto layout = new QVBoxLayout(central);
    layout->addWidget(m_message);
    layout->addWidget(splitter);
    setCentralWidget(central);

    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setMaximumWidth(200);
    m_progress->hide();
    statusBar()->addPermanentWidget(m_stage);
    statusBar()->addPermanentWidget(m_progress);

    setupActions();
    connect(m_sessionView->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::refreshTimeline);
    connect(m_timelineView->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::updateActions);
    connect(m_timelineView, &QListView::activated, this, &MainWindow::restoreSelected);
    connect(m_client, &HelperClient::runningChanged, this, &MainWindow::updateActions);

    // Sessions change state on their own (a crash, autosave elsewhere).
    auto poll = new QTimer(this);
    poll->setInterval(10000);
    connect(poll, &QTimer::timeout, this, &MainWindow::refresh);
    poll->start();

    // Autosave: the helper decides whether a snapshot is due (its schedule
    // and retention); asking once a minute is enough and never prompts.
    auto autosaveTimer = new QTimer(this);
    autosaveTimer->setInterval(60000);
    connect(autosaveTimer, &QTimer::timeout, this, &MainWindow::autosave);
    autosaveTimer->start();

    updateActions();
    resize(1000, 640);
}

void MainWindow::setupActions()
{
    auto toolBar = addToolBar(i18n("Main Toolbar"));
    toolBar->setObjectName(QStringLiteral("mainToolBar"));
    toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    const auto add = [&](QAction *&action, const QString &icon, const QString &text, const QKeySequence &shortcut, void (MainWindow::*slot)()) {
        action = new QAction(QIcon::fromTheme(icon), text, this);
        action->setShortcut(shortcut);
        action->setToolTip(
            QStringLiteral("%1 (%2)").arg(text.section(QLatin1Char('&'), 0).remove(QLatin1Char('&')), shortcut.toString(QKeySequence::NativeText)));
        connect(action, &QAction::triggered, this, slot);
        toolBar->addAction(action);
        addAction(action);
    };
    add(m_snapshotNow, QStringLiteral("camera-photo"), i18n("&Snapshot Now"), QKeySequence(Qt::CTRL | Qt::Key_S), &MainWindow::snapshotNow);
    add(m_restore, QStringLiteral("document-revert"), i18n("&Go Back to This Point"), QKeySequence(Qt::CTRL | Qt::Key_R), &MainWindow::restoreSelected);
    add(m_restoreAsNew,
        QStringLiteral("split"),
        i18n("Open as &New Session"),
        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
        &MainWindow::restoreSelectedAsNew);
    add(m_liveView, QStringLiteral("krdc"), i18n("&Live View"), QKeySequence(Qt::CTRL | Qt::Key_L), &MainWindow::viewSelected);
    add(m_delete, QStringLiteral("edit-delete"), i18n("&Delete Snapshot"), QKeySequence(QKeySequence::Delete), &MainWindow::deleteSelected);
    add(m_refresh, QStringLiteral("view-refresh"), i18n("Re&fresh"), QKeySequence(QKeySequence::Refresh), &MainWindow::refresh);
}

QString MainWindow::currentSession() const
{
    return m_sessionView->currentIndex().data(SessionListModel::IdRole).toString();
}

qint64 MainWindow::currentSnapshot() const
{
    return m_timelineView->currentIndex().data(TimelineModel::IdRole).toLongLong();
}

void MainWindow::updateActions()
{
    const bool idle = m_client->running() == 0;
    const QString state = m_sessionView->currentIndex().data(SessionListModel::StateRole).toString();
    m_snapshotNow->setEnabled(idle && state == QLatin1String("running"));
    m_liveView->setEnabled(state == QLatin1String("running"));
    const bool snapshotSelected = currentSnapshot() > 0;
    m_restore->setEnabled(idle && snapshotSelected);
    m_restoreAsNew->setEnabled(idle && snapshotSelected);
    m_delete->setEnabled(idle && snapshotSelected);
    if (idle) {
        m_progress->hide();
        m_stage->clear();
    }
}

void MainWindow::showError(const QString &message)
{
    m_message->setMessageType(KMessageWidget::Error);
    m_message->setText(message);
    m_message->animatedShow();
}

void MainWindow::showProgress(int percent, const QString &stage)
{
    m_progress->show();
    if (percent >= 0) {
        m_progress->setValue(percent);
    }
    if (!stage.isEmpty()) {
        m_stage->setText(stage);
    }
}

void MainWindow::refresh()
{
    m_client->call(HelperProtocol::listSessions, {}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            showError(answer.errorMessage());
            return;
        }
        const QString selected = currentSession();
        m_sessions->setSessions(answer->toArray());
        const int row = selected.isEmpty() ? 0 : std::max(0, m_sessions->rowOf(selected));
        if (m_sessions->rowCount() > 0 && !m_sessionView->currentIndex().isValid()) {
            m_sessionView->setCurrentIndex(m_sessions->index(row));
        }
        refreshTimeline();
    });
}

void MainWindow::refreshTimeline()
{
    const QString session = currentSession();
    updateActions();
    if (session.isEmpty()) {
        m_timeline->setSnapshots({});
        return;
    }
    m_client->call(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}, this, [this, session](const Result<QJsonValue> &answer) {
        if (session != currentSession()) {
            return; // the user moved on
        }
        if (!answer) {
            showError(answer.errorMessage());
            return;
        }
        m_timeline->setSnapshots(answer->toArray());
        updateActions();
        fetchThumbnails();
    });
}

void MainWindow::fetchThumbnails()
{
    const auto missing = m_timeline->withoutThumbnail();
    for (qint64 id : missing) {
        if (m_thumbnailsAsked.contains(id)) {
            continue;
        }
        m_thumbnailsAsked.insert(id);
        m_client->call(HelperProtocol::thumbnail, {{HelperProtocol::snapshotKey, id}}, this, [this, id](const Result<QJsonValue> &answer) {
            if (!answer) {
                return; // an older snapshot without a picture: the entry stays without one
            }
            // The picture is handed over in a file only this user can read, never in the (broadcast) reply.
            const QString file = answer->toObject().value(QStringLiteral("file")).toString();
            const QImage image = file.startsWith(HelperProtocol::handOffDirectory(::getuid()) + QLatin1Char('/')) ? QImage(file, "PNG") : QImage();
            if (!image.isNull()) {
                m_timeline->setThumbnail(id, image);
            }
        });
    }
}

void MainWindow::autosave()
{
    for (int row = 0; row < m_sessions->rowCount(); ++row) {
        const QModelIndex index = m_sessions->index(row);
        if (index.data(SessionListModel::StateRole).toString() != QLatin1String("running")) {
            continue;
        }
        const QString session = index.data(SessionListModel::IdRole).toString();
        m_client->call(HelperProtocol::autosave, {{HelperProtocol::sessionKey, session}}, this, [this, session](const Result<QJsonValue> &answer) {
            if (!answer) {
                Q_EMIT operationFinished(QStringLiteral("snapshotFailed"), i18n("The automatic snapshot of %1 failed: %2", session, answer.errorMessage()));
                return;
            }
            if (answer->toObject().value(QStringLiteral("taken")).isObject() && session == currentSession()) {
                refreshTimeline();
            }
        });
    }
}

void MainWindow::snapshotNow()
{
    const QString session = currentSession();
    if (session.isEmpty()) {
        return;
    }
    m_message->animatedHide();
    showProgress(0, i18nc("@info progress", "Starting"));
    m_client->call(
        HelperProtocol::snapshot,
        {{HelperProtocol::sessionKey, session}},
        this,
        [this, session](const Result<QJsonValue> &answer) {
            if (!answer) {
                showError(answer.errorMessage());
                Q_EMIT operationFinished(QStringLiteral("snapshotFailed"), answer.errorMessage());
                return;
            }
            const qint64 id = answer->toObject().value(QStringLiteral("id")).toInteger();
            Q_EMIT operationFinished(QStringLiteral("snapshotTaken"), i18n("Snapshot %1 of %2 is stored.", QString::number(id), session));
            refreshTimeline();
        },
        [this](int percent, const QString &stage) {
            showProgress(percent, stage);
        });
}

void MainWindow::restore(bool asNew)
{
    const qint64 snapshot = currentSnapshot();
    if (snapshot <= 0) {
        return;
    }
    if (!asNew
        && QMessageBox::question(this,
                                 i18n("Go Back in Time"),
                                 i18n("Replace the running session with snapshot %1?\nWhat runs now is saved as a snapshot first, so you can come back to it.",
                                      QString::number(snapshot)))
            != QMessageBox::Yes) {
        return;
    }
    m_message->animatedHide();
    showProgress(0, i18nc("@info progress", "Starting"));
    m_client->call(
        HelperProtocol::restore,
        {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::modeKey, asNew ? HelperProtocol::asNewMode : HelperProtocol::inPlaceMode}},
        this,
        [this, snapshot, asNew](const Result<QJsonValue> &answer) {
            if (!answer) {
                showError(answer.errorMessage());
                Q_EMIT operationFinished(QStringLiteral("restoreFailed"), answer.errorMessage());
                return;
            }
            const QString session = answer->toObject().value(QStringLiteral("id")).toString();
            Q_EMIT operationFinished(QStringLiteral("restoreFinished"),
                                     asNew ? i18n("Snapshot %1 runs as the new session %2.", QString::number(snapshot), session)
                                           : i18n("Session %1 is back at snapshot %2.", session, QString::number(snapshot)));
            refresh();
        },
        [this](int percent, const QString &stage) {
            showProgress(percent, stage);
        });
}

void MainWindow::restoreSelected()
{
    restore(false);
}

void MainWindow::restoreSelectedAsNew()
{
    restore(true);
}

void MainWindow::deleteSelected()
{
    const qint64 snapshot = currentSnapshot();
    if (snapshot <= 0
        || QMessageBox::question(this, i18n("Delete Snapshot"), i18n("Delete snapshot %1? This cannot be undone.", QString::number(snapshot)))
            != QMessageBox::Yes) {
        return;
    }
    m_client->call(HelperProtocol::remove, {{HelperProtocol::snapshotKey, snapshot}}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            showError(answer.errorMessage());
        }
        refreshTimeline();
    });
}

void MainWindow::viewSelected()
{
    const QString session = currentSession();
    if (session.isEmpty()) {
        return;
    }
    // One window a session: a second request brings the first forward.
    const auto open = findChildren<LiveViewWindow *>();
    for (LiveViewWindow *window : open) {
        if (window->session() == session) {
            window->raise();
            window->activateWindow();
            return;
        }
    }
    auto window = new LiveViewWindow(m_client, session, this);
    window->show();
}
