// SPDX-License-Identifier: GPL-2.0-or-later
// Search of the past through the helper: a session of rewind-user shows a
// word in large letters (with-system-bus's spec "words"), a snapshot is taken, and the helper's search finds
// it by that word with tesseract reading the screen as rewind-user; nobody
// else finds it, hostile queries do no harm, and a deleted snapshot is no
// longer found. Everything real: the helper through KAuth and polkit, the
// session's Xvnc and xterm, tesseract.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include "ScreenTextRecognizer.h"
#include "VncScreenshot.h"

#include <QBuffer>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMutex>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>

using namespace Rewind;

namespace
{

/// The words the session of with-system-bus's spec "words" shows, the
/// second 15 s after the first, instead; no dictionary words, so nothing
/// else matches them.
const QString word = QStringLiteral("QUOKKAPLUM");
const QString laterWord = QStringLiteral("WALRUSKIWI");
const QString specName = QStringLiteral("words");

/// Watches /proc for tesseract processes while it runs, and keeps the uid
/// and gid lines ("Uid:\treal\teffective\tsaved\tfs") of each one it sees.
class TesseractWatcher
{
public:
    TesseractWatcher()
        : m_thread([this] {
            watch();
        })
    {
    }
    ~TesseractWatcher()
    {
        stop();
    }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    QStringList seen() const
    {
        QMutexLocker locker(&m_mutex);
        return m_seen;
    }

private:
    void watch()
    {
        QSet<QString> known;
        while (!m_stop) {
            const QStringList pids = QDir(QStringLiteral("/proc")).entryList({QStringLiteral("[0-9]*")}, QDir::Dirs);
            for (const QString &pid : pids) {
                if (known.contains(pid)) {
                    continue;
                }
                QFile status(QStringLiteral("/proc/%1/status").arg(pid));
                if (!status.open(QIODevice::ReadOnly)) {
                    continue;
                }
                const QByteArray content = status.readAll();
                if (!content.startsWith("Name:\ttesseract\n")) {
                    continue;
                }
                QStringList ids;
                for (const QByteArray &line : content.split('\n')) {
                    if (line.startsWith("Uid:") || line.startsWith("Gid:") || line.startsWith("Groups:")) {
                        ids.append(QString::fromLatin1(line.simplified()));
                    }
                }
                known.insert(pid);
                QMutexLocker locker(&m_mutex);
                m_seen.append(ids.join(QLatin1Char(' ')));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    mutable QMutex m_mutex;
    QStringList m_seen;
    std::atomic<bool> m_stop = false;
    std::thread m_thread;
};

} // namespace

class HelperSearchTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_ownerLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_owner;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    QString m_session;
    qint64 m_snapshot = 0; ///< showed word
    qint64 m_later = 0; ///< showed laterWord only

    HelperReply search(HelperClient &client, const QString &query)
    {
        HelperRequest request = HelperRequest::of(HelperProtocol::search, {{HelperProtocol::queryKey, query}});
        request.timeoutMs = 180000;
        return client.call(request);
    }

    /// The snapshot ids of a search's answer, in its order.
    static QList<qint64> idsOf(const HelperReply &reply)
    {
        QList<qint64> ids;
        const QJsonArray matches = reply.json().toArray();
        for (const QJsonValue &match : matches) {
            ids.append(match.toObject().value(QStringLiteral("snapshot")).toInteger());
        }
        return ids;
    }

    /// Whether the session's screen shows shown and not hidden, read as the test sees it.
    bool screenShows(const QString &socket, const QString &shown, const QString &hidden)
    {
        const auto picture = VncScreenshot::grab(socket, std::chrono::seconds(10));
        if (!picture) {
            return false;
        }
        QByteArray png;
        QBuffer buffer(&png);
        buffer.open(QIODevice::WriteOnly);
        picture->save(&buffer, "PNG");
        QElapsedTimer timer;
        timer.start();
        const auto text = ScreenTextRecognizer::recognize(png, TestUser::owner().uid, TestUser::owner().uid);
        qInfo("tesseract read a %dx%d screen in %lld ms: %s",
              picture->width(),
              picture->height(),
              timer.elapsed(),
              qPrintable(text.ok() ? text->simplified().left(80) : text.errorMessage()));
        // For a person to look at: REWIND_TEST_SCREENSHOT_DIR keeps the last picture read.
        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOT_DIR"); !directory.isEmpty()) {
            picture->save(directory + QStringLiteral("/search-screen.png"));
        }
        return text && text->contains(shown) && !text->contains(hidden);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        if (ScreenTextRecognizer::program().isEmpty()) {
            REWIND_SKIP("tesseract is not installed (Debian: tesseract-ocr, tesseract-ocr-eng)");
        }
        m_ownerLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("search1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("search2"), true);
        m_owner = std::make_unique<HelperClient>(TestUser::owner(), m_ownerLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_owner->isRunning() && m_other->isRunning() && m_root->isRunning());

        const HelperReply started = m_owner->call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, specName}}));
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        m_session = started.json().toObject().value(QStringLiteral("id")).toString();
        m_sessions.append(m_session);

        // A snapshot once the word is on the screen, another once the later word replaced it.
        for (const auto &[shown, hidden, taken] : {std::tuple{word, laterWord, &m_snapshot}, std::tuple{laterWord, word, &m_later}}) {
            // A snapshot ends live views: ask for one each time.
            const HelperReply view = m_owner->call(HelperRequest::of(HelperProtocol::liveView, {{HelperProtocol::sessionKey, m_session}}));
            QVERIFY2(view.ok(), qPrintable(view.errorText));
            const QString socket = view.json().toObject().value(QStringLiteral("socket")).toString();
            QTRY_VERIFY_WITH_TIMEOUT(screenShows(socket, shown, hidden), 30000);
            *taken = snapshotOf(*m_owner, m_session);
            QVERIFY(*taken > 0);
        }
    }

    void cleanupTestCase()
    {
        if (m_root) {
            stopSessions(*m_root, m_sessions);
        }
    }

    void ownerFindsTheSnapshotByAWordOnItsScreen()
    {
        // The first search reads the new snapshot's screen: tesseract runs then, as the owner.
        TesseractWatcher watcher;
        QElapsedTimer timer;
        timer.start();
        const HelperReply found = search(*m_owner, word);
        watcher.stop();
        qInfo("the first search, which read the snapshot's screen, took %lld ms", timer.elapsed());
        QVERIFY2(found.ok(), qPrintable(found.errorText));
        QCOMPARE(idsOf(found), QList<qint64>{m_snapshot});
        const QJsonObject match = found.json().toArray().first().toObject();
        QCOMPARE(match.value(QStringLiteral("session")).toString(), m_session);
        QVERIFY2(match.value(QStringLiteral("snippet")).toString().contains(QLatin1Char('[') + word + QLatin1Char(']')),
                 qPrintable(match.value(QStringLiteral("snippet")).toString()));
        QVERIFY(match.value(QStringLiteral("rank")).isDouble());

        // tesseract ran, and only ever as rewind-user: real, effective, saved
        // and file system ids, no supplementary groups.
        const QStringList seen = watcher.seen();
        QVERIFY2(!seen.isEmpty(), "no tesseract process was seen while the helper read the screen");
        for (const QString &ids : seen) {
            QVERIFY2(ids.contains(QStringLiteral("Uid: 1500 1500 1500 1500")) && ids.contains(QStringLiteral("Gid: 1500 1500 1500 1500"))
                         && ids.contains(QStringLiteral("Groups:")) && !ids.contains(QRegularExpression(QStringLiteral("Groups: \\d"))),
                     qPrintable(ids));
        }

        // The later screen is found by its word only.
        const HelperReply later = search(*m_owner, laterWord);
        QVERIFY2(later.ok(), qPrintable(later.errorText));
        QCOMPARE(idsOf(later), QList<qint64>{m_later});

        // Case does not matter, and an indexed screen is not read again.
        TesseractWatcher again;
        const HelperReply lower = search(*m_owner, word.toLower());
        again.stop();
        QVERIFY2(lower.ok(), qPrintable(lower.errorText));
        QCOMPARE(idsOf(lower), QList<qint64>{m_snapshot});
        QVERIFY2(again.seen().isEmpty(), qPrintable(again.seen().join(QLatin1Char('\n'))));
    }

    void wordsNotOnTheScreenFindNothing()
    {
        const HelperReply missing = search(*m_owner, QStringLiteral("ZEBRAFISHMANGO"));
        QVERIFY2(missing.ok(), qPrintable(missing.errorText));
        QVERIFY(idsOf(missing).isEmpty());
        // Every word must be on the screen.
        const HelperReply partly = search(*m_owner, word + QStringLiteral(" ZEBRAFISHMANGO"));
        QVERIFY2(partly.ok(), qPrintable(partly.errorText));
        QVERIFY(idsOf(partly).isEmpty());
    }

    void othersNeverFindTheOwnersSnapshots()
    {
        for (HelperClient *client : {m_other.get(), m_root.get()}) {
            const HelperReply found = search(*client, word);
            QVERIFY2(found.ok(), qPrintable(found.errorText));
            QVERIFY(!idsOf(found).contains(m_snapshot));
            QVERIFY(!found.answer.contains(m_session.toUtf8()));
        }
    }

    void hostileQueriesAreTakenLiterally_data()
    {
        QTest::addColumn<QString>("query");
        QTest::addColumn<bool>("findsTheSnapshot");
        QTest::newRow("a quote") << QStringLiteral("\"") << false;
        QTest::newRow("the word quoted") << QStringLiteral("\"%1\"").arg(word) << true;
        QTest::newRow("an unbalanced quote") << QStringLiteral("\"%1").arg(word) << true;
        QTest::newRow("a star") << QStringLiteral("*") << false;
        QTest::newRow("a prefix") << word.left(6) + QStringLiteral("*") << false;
        QTest::newRow("NEAR(") << QStringLiteral("NEAR(") << false;
        QTest::newRow("NEAR group") << QStringLiteral("NEAR(%1 x, 5)").arg(word) << false;
        QTest::newRow("OR") << QStringLiteral("OR") << false;
        QTest::newRow("x OR word") << QStringLiteral("ZEBRAFISHMANGO OR %1").arg(word) << false;
        QTest::newRow("NOT") << QStringLiteral("NOT %1").arg(word) << false;
        QTest::newRow("AND") << QStringLiteral("%1 AND").arg(word) << false;
        QTest::newRow("column filter") << QStringLiteral("text:%1").arg(word) << false;
        QTest::newRow("caret") << QStringLiteral("^%1").arg(word) << true;
        QTest::newRow("parentheses") << QStringLiteral("(%1)").arg(word) << true;
        QTest::newRow("braces") << QStringLiteral("{text}: %1").arg(word) << false;
        QTest::newRow("sql") << QStringLiteral("'); DROP TABLE snapshots; --") << false;
        QTest::newRow("200 characters") << QString(200, QLatin1Char('a')) << false;
    }

    void hostileQueriesAreTakenLiterally()
    {
        QFETCH(QString, query);
        QFETCH(bool, findsTheSnapshot);
        const HelperReply reply = search(*m_owner, query);
        QVERIFY2(reply.ok(), qPrintable(reply.errorText));
        QCOMPARE(idsOf(reply).contains(m_snapshot), findsTheSnapshot);
    }

    void malformedQueriesAreRefused_data()
    {
        QTest::addColumn<QVariant>("query");
        QTest::newRow("empty") << QVariant(QString());
        QTest::newRow("blank") << QVariant(QStringLiteral("  "));
        QTest::newRow("201 characters") << QVariant(QString(201, QLatin1Char('a')));
        QTest::newRow("a newline") << QVariant(word + QStringLiteral("\n"));
        QTest::newRow("a tab") << QVariant(QStringLiteral("a\tb"));
        QTest::newRow("a control character") << QVariant(QStringLiteral("a\x01"));
        QTest::newRow("a number") << QVariant(qlonglong(7));
        QTest::newRow("a list") << QVariant(QStringList{word});
    }

    void malformedQueriesAreRefused()
    {
        QFETCH(QVariant, query);
        const HelperReply reply = m_owner->call(HelperRequest::of(HelperProtocol::search, {{HelperProtocol::queryKey, query}}));
        QVERIFY(!reply.ok());
        QVERIFY2(reply.errorText.contains(QLatin1String("query")) || reply.errorText.contains(QLatin1String("search for")), qPrintable(reply.errorText));
        // The helper still answers.
        QVERIFY(search(*m_owner, word).ok());
    }

    void rewindctlSearchesAsTheUser()
    {
        const auto rewindctl = [this](const TestUser &user, const QStringList &arguments) {
            QProcess process;
            runAs(process, user, user.uid == TestUser::owner().uid ? m_ownerLogin.get() : nullptr);
            QProcessEnvironment environment;
            environment.insert(QStringLiteral("PATH"), QStringLiteral("/usr/bin:/bin"));
            environment.insert(QStringLiteral("HOME"), user.uid == 0 ? QStringLiteral("/root") : QStringLiteral("/home/") + user.name);
            environment.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
            if (user.uid == 0) {
                environment = QProcessEnvironment::systemEnvironment();
            }
            process.setProcessEnvironment(environment);
            process.setWorkingDirectory(QStringLiteral("/"));
            process.start(QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewindctl"), arguments);
            process.waitForFinished(180000);
            return std::tuple{process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -9,
                              process.readAllStandardOutput(),
                              process.readAllStandardError()};
        };
        // The matches, one a line: id, session, the words in [ ].
        const auto [found, out, err] = rewindctl(TestUser::owner(), {QStringLiteral("search"), word.toLower()});
        QVERIFY2(found == 0, err.constData());
        QVERIFY2(out.contains(QString::number(m_snapshot).toUtf8()) && out.contains(m_session.toUtf8()) && out.contains("[" + word.toUtf8() + "]"),
                 out.constData());
        // Not the later snapshot: no line's first field is its id (a session id may well end with the same digits).
        const auto lines = out.split('\n');
        QVERIFY2(std::none_of(lines.cbegin(),
                              lines.cend(),
                              [this](const QByteArray &line) {
                                  return line.simplified().split(' ').value(0) == QByteArray::number(m_later);
                              }),
                 out.constData());
        QVERIFY2(std::any_of(lines.cbegin(),
                             lines.cend(),
                             [this](const QByteArray &line) {
                                 return line.simplified().split(' ').value(0) == QByteArray::number(m_snapshot);
                             }),
                 out.constData());
        // The same as JSON.
        const auto [json, jsonOut, jsonErr] = rewindctl(TestUser::owner(), {QStringLiteral("--json"), QStringLiteral("search"), word});
        QVERIFY2(json == 0, jsonErr.constData());
        QCOMPARE(QJsonDocument::fromJson(jsonOut).array().first().toObject().value(QStringLiteral("snapshot")).toInteger(), m_snapshot);
        // Nothing found is no failure, and says so.
        const auto [none, noneOut, noneErr] = rewindctl(TestUser::owner(), {QStringLiteral("search"), QStringLiteral("zebrafishmango")});
        QVERIFY2(none == 0 && noneOut.contains("No snapshot"), noneOut + noneErr);
        // Words are needed; root does not read screens.
        QCOMPARE(std::get<0>(rewindctl(TestUser::owner(), {QStringLiteral("search")})), 2);
        const auto [asRoot, rootOut, rootErr] = rewindctl(TestUser::root(), {QStringLiteral("search"), word});
        QVERIFY2(asRoot == 1 && rootErr.contains("not as root"), rootOut + rootErr);
    }

    void aDeletedSnapshotIsNoLongerFound()
    {
        const HelperReply deleted =
            m_root->call(HelperRequest::of(HelperProtocol::administer,
                                           {{HelperProtocol::operationKey, QStringLiteral("delete")}, {HelperProtocol::snapshotKey, qlonglong(m_snapshot)}}));
        QVERIFY2(deleted.ok(), qPrintable(deleted.errorText));
        const HelperReply found = search(*m_owner, word);
        QVERIFY2(found.ok(), qPrintable(found.errorText));
        QCOMPARE(idsOf(found), QList<qint64>{});
        QCOMPARE(idsOf(search(*m_owner, laterWord)), QList<qint64>{m_later});
    }
};

QTEST_GUILESS_MAIN(HelperSearchTest)
#include "HelperSearchTest.moc"
