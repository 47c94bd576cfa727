// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "AutosaveSettings.h"

#include <QDialog>

class HelperClient;
class QCheckBox;
class QLabel;
class QSpinBox;

/// Settings → Configure Rewind…: autosave on or off, its interval and how
/// many automatic snapshots stay, kept in rewindrc; and, read only, what
/// the user's snapshots take of their quota.
class SettingsDialog : public QDialog
{
    Q_OBJECT

public:
    explicit SettingsDialog(HelperClient *client, QWidget *parent = nullptr);

    AutosaveSettings settings() const;
    void setSettings(const AutosaveSettings &settings);

    /// Asks the helper for the user's snapshots to show what they take.
    void refreshStorage();

Q_SIGNALS:
    /// Saved to rewindrc (OK or Apply).
    void settingsSaved(const AutosaveSettings &settings);

private:
    void save();
    void updateEnabled();

    HelperClient *m_client;
    QCheckBox *m_enabled;
    QSpinBox *m_interval;
    QSpinBox *m_keepLast;
    QSpinBox *m_keepHourly;
    QSpinBox *m_keepDaily;
    QLabel *m_storage;
};
