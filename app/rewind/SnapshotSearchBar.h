// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QWidget>

class HelperClient;
class QAction;
class QLabel;
class QLineEdit;
class QTimer;
class TimelineModel;

/// The search field above the timeline: what the user types is searched for
/// in the text on snapshots' screens (the helper's `search`), a moment after
/// they stop typing, and the timeline shows only the
/// snapshots whose screen showed it, best match first. Clearing the field
/// shows every snapshot again. The answer comes asynchronously; the window
/// never waits for it.
class SnapshotSearchBar : public QWidget
{
    Q_OBJECT

public:
    SnapshotSearchBar(HelperClient *client, TimelineModel *timeline, QWidget *parent = nullptr);

    /// Focuses the field (Ctrl+F).
    QAction *findAction() const
    {
        return m_find;
    }
    QLineEdit *field() const
    {
        return m_field;
    }

private:
    void searchSoon();
    void search();
    void showOutcome();
    void showStatus(const QString &text);

    HelperClient *m_client;
    TimelineModel *m_timeline;
    QLineEdit *m_field;
    QLabel *m_status;
    QTimer *m_delay;
    QAction *m_find;
    QString m_shown; ///< the words whose matches the timeline shows; empty: none
};
