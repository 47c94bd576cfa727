// SPDX-License-Identifier: GPL-2.0-or-later
#include "SnapshotSearchBar.h"

#include "HelperClient.h"
#include "HelperProtocol.h"
#include "TimelineModel.h"

#include <KLocalizedString>

#include <QAction>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QTimer>
#include <QVBoxLayout>

using namespace Rewind;

namespace
{
/// How long after the last key press the search starts.
constexpr int typingDelayMs = 400;
}

SnapshotSearchBar::SnapshotSearchBar(HelperClient *client, TimelineModel *timeline, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_timeline(timeline)
    , m_field(new QLineEdit(this))
    , m_status(new QLabel(this))
    , m_delay(new QTimer(this))
    , m_find(new QAction(QIcon::fromTheme(QStringLiteral("edit-find")), i18n("&Find in Snapshots' Screens"), this))
{
    m_field->setObjectName(QStringLiteral("search"));
    m_field->setPlaceholderText(i18n("Search the text on snapshots' screens"));
    m_field->setAccessibleName(i18n("Search"));
    m_field->setClearButtonEnabled(true);
    m_field->setMaxLength(HelperProtocol::maximumQueryLength);
    m_field->addAction(QIcon::fromTheme(QStringLiteral("edit-find")), QLineEdit::LeadingPosition);

    m_status->setObjectName(QStringLiteral("searchStatus"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    m_status->hide();

    // The outcome below the field, only while there is one: the field keeps its width.
    auto layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_field);
    layout->addWidget(m_status);

    m_delay->setSingleShot(true);
    m_delay->setInterval(typingDelayMs);
    connect(m_delay, &QTimer::timeout, this, &SnapshotSearchBar::search);
    connect(m_field, &QLineEdit::textChanged, this, &SnapshotSearchBar::searchSoon);

    m_find->setShortcut(QKeySequence::Find);
    m_find->setShortcutContext(Qt::WindowShortcut);
    connect(m_find, &QAction::triggered, this, [this] {
        m_field->setFocus(Qt::ShortcutFocusReason);
        m_field->selectAll();
    });
    addAction(m_find);

    // The timeline of another session, or new snapshots: say again what is shown.
    connect(m_timeline, &QAbstractItemModel::modelReset, this, &SnapshotSearchBar::showOutcome);
    connect(m_timeline, &QAbstractItemModel::layoutChanged, this, &SnapshotSearchBar::showOutcome);
    connect(m_timeline, &QAbstractItemModel::rowsInserted, this, &SnapshotSearchBar::showOutcome);
    connect(m_timeline, &QAbstractItemModel::rowsRemoved, this, &SnapshotSearchBar::showOutcome);
}

void SnapshotSearchBar::searchSoon()
{
    if (m_field->text().trimmed().isEmpty()) {
        // Cleared: every snapshot again, at once.
        m_delay->stop();
        m_shown.clear();
        m_timeline->showAll();
        showOutcome();
        return;
    }
    m_delay->start();
}

void SnapshotSearchBar::search()
{
    const QString words = m_field->text().trimmed();
    if (words.isEmpty()) {
        return;
    }
    showStatus(i18nc("@info:status", "Searching…"));
    m_client->call(HelperProtocol::search, {{HelperProtocol::queryKey, words}}, this, [this, words](const Result<QJsonValue> &answer) {
        if (words != m_field->text().trimmed()) {
            return; // typed on meanwhile: a newer search follows
        }
        if (!answer) {
            showStatus(answer.errorMessage());
            return;
        }
        QList<qint64> bestFirst;
        const QJsonArray matches = answer->toArray();
        for (const QJsonValue &match : matches) {
            bestFirst.append(match.toObject().value(QStringLiteral("snapshot")).toInteger());
        }
        m_shown = words;
        m_timeline->showOnly(bestFirst);
        showOutcome();
    });
}

void SnapshotSearchBar::showStatus(const QString &text)
{
    m_status->setText(text);
    m_status->setVisible(!text.isEmpty());
}

void SnapshotSearchBar::showOutcome()
{
    if (!m_timeline->isFiltered()) {
        showStatus({});
        return;
    }
    const int shown = m_timeline->rowCount();
    showStatus(shown == 0 ? i18n("No snapshot of this session showed \u201c%1\u201d.", m_shown)
                          : i18np("One snapshot showed \u201c%2\u201d.", "%1 snapshots showed \u201c%2\u201d.", shown, m_shown));
}
