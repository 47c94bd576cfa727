// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QObject>
#include <QPointer>

#include <memory>

class AutosaveScheduler;
class CrashWatcher;
class HelperClient;
class KStatusNotifierItem;
class MainWindow;
class Notifier;
class QAction;
class SettingsDialog;

/// Rewind as it lives in the tray: the window (closing it only hides it),
/// the tray icon and its menu, autosave and the crash watch running whether
/// the window is shown or not, and the notifications that lead back.
/// Quit (Ctrl+Q, or the tray menu) ends it all.
class TrayApplication : public QObject
{
    Q_OBJECT

public:
    explicit TrayApplication(HelperClient *client, QObject *parent = nullptr);
    ~TrayApplication() override;

    /// Starts autosave and the crash watch; shows the window unless inTray.
    void start(bool inTray);

    MainWindow *window() const
    {
        return m_window.get();
    }
    KStatusNotifierItem *tray() const
    {
        return m_tray.get();
    }
    AutosaveScheduler *scheduler() const
    {
        return m_scheduler;
    }
    CrashWatcher *crashWatcher() const
    {
        return m_crashWatcher;
    }
    Notifier *notifier() const
    {
        return m_notifier;
    }
    QAction *quitAction() const
    {
        return m_quit;
    }
    QAction *configureAction() const
    {
        return m_configure;
    }

public Q_SLOTS:
    /// Shows and raises the window with session selected.
    void openTimeline(const QString &session);
    /// Settings → Configure Rewind…; one dialog at a time.
    SettingsDialog *showSettings();
    /// Brings a crashed session back from its newest snapshot, and tells how it went.
    void recover(const QString &session);

Q_SIGNALS:
    /// recover() is done, with the helper's answer's message if it failed.
    void recovered(const QString &session, const QString &failure);

private:
    HelperClient *m_client;
    std::unique_ptr<MainWindow> m_window;
    AutosaveScheduler *m_scheduler;
    CrashWatcher *m_crashWatcher;
    Notifier *m_notifier;
    QAction *m_quit;
    QAction *m_configure;
    QAction *m_show;
    QPointer<SettingsDialog> m_settings;
    std::unique_ptr<KStatusNotifierItem> m_tray; ///< last: it refers to the window
};
