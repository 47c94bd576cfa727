// SPDX-License-Identifier: GPL-2.0-or-later
#include "MainWindow.h"

#include "FailureMessage.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "LiveViewWindow.h"
#include "SessionActions.h"
#include "SessionListModel.h"
#include "SnapshotSearchBar.h"
#include "TimelineDelegate.h"
#include "TimelineModel.h"
#include "UniqueFd.h"

#include <KFormat>
#include <KLocalizedString>
#include <KMessageWidget>

#include <QAction>
#include <QDBusUnixFileDescriptor>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImage>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

using namespace Rewind;

namespace
{
QString transferFilter()
{
    return i18n("Rewind snapshots (*.rewind)");
}

/// The ids of a snapshot listing, in its order: what storage depends on.
QList<qint64> snapshotIds(const QJsonArray &snapshots)
{
    QList<qint64> ids;
    for (const QJsonValue &snapshot : snapshots) {
        ids.append(snapshot.toObject().value(QStringLiteral("id")).toInteger());
    }
    return ids;
}

QString systemError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

/// Removes what a failed export left at path, if it is still the file fd
/// was opened as (the user may have put something else there meanwhile).
void removePartialExport(const QString &path, int fd)
{
    struct stat opened = {};
    struct stat there = {};
    const QByteArray name = QFile::encodeName(path);
    if (::fstat(fd, &opened) == 0 && ::lstat(name.constData(), &there) == 0 && opened.st_dev == there.st_dev && opened.st_ino == there.st_ino) {
        ::unlink(name.constData());
    }
}
}

MainWindow::MainWindow(HelperClient *client, QWidget *parent)
    : QMainWindow(parent)
    , m_client(client)
    , m_sessions(new SessionListModel(this))
    , m_timeline(new TimelineModel(this))
    , m_searchBar(new SnapshotSearchBar(client, m_timeline, this))
    , m_sessionView(new QListView(this))
    , m_timelineView(new QListView(this))
    , m_message(new KMessageWidget(this))
    , m_failures(new FailureMessage(m_message))
    , m_progress(new QProgressBar(this))
    , m_stage(new QLabel(this))
    , m_storage(new QLabel(this))
{
    setWindowTitle(i18n("Rewind"));

    // Exports go next to the user's documents, or home where there is no such folder.
    m_transferDirectory = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    if (!QFileInfo(m_transferDirectory).isDir()) {
        m_transferDirectory = QDir::homePath();
    }

    m_chooseExportFile = [this](const QString &suggested) {
        QFileDialog dialog(this, i18nc("@title:window", "Export Snapshot"), QFileInfo(suggested).absolutePath(), transferFilter());
        dialog.setAcceptMode(QFileDialog::AcceptSave);
        dialog.setDefaultSuffix(QStringLiteral("rewind"));
        dialog.selectFile(QFileInfo(suggested).fileName());
        return dialog.exec() == QDialog::Accepted && !dialog.selectedFiles().isEmpty() ? dialog.selectedFiles().constFirst() : QString();
    };
    m_chooseImportFile = [this](const QString &suggested) {
        return QFileDialog::getOpenFileName(this, i18nc("@title:window", "Import Snapshot"), suggested, transferFilter());
    };
    m_editLabel = [this](const QString &current) -> std::optional<QString> {
        bool accepted = false;
        const QString label = QInputDialog::getText(this,
                                                    i18nc("@title:window", "Rename Snapshot"),
                                                    i18n("Label (leave empty for none):"),
                                                    QLineEdit::Normal,
                                                    current,
                                                    &accepted);
        return accepted ? std::optional<QString>(label) : std::nullopt;
    };

    m_sessionView->setObjectName(QStringLiteral("sessions"));
    m_sessionView->setModel(m_sessions);
    m_sessionView->setAccessibleName(i18n("Sessions"));
    m_sessionView->setMinimumWidth(220);

    m_timelineView->setObjectName(QStringLiteral("timeline"));
    m_timelineView->setModel(m_timeline);
    m_timelineView->setAccessibleName(i18n("Timeline"));
    // One entry a line, newest first, each day under its heading (TimelineDelegate).
    m_timelineView->setViewMode(QListView::ListMode);
    m_timelineView->setItemDelegate(new TimelineDelegate(m_timelineView));
    m_timelineView->setResizeMode(QListView::Adjust);
    m_timelineView->setMovement(QListView::Static);
    m_timelineView->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    // An entry that becomes the first of its day grows a heading: lay them out again.
    m_timelineView->setUniformItemSizes(false);
    connect(m_timeline, &QAbstractItemModel::dataChanged, m_timelineView, &QListView::doItemsLayout);

    m_storage->setObjectName(QStringLiteral("storage"));
    m_storage->setWordWrap(true);
    m_storage->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_message->setObjectName(QStringLiteral("message"));
    m_message->setCloseButtonVisible(true);
    m_message->setWordWrap(true);
    m_message->hide();

    auto splitter = new QSplitter(this);
    splitter->addWidget(m_sessionView);
    auto timelinePane = new QWidget(this);
    auto timelineLayout = new QVBoxLayout(timelinePane);
    timelineLayout->setContentsMargins(0, 0, 0, 0);
    timelineLayout->addWidget(m_searchBar);
    timelineLayout->addWidget(m_timelineView);
    timelineLayout->addWidget(m_storage);
    splitter->addWidget(timelinePane);
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

    updateActions();
    resize(1000, 640);
}

void MainWindow::setupActions()
{
    auto toolBar = addToolBar(i18n("Main Toolbar"));
    toolBar->setObjectName(QStringLiteral("mainToolBar"));
    toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    QMenu *sessionMenu = menuBar()->addMenu(i18nc("@title:menu", "&Session"));
    sessionMenu->setObjectName(QStringLiteral("sessionMenu"));
    QMenu *snapshotMenu = menuBar()->addMenu(i18nc("@title:menu", "S&napshot"));
    const auto add = [&](QAction *&action, QMenu *menu, const QString &icon, const QString &text, const QKeySequence &shortcut, void (MainWindow::*slot)()) {
        action = new QAction(QIcon::fromTheme(icon), text, this);
        action->setShortcut(shortcut);
        action->setToolTip(
            QStringLiteral("%1 (%2)").arg(text.section(QLatin1Char('&'), 0).remove(QLatin1Char('&')), shortcut.toString(QKeySequence::NativeText)));
        connect(action, &QAction::triggered, this, slot);
        toolBar->addAction(action);
        menu->addAction(action);
        addAction(action);
    };
    m_sessionActions = new SessionActions(m_client, this);
    m_sessionActions->addTo(sessionMenu, toolBar);
    connectSessionActions();
    sessionMenu->addSeparator();
    toolBar->addSeparator();
    add(m_snapshotNow, sessionMenu, QStringLiteral("camera-photo"), i18n("&Snapshot Now"), QKeySequence(Qt::CTRL | Qt::Key_S), &MainWindow::snapshotNow);
    add(m_restore,
        snapshotMenu,
        QStringLiteral("document-revert"),
        i18n("&Go Back to This Point"),
        QKeySequence(Qt::CTRL | Qt::Key_R),
        &MainWindow::restoreSelected);
    add(m_restoreAsNew,
        snapshotMenu,
        QStringLiteral("split"),
        i18n("Open as &New Session"),
        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
        &MainWindow::restoreSelectedAsNew);
    snapshotMenu->addSeparator();
    add(m_export, snapshotMenu, QStringLiteral("document-export"), i18n("&Export Snapshot…"), QKeySequence(Qt::CTRL | Qt::Key_E), &MainWindow::exportSelected);
    add(m_import, snapshotMenu, QStringLiteral("document-import"), i18n("&Import Snapshot…"), QKeySequence(Qt::CTRL | Qt::Key_I), &MainWindow::importSnapshot);
    // The toolbar is wide enough for every action with a short text.
    m_export->setIconText(i18nc("@action:intoolbar", "Export"));
    m_import->setIconText(i18nc("@action:intoolbar", "Import"));
    snapshotMenu->addAction(m_searchBar->findAction());
    add(m_liveView, sessionMenu, QStringLiteral("krdc"), i18n("&Live View"), QKeySequence(Qt::CTRL | Qt::Key_L), &MainWindow::viewSelected);
    snapshotMenu->addSeparator();
    add(m_rename, snapshotMenu, QStringLiteral("edit-rename"), i18n("&Rename…"), QKeySequence(Qt::Key_F2), &MainWindow::renameSelected);
    add(m_pin, snapshotMenu, QStringLiteral("window-pin"), i18n("&Pin"), QKeySequence(Qt::CTRL | Qt::Key_P), &MainWindow::togglePinned);
    m_pin->setCheckable(true);
    // The toolbar is full; both are in the Snapshot menu and the timeline's context menu.
    toolBar->removeAction(m_rename);
    toolBar->removeAction(m_pin);
    m_pin->setToolTip(i18n("Pin or unpin: automatic cleanup never deletes a pinned snapshot (%1)", m_pin->shortcut().toString(QKeySequence::NativeText)));
    snapshotMenu->addSeparator();
    add(m_delete, snapshotMenu, QStringLiteral("edit-delete"), i18n("&Delete Snapshot"), QKeySequence(QKeySequence::Delete), &MainWindow::deleteSelected);
    sessionMenu->addSeparator();
    add(m_refresh, sessionMenu, QStringLiteral("view-refresh"), i18n("Re&fresh"), QKeySequence(QKeySequence::Refresh), &MainWindow::refresh);

    m_timelineView->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_timelineView->addActions({m_restore, m_restoreAsNew, m_rename, m_pin, m_export, m_delete});
}

void MainWindow::addApplicationActions(QAction *quit, QAction *configure)
{
    if (auto sessionMenu = menuBar()->findChild<QMenu *>(QStringLiteral("sessionMenu"))) {
        sessionMenu->addSeparator();
        sessionMenu->addAction(quit);
    }
    menuBar()->addMenu(i18nc("@title:menu", "Se&ttings"))->addAction(configure);
    addAction(quit);
    addAction(configure);
}

void MainWindow::showSession(const QString &session)
{
    if (const int row = m_sessions->rowOf(session); row >= 0) {
        m_sessionView->setCurrentIndex(m_sessions->index(row));
        return;
    }
    m_wantedSession = session; // not listed yet (a session just restored)
    refresh();
}

void MainWindow::connectSessionActions()
{
    connect(m_sessionActions, &SessionActions::started, this, [this](const QString &stage) {
        m_message->animatedHide();
        showBusy(stage);
    });
    connect(m_sessionActions, &SessionActions::progressed, this, &MainWindow::showProgress);
    connect(m_sessionActions, &SessionActions::failed, this, [this](const QString &message, const QString &event) {
        showError(message);
        if (!event.isEmpty()) {
            Q_EMIT operationFinished(event, message);
        }
    });
    connect(m_sessionActions, &SessionActions::succeeded, this, [this](const QString &message, const QString &event) {
        showInformation(message);
        if (!event.isEmpty()) {
            Q_EMIT operationFinished(event, message);
        }
    });
    connect(m_sessionActions, &SessionActions::sessionChanged, this, [this](const QString &session) {
        m_wantedSession = session;
        refresh();
    });
}

void MainWindow::setExportFileChooser(FileChooser chooser)
{
    m_chooseExportFile = std::move(chooser);
}

void MainWindow::setImportFileChooser(FileChooser chooser)
{
    m_chooseImportFile = std::move(chooser);
}

void MainWindow::setLabelEditor(LabelEditor editor)
{
    m_editLabel = std::move(editor);
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
    // Going back in place needs the session; a session known only by its snapshots can only branch.
    m_restore->setEnabled(idle && snapshotSelected && state != SessionListModel::snapshotsOnlyState);
    m_restoreAsNew->setEnabled(idle && snapshotSelected);
    m_delete->setEnabled(idle && snapshotSelected);
    m_export->setEnabled(idle && snapshotSelected);
    m_rename->setEnabled(idle && snapshotSelected);
    m_pin->setEnabled(idle && snapshotSelected);
    const bool pinned = m_timelineView->currentIndex().data(TimelineModel::PinnedRole).toBool();
    m_pin->setChecked(pinned);
    m_pin->setText(pinned ? i18n("Un&pin") : i18n("&Pin"));
    m_import->setEnabled(idle);
    m_sessionActions->update(currentSession(), state, idle);
    if (idle) {
        m_progress->hide();
        m_progress->setRange(0, 100);
        m_stage->clear();
    }
}

void MainWindow::showError(const QString &operation, const Rewind::Error &error)
{
    m_failures->show(operation, error);
}

void MainWindow::showError(const QString &message)
{
    m_failures->forget();
    m_message->setMessageType(KMessageWidget::Error);
    m_message->setText(message);
    m_message->animatedShow();
}

void MainWindow::showInformation(const QString &message)
{
    m_failures->forget();
    m_message->setMessageType(KMessageWidget::Positive);
    m_message->setText(message);
    m_message->animatedShow();
}

void MainWindow::showBusy(const QString &stage)
{
    m_progress->setRange(0, 0); // how far it is, nobody says
    m_progress->show();
    m_stage->setText(stage);
}

void MainWindow::showProgress(int percent, const QString &stage)
{
    m_progress->show();
    if (percent >= 0) {
        m_progress->setRange(0, 100);
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
        // Snapshots outlive their sessions, and an imported one belongs to
        // none here: such sessions are listed too, to reach their snapshots.
        m_client->call(HelperProtocol::listSnapshots, {}, this, [this, sessions = answer->toArray()](const Result<QJsonValue> &snapshots) {
            QJsonArray listed = sessions;
            if (snapshots) {
                listed = SessionListModel::withSessionsOfSnapshots(sessions, snapshots->toArray());
                // Snapshots came or went (autosave of another session): what they use changed.
                if (const QList<qint64> ids = snapshotIds(snapshots->toArray()); ids != m_allSnapshotIds) {
                    m_allSnapshotIds = ids;
                    m_storageStale = true;
                }
            }
            const QString selected = currentSession();
            m_sessions->setSessions(listed);
            const int row = selected.isEmpty() ? 0 : std::max(0, m_sessions->rowOf(selected));
            if (m_sessions->rowCount() > 0 && !m_sessionView->currentIndex().isValid()) {
                m_sessionView->setCurrentIndex(m_sessions->index(row));
            }
            if (const int wanted = m_sessions->rowOf(m_wantedSession); wanted >= 0) {
                m_sessionView->setCurrentIndex(m_sessions->index(wanted));
                if (m_wantedSnapshot <= 0) {
                    m_wantedSession.clear(); // selected once; the user may move on
                }
            }
            refreshTimeline();
        });
    });
}

void MainWindow::selectWanted()
{
    if (m_wantedSnapshot <= 0 || m_wantedSession != currentSession()) {
        return;
    }
    const int row = m_timeline->rowOf(m_wantedSnapshot);
    if (row >= 0) {
        const QModelIndex shown = m_timeline->index(row);
        m_timelineView->setCurrentIndex(shown);
        m_timelineView->scrollTo(shown);
        m_wantedSession.clear();
        m_wantedSnapshot = 0;
    }
}

void MainWindow::refreshTimeline()
{
    const QString session = currentSession();
    updateActions();
    if (session.isEmpty()) {
        m_timeline->setSnapshots({});
        refreshStorage();
        return;
    }
    showStorage(m_lastStorage);
    m_client->call(HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}, this, [this, session](const Result<QJsonValue> &answer) {
        if (session != currentSession()) {
            return; // the user moved on
        }
        if (!answer) {
            showError(answer.errorMessage());
            return;
        }
        m_timeline->setSnapshots(answer->toArray());
        selectWanted();
        updateActions();
        fetchThumbnails();
        // Adding up the chunks is not free: only when snapshots came or went.
        if (const QList<qint64> ids = snapshotIds(answer->toArray()); ids != m_timelineSnapshotIds || m_storageStale) {
            m_timelineSnapshotIds = ids;
            refreshStorage();
        }
    });
}

void MainWindow::refreshStorage()
{
    m_client->call(HelperProtocol::storage, {}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            // Not worth a message above the timeline: the line says it does not know.
            m_storage->setText(i18n("How much space the snapshots use is not known: %1", answer.errorMessage()));
            return;
        }
        m_lastStorage = answer->toObject();
        m_storageStale = false;
        showStorage(m_lastStorage);
    });
}

void MainWindow::showStorage(const QJsonObject &storage)
{
    if (storage.isEmpty()) {
        m_storage->clear();
        return;
    }
    KFormat format;
    const QString total = format.formatByteSize(double(storage.value(QStringLiteral("totalBytes")).toInteger()));
    const QJsonValue quota = storage.value(QStringLiteral("quotaBytes"));
    const QString all = quota.isDouble() ? i18n("All your snapshots use %1 of your %2 quota.", total, format.formatByteSize(quota.toDouble()))
                                         : i18n("All your snapshots use %1.", total);
    const QString session = currentSession();
    if (session.isEmpty()) {
        m_storage->setText(all);
        return;
    }
    qint64 sessionBytes = 0;
    const QJsonArray sessions = storage.value(QStringLiteral("sessions")).toArray();
    for (const QJsonValue &value : sessions) {
        if (value.toObject().value(QStringLiteral("session")).toString() == session) {
            sessionBytes = value.toObject().value(QStringLiteral("bytes")).toInteger();
        }
    }
    m_storage->setText(
        i18nc("storage line: this session's, then all snapshots'", "This session's snapshots use %1. %2", format.formatByteSize(double(sessionBytes)), all));
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
                showError(HelperProtocol::snapshot, answer.error());
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
                showError(HelperProtocol::restore, answer.error());
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

void MainWindow::exportSelected()
{
    const qint64 snapshot = currentSnapshot();
    const QString session = currentSession();
    if (snapshot <= 0) {
        return;
    }
    const QString suggested = QDir(m_transferDirectory).filePath(QStringLiteral("%1-%2.rewind").arg(session, QString::number(snapshot)));
    const QString path = m_chooseExportFile(suggested);
    if (path.isEmpty()) {
        return;
    }
    m_transferDirectory = QFileInfo(path).absolutePath();
    // The file is the user's: opened here, as the user; the helper only
    // writes into the descriptor it is handed.
    auto file = std::make_shared<UniqueFd>(::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600));
    if (!*file) {
        showError(i18n("Could not write %1: %2", path, systemError()));
        return;
    }
    // Not blocking on the open (a named pipe), blocking while the helper writes.
    (void)::fcntl(file->get(), F_SETFL, ::fcntl(file->get(), F_GETFL) & ~O_NONBLOCK);

    m_message->animatedHide();
    showBusy(i18nc("@info progress", "Exporting…"));
    m_client->call(
        HelperProtocol::exportSnapshot,
        {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(file->get()))}},
        this,
        [this, snapshot, path, file](const Result<QJsonValue> &answer) {
            if (!answer) {
                removePartialExport(path, file->get());
                showError(HelperProtocol::exportSnapshot,
                          answer.error().rephrased(i18n("Snapshot %1 could not be exported: %2", QString::number(snapshot), answer.errorMessage())));
                return;
            }
            const qint64 bytes = answer->toObject().value(QStringLiteral("bytes")).toInteger();
            showInformation(i18n("Snapshot %1 is exported to %2 (%3).", QString::number(snapshot), path, KFormat().formatByteSize(double(bytes))));
        },
        [this](int percent, const QString &stage) {
            showProgress(percent, stage);
        });
}

void MainWindow::importSnapshot()
{
    const QString path = m_chooseImportFile(m_transferDirectory);
    if (path.isEmpty()) {
        return;
    }
    m_transferDirectory = QFileInfo(path).absolutePath();
    UniqueFd file(::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!file) {
        showError(i18n("Could not read %1: %2", path, systemError()));
        return;
    }
    (void)::fcntl(file.get(), F_SETFL, ::fcntl(file.get(), F_GETFL) & ~O_NONBLOCK);

    m_message->animatedHide();
    showBusy(i18nc("@info progress", "Importing…"));
    // The call keeps a duplicate of the descriptor for as long as it needs it.
    m_client->call(
        HelperProtocol::importSnapshot,
        {{HelperProtocol::streamKey, QVariant::fromValue(QDBusUnixFileDescriptor(file.get()))}},
        this,
        [this, path](const Result<QJsonValue> &answer) {
            if (!answer) {
                // The helper names everything that keeps the snapshot from being used here.
                showError(HelperProtocol::importSnapshot, answer.error().rephrased(i18n("%1 could not be imported: %2", path, answer.errorMessage())));
                return;
            }
            const QJsonObject imported = answer->toObject();
            const qint64 id = imported.value(QStringLiteral("id")).toInteger();
            const QString session = imported.value(QStringLiteral("session")).toString();
            showInformation(i18n("%1 is imported as snapshot %2 of %3.", path, QString::number(id), session));
            m_wantedSession = session;
            m_wantedSnapshot = id;
            refresh();
        },
        [this](int percent, const QString &stage) {
            showProgress(percent, stage);
        });
}

void MainWindow::renameSelected()
{
    const qint64 snapshot = currentSnapshot();
    if (snapshot <= 0) {
        return;
    }
    const std::optional<QString> label = m_editLabel(m_timelineView->currentIndex().data(TimelineModel::LabelRole).toString());
    if (!label) {
        return;
    }
    m_client->call(HelperProtocol::setLabel,
                   {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::labelKey, label->trimmed()}},
                   this,
                   [this, snapshot](const Result<QJsonValue> &answer) {
                       if (!answer) {
                           showError(i18n("Snapshot %1 could not be renamed: %2", QString::number(snapshot), answer.errorMessage()));
                       }
                       refreshTimeline();
                   });
}

void MainWindow::togglePinned()
{
    setSelectedPinned(m_pin->isChecked());
}

void MainWindow::setSelectedPinned(bool pinned)
{
    const qint64 snapshot = currentSnapshot();
    if (snapshot <= 0) {
        return;
    }
    m_client->call(HelperProtocol::setPinned,
                   {{HelperProtocol::snapshotKey, snapshot}, {HelperProtocol::pinnedKey, pinned}},
                   this,
                   [this, snapshot, pinned](const Result<QJsonValue> &answer) {
                       if (!answer) {
                           showError(pinned ? i18n("Snapshot %1 could not be pinned: %2", QString::number(snapshot), answer.errorMessage())
                                            : i18n("Snapshot %1 could not be unpinned: %2", QString::number(snapshot), answer.errorMessage()));
                       }
                       refreshTimeline();
                   });
}
