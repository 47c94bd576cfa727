// SPDX-License-Identifier: GPL-2.0-or-later
#include "SettingsDialog.h"

#include "HelperClient.h"
#include "HelperProtocol.h"

#include <KFormat>
#include <KLocalizedString>

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

using namespace Rewind;

namespace
{
QSpinBox *spinBox(const HelperProtocol::Bounds &bounds, const QString &objectName, QWidget *parent)
{
    auto box = new QSpinBox(parent);
    box->setObjectName(objectName);
    box->setRange(bounds.minimum, bounds.maximum);
    box->setValue(bounds.standard);
    return box;
}
} // namespace

SettingsDialog::SettingsDialog(HelperClient *client, QWidget *parent)
    : QDialog(parent)
    , m_client(client)
    , m_enabled(new QCheckBox(i18nc("@option:check", "Take snapshots of running sessions automatically"), this))
    , m_interval(spinBox(HelperProtocol::intervalMinutes, QStringLiteral("interval"), this))
    , m_keepLast(spinBox(HelperProtocol::keepLast, QStringLiteral("keepLast"), this))
    , m_keepHourly(spinBox(HelperProtocol::keepHourly, QStringLiteral("keepHourly"), this))
    , m_keepDaily(spinBox(HelperProtocol::keepDaily, QStringLiteral("keepDaily"), this))
    , m_storage(new QLabel(this))
{
    setWindowTitle(i18nc("@title:window", "Configure Rewind"));
    m_enabled->setObjectName(QStringLiteral("enabled"));
    m_interval->setSuffix(i18nc("@item:valuesuffix minutes", " min"));
    m_keepHourly->setSpecialValueText(i18nc("@item:valuesuffix no hourly snapshots kept", "None"));
    m_keepDaily->setSpecialValueText(i18nc("@item:valuesuffix no daily snapshots kept", "None"));
    m_storage->setObjectName(QStringLiteral("storage"));
    m_storage->setWordWrap(true);
    m_storage->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto autosave = new QGroupBox(i18nc("@title:group", "Autosave"), this);
    auto autosaveLayout = new QVBoxLayout(autosave);
    auto form = new QFormLayout;
    autosaveLayout->addLayout(form);
    form->addRow(m_enabled);
    form->addRow(i18nc("@label:spinbox", "Snapshot every:"), m_interval);
    form->addRow(i18nc("@label:spinbox", "Keep the newest:"), m_keepLast);
    form->addRow(i18nc("@label:spinbox", "Then one an hour for:"), m_keepHourly);
    form->addRow(i18nc("@label:spinbox", "Then one a day for:"), m_keepDaily);
    m_keepHourly->setSuffix(i18nc("@item:valuesuffix", " hours"));
    m_keepDaily->setSuffix(i18nc("@item:valuesuffix", " days"));
    auto explanation = new QLabel(i18n("Only snapshots Rewind took by itself are ever deleted. "
                                       "Snapshots you took, imported, pinned or labelled stay until you delete them."),
                                  autosave);
    explanation->setWordWrap(true);
    autosaveLayout->addWidget(explanation);

    auto storage = new QGroupBox(i18nc("@title:group", "Storage"), this);
    auto storageLayout = new QVBoxLayout(storage);
    storageLayout->addWidget(m_storage);

    auto buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Apply | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        save();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::Apply), &QPushButton::clicked, this, &SettingsDialog::save);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] {
        setSettings(AutosaveSettings());
    });
    connect(m_enabled, &QCheckBox::toggled, this, &SettingsDialog::updateEnabled);

    auto layout = new QVBoxLayout(this);
    layout->addWidget(autosave);
    layout->addWidget(storage);
    layout->addStretch();
    layout->addWidget(buttons);

    setSettings(AutosaveSettings::load());
    refreshStorage();
    // Room for the explanation's lines: a wrapped label does not ask for it.
    setMinimumWidth(480);
    adjustSize();
}

AutosaveSettings SettingsDialog::settings() const
{
    AutosaveSettings settings;
    settings.enabled = m_enabled->isChecked();
    settings.intervalMinutes = m_interval->value();
    settings.keepLast = m_keepLast->value();
    settings.keepHourly = m_keepHourly->value();
    settings.keepDaily = m_keepDaily->value();
    return settings;
}

void SettingsDialog::setSettings(const AutosaveSettings &settings)
{
    m_enabled->setChecked(settings.enabled);
    m_interval->setValue(settings.intervalMinutes);
    m_keepLast->setValue(settings.keepLast);
    m_keepHourly->setValue(settings.keepHourly);
    m_keepDaily->setValue(settings.keepDaily);
    updateEnabled();
}

void SettingsDialog::updateEnabled()
{
    for (QSpinBox *box : {m_interval, m_keepLast, m_keepHourly, m_keepDaily}) {
        box->setEnabled(m_enabled->isChecked());
    }
}

void SettingsDialog::save()
{
    const AutosaveSettings saved = settings();
    saved.save();
    Q_EMIT settingsSaved(saved);
}

void SettingsDialog::refreshStorage()
{
    m_storage->setText(i18nc("@info", "Asking the Rewind service…"));
    m_client->call(HelperProtocol::storage, {}, this, [this](const Result<QJsonValue> &answer) {
        if (!answer) {
            m_storage->setText(answer.errorMessage());
            return;
        }
        // What the quota counts: each chunk of the user's snapshots once.
        const QJsonObject storage = answer->toObject();
        const KFormat format;
        const qint64 count = storage.value(QStringLiteral("totalSnapshots")).toInteger();
        const QString total = format.formatByteSize(double(storage.value(QStringLiteral("totalBytes")).toInteger()));
        const QJsonValue quota = storage.value(QStringLiteral("quotaBytes"));
        m_storage->setText(quota.isDouble() ? i18np("You have %1 snapshot; it uses %2 of your %3 quota.",
                                                    "You have %1 snapshots; they use %2 of your %3 quota.",
                                                    count,
                                                    total,
                                                    format.formatByteSize(quota.toDouble()))
                                            : i18np("You have %1 snapshot; it uses %2.", "You have %1 snapshots; they use %2.", count, total));
    });
}
