// SPDX-License-Identifier: GPL-2.0-or-later
// Search of the past from the real window, as rewind-user against the real
// helper: a session shows one word, then another (with-system-bus's spec
// "words"), with a snapshot of each; typing a word into the search field
// narrows the timeline to the snapshot whose screen showed it, a word no
// screen showed leaves it empty and says so, and clearing the field shows
// every snapshot again.
#include "GuiHelperCall.h"
#include "HelperClient.h"
#include "HelperProtocol.h"
#include "MainWindow.h"
#include "ScreenTextRecognizer.h"
#include "SessionListModel.h"
#include "TestSkip.h"
#include "TimelineModel.h"
#include "VncScreenshot.h"

#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QTest>

#include <optional>
#include <tuple>
#include <unistd.h>

using namespace Rewind;

namespace
{
const QString word = QStringLiteral("QUOKKAPLUM");
const QString laterWord = QStringLiteral("WALRUSKIWI");
}

class SearchGuiTest : public QObject
{
    Q_OBJECT

private:
    HelperClient m_client;
    QString m_session;
    qint64 m_snapshot = 0; ///< showed word
    qint64 m_later = 0; ///< showed laterWord

    /// Calls the helper and waits for its answer.
    Result<QJsonValue> call(const QString &action, const QVariantMap &arguments)
    {
        return callHelperAndWait(m_client, this, action, arguments);
    }

    /// Whether the session's screen shows shown and not hidden, read with tesseract as this user.
    static bool screenShows(const QString &socket, const QString &shown, const QString &hidden)
    {
        const auto picture = VncScreenshot::grab(socket, std::chrono::seconds(10));
        if (!picture) {
            return false;
        }
        QByteArray png;
        QBuffer buffer(&png);
        buffer.open(QIODevice::WriteOnly);
        picture->save(&buffer, "PNG");
        const auto text = ScreenTextRecognizer::recognize(png, ::getuid(), ::getgid());
        return text && text->contains(shown) && !text->contains(hidden);
    }

    static QList<qint64> shownIds(QListView *timeline)
    {
        QList<qint64> ids;
        for (int row = 0; row < timeline->model()->rowCount(); ++row) {
            ids.append(timeline->model()->index(row, 0).data(TimelineModel::IdRole).toLongLong());
        }
        return ids;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(::getuid() != 0, "the window's tests run as rewind-user (rewind-test-as-owner), never as root");
        if (ScreenTextRecognizer::program().isEmpty()) {
            REWIND_SKIP("tesseract is not installed (Debian: tesseract-ocr, tesseract-ocr-eng)");
        }
        auto started = call(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("words")}});
        QVERIFY2(started.ok(), qPrintable(started.errorMessage()));
        m_session = started->toObject().value(QStringLiteral("id")).toString();

        // A snapshot once the word is on the screen, another once the later word replaced it.
        for (const auto &[shown, hidden, taken] : {std::tuple{word, laterWord, &m_snapshot}, std::tuple{laterWord, word, &m_later}}) {
            auto view = call(HelperProtocol::liveView, {{HelperProtocol::sessionKey, m_session}});
            QVERIFY2(view.ok(), qPrintable(view.errorMessage()));
            const QString socket = view->toObject().value(QStringLiteral("socket")).toString();
            QTRY_VERIFY_WITH_TIMEOUT(screenShows(socket, shown, hidden), 60000);
            auto snapshot = call(HelperProtocol::snapshot, {{HelperProtocol::sessionKey, m_session}});
            QVERIFY2(snapshot.ok(), qPrintable(snapshot.errorMessage()));
            *taken = snapshot->toObject().value(QStringLiteral("id")).toInteger();
        }
    }

    void cleanupTestCase()
    {
        if (!m_session.isEmpty()) {
            (void)call(HelperProtocol::stopSession, {{HelperProtocol::sessionKey, m_session}});
        }
    }

    void typingAWordShowsTheSnapshotsThatShowedIt()
    {
        MainWindow window(&m_client);
        window.show();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        auto sessions = window.findChild<QListView *>(QStringLiteral("sessions"));
        auto timeline = window.findChild<QListView *>(QStringLiteral("timeline"));
        auto field = window.findChild<QLineEdit *>(QStringLiteral("search"));
        auto status = window.findChild<QLabel *>(QStringLiteral("searchStatus"));
        QVERIFY(sessions && timeline && field && status);
        QVERIFY(field->isClearButtonEnabled());
        QCOMPARE(field->placeholderText(), QStringLiteral("Search the text on snapshots' screens"));

        window.refresh();
        QTRY_VERIFY_WITH_TIMEOUT(static_cast<SessionListModel *>(sessions->model())->rowOf(m_session) >= 0, 30000);
        sessions->setCurrentIndex(sessions->model()->index(static_cast<SessionListModel *>(sessions->model())->rowOf(m_session), 0));
        QTRY_COMPARE_WITH_TIMEOUT(shownIds(timeline), (QList<qint64>{m_later, m_snapshot}), 30000);

        // Ctrl+F goes to the field; typing the word narrows the timeline to its snapshot.
        timeline->setFocus();
        QTest::keyClick(&window, Qt::Key_F, Qt::ControlModifier);
        QTRY_VERIFY(field->hasFocus());
        QTest::keyClicks(field, word.toLower());
        QTRY_COMPARE_WITH_TIMEOUT(shownIds(timeline), QList<qint64>{m_snapshot}, 120000);
        QTRY_VERIFY(status->text().contains(word.toLower()));
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(window.grab().save(directory + QStringLiteral("/search-window.png")));
        }

        // Another word: the other snapshot.
        field->selectAll();
        QTest::keyClicks(field, laterWord);
        QTRY_COMPARE_WITH_TIMEOUT(shownIds(timeline), QList<qint64>{m_later}, 60000);

        // A word no screen showed: nothing, and the window says so.
        field->selectAll();
        QTest::keyClicks(field, QStringLiteral("zebrafishmango"));
        QTRY_COMPARE_WITH_TIMEOUT(timeline->model()->rowCount(), 0, 60000);
        QTRY_VERIFY(status->text().startsWith(QStringLiteral("No snapshot")));
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            QVERIFY(window.grab().save(directory + QStringLiteral("/search-nothing.png")));
        }

        // Cleared: every snapshot again, newest first.
        field->clear();
        QTRY_COMPARE(shownIds(timeline), (QList<qint64>{m_later, m_snapshot}));
        QVERIFY(status->text().isEmpty());
    }
};

QTEST_MAIN(SearchGuiTest)
#include "SearchGuiTest.moc"
