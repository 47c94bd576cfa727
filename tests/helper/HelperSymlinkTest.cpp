// SPDX-License-Identifier: GPL-2.0-or-later
// A user who plants symbolic links wherever they can write (their home,
// /tmp, /var/tmp, and their own session's private /tmp, which they reach
// through /proc/PID/root of their session's processes) cannot make the
// helper read or write outside its own directories: the files and the
// directory the links point at are unchanged after every action has run,
// and the links are still the same links.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QDir>
#include <QFile>
#include <QTest>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace
{

struct Fingerprint {
    QByteArray content;
    struct stat info{};
    QStringList entries;
    bool operator==(const Fingerprint &other) const
    {
        return content == other.content && info.st_ino == other.info.st_ino && info.st_size == other.info.st_size && info.st_mode == other.info.st_mode
            && info.st_uid == other.info.st_uid && info.st_mtim.tv_sec == other.info.st_mtim.tv_sec && info.st_mtim.tv_nsec == other.info.st_mtim.tv_nsec
            && entries == other.entries
            // A file's access time says whether anyone read it; a directory's changes when the test lists it.
            && (S_ISDIR(info.st_mode) || (info.st_atim.tv_sec == other.info.st_atim.tv_sec && info.st_atim.tv_nsec == other.info.st_atim.tv_nsec));
    }
};

Fingerprint fingerprint(const QString &path)
{
    Fingerprint print;
    ::lstat(QFile::encodeName(path).constData(), &print.info);
    if (S_ISDIR(print.info.st_mode)) {
        print.entries = QDir(path).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
    } else {
        // Read without touching the access time the fingerprint compares.
        const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NOATIME | O_CLOEXEC);
        char buffer[4096];
        for (ssize_t got; fd >= 0 && (got = ::read(fd, buffer, sizeof buffer)) > 0;) {
            print.content.append(buffer, got);
        }
        ::close(fd);
    }
    return print;
}

/// Runs a shell command as USER (its own uid and gid, no groups); true if it exits 0.
bool runAsUser(const TestUser &user, const QString &command)
{
    QProcess shell;
    const uid_t uid = user.uid;
    shell.setChildProcessModifier([uid] {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
            ::_exit(126);
        }
    });
    shell.setProcessChannelMode(QProcess::ForwardedChannels);
    shell.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    return shell.waitForFinished(30000) && shell.exitStatus() == QProcess::NormalExit && shell.exitCode() == 0;
}

/// A process of the cell that runs as UID (the session's apps run as its owner), or -1.
pid_t cellProcessOf(const QString &session, uid_t uid)
{
    QFile procs(HelperTestEnvironment::cellCgroup(session) + QStringLiteral("/cgroup.procs"));
    if (!procs.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const QList<QByteArray> pids = procs.readAll().split('\n');
    for (const QByteArray &pid : pids) {
        struct stat info;
        if (!pid.isEmpty() && ::stat(QByteArray("/proc/" + pid).constData(), &info) == 0 && info.st_uid == uid) {
            return pid.toInt();
        }
    }
    return -1;
}

} // namespace

class HelperSymlinkTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_sessions;
    QString m_targets;
    QMap<QString, QString> m_links; // link → target

    QString startSession(HelperClient &client)
    {
        return startCountingSession(client, m_sessions);
    }

    void plant(const QString &directory, const QStringList &names)
    {
        for (const QString &name : names) {
            const QString link = directory + QLatin1Char('/') + name;
            const QString target =
                m_targets + (name.endsWith(QLatin1Char('/')) || name.contains(QLatin1String("dir")) ? QStringLiteral("/directory") : QStringLiteral("/file"));
            QString clean = link;
            while (clean.endsWith(QLatin1Char('/'))) {
                clean.chop(1);
            }
            const QString parent = clean.left(clean.lastIndexOf(QLatin1Char('/')));
            if (runAsUser(TestUser::owner(), QStringLiteral("mkdir -p '%1' && ln -sfn '%2' '%3'").arg(parent, target, clean))) {
                m_links.insert(clean, target);
            }
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("links1"), true);
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY(m_user->isRunning() && m_root->isRunning());
        // What the links point at: a file and an empty directory root owns, outside Rewind's state.
        m_targets = HelperTestEnvironment::workDirectory() + QStringLiteral("/targets");
        QVERIFY(QDir().mkpath(m_targets + QStringLiteral("/directory")));
        QFile file(m_targets + QStringLiteral("/file"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("a file that must stay as it is\n");
        file.close();
        QVERIFY(::chmod(QFile::encodeName(m_targets).constData(), 0755) == 0);
    }

    void cleanupTestCase()
    {
        stopSessions(*m_root, m_sessions);
        for (auto it = m_links.cbegin(); it != m_links.cend(); ++it) {
            QFile::remove(it.key());
        }
    }

    void plantedLinksLeadNowhere()
    {
        const QString home = QStringLiteral("/home/rewind-user");
        const QStringList names{QStringLiteral("rewind"),
                                QStringLiteral("rewind-dir"),
                                QStringLiteral("session.log"),
                                QStringLiteral("counter"),
                                QStringLiteral("screenshot.png"),
                                QStringLiteral("thumbnail.png"),
                                QStringLiteral(".rewind-dir"),
                                QStringLiteral(".rewind/vnc"),
                                QStringLiteral(".rewind/bus"),
                                QStringLiteral("staging-dir"),
                                QStringLiteral("store-dir"),
                                QStringLiteral("sessions-dir"),
                                QStringLiteral("images-dir"),
                                QStringLiteral("counting.conf"),
                                QStringLiteral(".X1-lock"),
                                QStringLiteral("lock")};
        plant(home, names);
        plant(home + QStringLiteral("/.local/share"), {QStringLiteral("rewind-dir")});
        plant(home + QStringLiteral("/.cache"), {QStringLiteral("rewind-dir")});
        plant(home + QStringLiteral("/.config"), {QStringLiteral("rewindrc"), QStringLiteral("rewind-dir")});
        plant(QStringLiteral("/tmp"), names);
        plant(QStringLiteral("/var/tmp"), names);
        QVERIFY(m_links.size() > 40);

        // A session of the user's: its private /tmp is theirs too.
        const QString session = startSession(*m_user);
        QVERIFY(!session.isEmpty());
        const pid_t ownProcess = cellProcessOf(session, TestUser::owner().uid);
        if (ownProcess > 0 && runAsUser(TestUser::owner(), QStringLiteral("test -w /proc/%1/root/tmp").arg(ownProcess))) {
            const qsizetype before = m_links.size();
            plant(QStringLiteral("/proc/%1/root/tmp").arg(ownProcess),
                  {QStringLiteral("screenshot.png"), QStringLiteral("session.log.1"), QStringLiteral("planted-dir"), QStringLiteral(".rewind/planted")});
            qInfo("the session's own /tmp is reachable through /proc/%d/root: %d links planted there", ownProcess, int(m_links.size() - before));
        } else {
            qInfo("the session's own /tmp is not reachable for its owner here");
        }

        const Fingerprint file = fingerprint(m_targets + QStringLiteral("/file"));
        const Fingerprint directory = fingerprint(m_targets + QStringLiteral("/directory"));

        // Everything the user may do, and what root does with sessions and snapshots.
        QStringList outcomes;
        const auto run = [&](HelperClient &client, const QString &action, const QVariantMap &arguments) {
            const HelperReply reply = client.call(HelperRequest::of(action, arguments));
            outcomes.append(QStringLiteral("%1: %2").arg(action, reply.ok() ? QStringLiteral("ok") : reply.errorText.left(120)));
            return reply;
        };
        run(*m_user, HelperProtocol::scan, {{HelperProtocol::sessionKey, session}});
        const HelperReply userSnapshot = run(*m_user, HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}});
        run(*m_user, HelperProtocol::listSnapshots, {});
        if (userSnapshot.ok()) {
            const qlonglong id = userSnapshot.json().toObject().value(QStringLiteral("id")).toInteger();
            run(*m_user, HelperProtocol::setLabel, {{HelperProtocol::snapshotKey, id}, {HelperProtocol::labelKey, QStringLiteral("../../file")}});
            run(*m_root,
                HelperProtocol::administer,
                {{HelperProtocol::operationKey, QStringLiteral("restore")},
                 {HelperProtocol::snapshotKey, id},
                 {HelperProtocol::modeKey, HelperProtocol::asNewMode}});
        }
        const QString rootSession = startSession(*m_root);
        QVERIFY(!rootSession.isEmpty());
        const HelperReply rootSnapshot = run(*m_root, HelperProtocol::snapshot, {{HelperProtocol::sessionKey, rootSession}});
        QVERIFY2(rootSnapshot.ok(), qPrintable(rootSnapshot.errorText));
        const qlonglong rootId = rootSnapshot.json().toObject().value(QStringLiteral("id")).toInteger();
        const HelperReply branch =
            run(*m_root, HelperProtocol::restore, {{HelperProtocol::snapshotKey, rootId}, {HelperProtocol::modeKey, HelperProtocol::asNewMode}});
        if (branch.ok()) {
            m_sessions.append(branch.json().toObject().value(QStringLiteral("id")).toString());
        }
        run(*m_root, HelperProtocol::restore, {{HelperProtocol::snapshotKey, rootId}, {HelperProtocol::modeKey, HelperProtocol::inPlaceMode}});
        run(*m_root, HelperProtocol::verify, {});
        run(*m_root, HelperProtocol::remove, {{HelperProtocol::snapshotKey, rootId}});
        run(*m_root, HelperProtocol::collectGarbage, {});
        run(*m_user, HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}});
        qInfo("%s", qPrintable(outcomes.join(QStringLiteral("; "))));

        QVERIFY2(fingerprint(m_targets + QStringLiteral("/file")) == file, "the file a link points at was read or written");
        QVERIFY2(fingerprint(m_targets + QStringLiteral("/directory")) == directory, "something was made in the directory a link points at");
        for (auto it = m_links.cbegin(); it != m_links.cend(); ++it) {
            if (it.key().startsWith(QLatin1String("/proc/"))) {
                continue; // gone with the stopped session
            }
            QCOMPARE(QFile::symLinkTarget(it.key()), it.value());
        }
    }
};

REWIND_TEST_GUILESS_MAIN(HelperSymlinkTest)
#include "HelperSymlinkTest.moc"
