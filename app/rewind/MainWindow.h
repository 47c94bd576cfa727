// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QJsonObject>
#include <QMainWindow>
#include <QSet>

#include <functional>
#include <optional>

class FailureMessage;
class HelperClient;
class KMessageWidget;
class QAction;
class QLabel;
class QListView;
class QProgressBar;
class SessionActions;
class SessionListModel;
class SnapshotSearchBar;
class TimelineModel;

/// Rewind's window: the user's sessions on the left, the selected session's
/// timeline of snapshots on the right, and what can be done with them.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(HelperClient *client, QWidget *parent = nullptr);

    QString currentSession() const;
    qint64 currentSnapshot() const;
    QAction *snapshotAction() const
    {
        return m_snapshotNow;
    }
    /// New Session…, Stop, Hibernate, Wake, Recover.
    SessionActions *sessionActions() const
    {
        return m_sessionActions;
    }

    /// Asks for a file: where an export goes (suggested: a path with the
    /// default name) or which one to import (suggested: a directory). Empty
    /// means cancelled. The window asks with a file dialog; a test answers
    /// without a modal one.
    using FileChooser = std::function<QString(const QString &suggested)>;
    void setExportFileChooser(FileChooser chooser);
    void setImportFileChooser(FileChooser chooser);
    /// Asks for a snapshot's new label, starting from its current one;
    /// nullopt means cancelled, empty clears the label. The window asks with
    /// a dialog; a test answers without a modal one.
    using LabelEditor = std::function<std::optional<QString>(const QString &current)>;
    void setLabelEditor(LabelEditor editor);

    /// The application's own actions (Quit, Configure Rewind…), in the window's menus.
    void addApplicationActions(QAction *quit, QAction *configure);

public Q_SLOTS:
    void refresh();
    void snapshotNow();
    void restoreSelected();
    void restoreSelectedAsNew();
    void deleteSelected();
    /// Shows the selected session's screen as it is now, in a window of its own.
    void viewSelected();
    /// Writes the selected snapshot to a file of the user's choice, through the helper.
    void exportSelected();
    /// Stores a snapshot from a file of the user's choice as the user's, and selects it.
    void importSnapshot();
    /// Selects session (once listed) and its timeline.
    void showSession(const QString &session);
    /// Gives the selected snapshot a new label (empty clears it), through the helper.
    void renameSelected();
    /// Pins the selected snapshot (autosave never prunes it) or unpins it.
    void setSelectedPinned(bool pinned);

Q_SIGNALS:
    /// A finished operation, for notifications: event is a rewind.notifyrc event id.
    void operationFinished(const QString &event, const QString &text);

private:
    void setupActions();
    void connectSessionActions();
    void refreshTimeline();
    void fetchThumbnails();
    /// Asks the helper what the user's snapshots take and shows it below the timeline.
    void refreshStorage();
    void togglePinned();
    void showStorage(const QJsonObject &storage);
    void updateActions();
    void showError(const QString &message);
    /// A failure of the helper's operation, with its details (CRIU's log lines) a click away and in the user's log.
    void showError(const QString &operation, const Rewind::Error &error);
    void showInformation(const QString &message);
    void showProgress(int percent, const QString &stage);
    void showBusy(const QString &stage);
    void restore(bool asNew);
    void selectWanted();

    HelperClient *m_client;
    SessionListModel *m_sessions;
    TimelineModel *m_timeline;
    SnapshotSearchBar *m_searchBar;
    QListView *m_sessionView;
    QListView *m_timelineView;
    KMessageWidget *m_message;
    FailureMessage *m_failures;
    QProgressBar *m_progress;
    QLabel *m_stage;
    SessionActions *m_sessionActions = nullptr;
    QAction *m_snapshotNow = nullptr;
    QAction *m_restore = nullptr;
    QAction *m_restoreAsNew = nullptr;
    QAction *m_delete = nullptr;
    QAction *m_refresh = nullptr;
    QAction *m_liveView = nullptr;
    QAction *m_export = nullptr;
    QAction *m_import = nullptr;
    QAction *m_rename = nullptr;
    QAction *m_pin = nullptr;
    QLabel *m_storage;
    QJsonObject m_lastStorage; ///< the helper's last storage answer, shown again when the selected session changes
    bool m_storageStale = true; ///< snapshots came or went since m_lastStorage
    QList<qint64> m_allSnapshotIds; ///< of the last full listing
    QList<qint64> m_timelineSnapshotIds; ///< of the last listing of the timeline's session
    LabelEditor m_editLabel;
    FileChooser m_chooseExportFile;
    FileChooser m_chooseImportFile;
    QString m_transferDirectory; ///< where the last export or import was
    /// What to select once the lists have it (an imported snapshot).
    QString m_wantedSession;
    qint64 m_wantedSnapshot = 0;
    QSet<qint64> m_thumbnailsAsked; ///< asked once each: a snapshot may have no picture
};
