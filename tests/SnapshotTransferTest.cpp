// SPDX-License-Identifier: GPL-2.0-or-later
// A snapshot exported as one stream and imported into another store: through
// a pipe and a file, deduplicated on the way in, and refused with every reason
// when this machine could not restore it.
#include "SnapshotTransfer.h"
#include "SessionManager.h"
#include "SnapshotStore.h"
#include "SnapshotStream.h"
#include "TestFiles.h"
#include "TestSkip.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

using namespace Rewind;

namespace
{

constexpr uid_t user = 1500;

/// A file descriptor of bytes in memory, read from its start.
UniqueFd memoryFile(const QByteArray &bytes)
{
    UniqueFd fd(::memfd_create("stream", MFD_CLOEXEC));
    if (fd && (::write(fd.get(), bytes.constData(), std::size_t(bytes.size())) != bytes.size() || ::lseek(fd.get(), 0, SEEK_SET) != 0)) {
        fd.reset();
    }
    return fd;
}

} // namespace

class SnapshotTransferTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_work{QStringLiteral("/var/tmp/rewind-transfer-XXXXXX")};
    std::unique_ptr<SnapshotStore> m_source;
    std::unique_ptr<SnapshotStore> m_target;
    SnapshotInfo m_original;
    QString m_staging;

    QString path(const QString &name) const
    {
        return m_work.filePath(name);
    }

    std::optional<QMap<QString, QByteArray>> materialized(const SnapshotStore &store, qint64 id, const QString &name)
    {
        QDir().mkpath(path(name));
        UniqueFd fd = openDirectory(path(name));
        auto result = store.materialize(id, fd.get());
        if (!result) {
            qWarning() << result.errorMessage();
            return std::nullopt;
        }
        return treeOf(path(name));
    }

    /// The stream of the original snapshot, whole.
    QByteArray exported()
    {
        UniqueFd file(::memfd_create("export", MFD_CLOEXEC));
        auto outcome = SnapshotTransfer::exportSnapshot(*m_source, m_original.id, file.get());
        if (!outcome) {
            qWarning() << outcome.errorMessage();
            return {};
        }
        QByteArray bytes(outcome->bytes, Qt::Uninitialized);
        return ::pread(file.get(), bytes.data(), std::size_t(bytes.size()), 0) == bytes.size() ? bytes : QByteArray();
    }

    Result<SnapshotInfo> import(const QByteArray &stream)
    {
        UniqueFd fd = memoryFile(stream);
        return SnapshotTransfer::importSnapshot(*m_target, m_staging, fd.get(), user, {});
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
        const auto sessionUser = SessionManager::sessionUserOf(user);
        if (!sessionUser) {
            REWIND_SKIP("the user rewind-user (1500) does not exist (tools/devenv creates it)");
        }
        // A snapshot as the engine stores one: images with pages that repeat, a screenshot, metadata.
        const QString tree = path(QStringLiteral("tree"));
        const QByteArray page = randomBytes(64 * 1024, 1);
        QVERIFY(writeFile(tree + QStringLiteral("/images/pages-1.img"), randomBytes(3 * 1024 * 1024, 2) + page + page + page + page));
        QVERIFY(writeFile(tree + QStringLiteral("/images/pages-2.img"), page + page));
        QVERIFY(writeFile(tree + QStringLiteral("/images/core-1.img"), randomBytes(4000, 3), QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther));
        QVERIFY(writeFile(tree + QStringLiteral("/images/empty.img"), QByteArray()));
        QVERIFY(writeFile(tree + QStringLiteral("/screenshot.png"), randomBytes(20000, 4)));
        auto source = SnapshotStore::open(path(QStringLiteral("source")));
        QVERIFY2(source.ok(), qPrintable(source.errorMessage()));
        m_source = std::move(*source);
        auto target = SnapshotStore::open(path(QStringLiteral("target")));
        QVERIFY2(target.ok(), qPrintable(target.errorMessage()));
        m_target = std::move(*target);
        m_staging = path(QStringLiteral("staging"));
        QVERIFY(QDir().mkpath(m_staging));

        const QVariantMap metadata{
            {QStringLiteral("owner"), qint64(user)},
            {QStringLiteral("spec"), QStringLiteral("counting")},
            {QStringLiteral("userNamespace"), true},
            {QStringLiteral("plan"), QVariantMap{{QStringLiteral("uid"), qint64(sessionUser->first)}, {QStringLiteral("gid"), qint64(sessionUser->second)}}},
        };
        UniqueFd treeFd = openDirectory(tree);
        auto original = m_source->commit(QStringLiteral("counting-0a1b2c3d4e5f60718293a4b5"),
                                         user,
                                         treeFd.get(),
                                         QStringLiteral("before the talk"),
                                         SnapshotTrigger::Manual,
                                         metadata);
        QVERIFY2(original.ok(), qPrintable(original.errorMessage()));
        m_original = *original;
    }

    void throughAPipeStrictlyInOrder()
    {
        int ends[2];
        QCOMPARE(::pipe2(ends, O_CLOEXEC), 0);
        UniqueFd readEnd(ends[0]);
        UniqueFd writeEnd(ends[1]);
        Result<SnapshotTransfer::ExportOutcome> sent = Error{};
        std::thread exporter([&] {
            sent = SnapshotTransfer::exportSnapshot(*m_source, m_original.id, writeEnd.get());
            writeEnd.reset();
        });
        auto imported = SnapshotTransfer::importSnapshot(*m_target, m_staging, readEnd.get(), user, {});
        exporter.join();
        QVERIFY2(sent.ok(), qPrintable(sent.errorMessage()));
        QVERIFY2(imported.ok(), qPrintable(imported.errorMessage()));
        qInfo("a snapshot of %lld bytes as a stream of %lld bytes, %lld chunks", m_original.logicalBytes, sent->bytes, sent->chunks);

        QCOMPARE(imported->trigger, SnapshotTrigger::Imported);
        QCOMPARE(imported->owner, user);
        QCOMPARE(imported->label, m_original.label);
        QVERIFY(imported->sessionId != m_original.sessionId);
        QVERIFY(imported->sessionId.startsWith(QLatin1String("counting-")));
        QCOMPARE(imported->metadata.value(QStringLiteral("importedFrom")).toMap().value(QStringLiteral("session")).toString(), m_original.sessionId);
        QCOMPARE(imported->logicalBytes, m_original.logicalBytes);
        const auto before = materialized(*m_source, m_original.id, QStringLiteral("original"));
        const auto after = materialized(*m_target, imported->id, QStringLiteral("imported"));
        QVERIFY(before && after);
        QCOMPARE(*after, *before);
        // Each chunk once: the page that repeats went once, then as references.
        QVERIFY2(sent->bytes < m_original.logicalBytes - 3 * 64 * 1024, qPrintable(QString::number(sent->bytes)));
        QVERIFY(m_target->verify()->clean());
        QVERIFY(QDir(m_staging).isEmpty());
    }

    void aReaderThatGoesAwayEndsTheExport()
    {
        // The reader takes a little, then closes its end: the export fails, and does not hang.
        int ends[2];
        QCOMPARE(::pipe2(ends, O_CLOEXEC), 0);
        UniqueFd readEnd(ends[0]);
        UniqueFd writeEnd(ends[1]);
        std::thread reader([&readEnd] {
            char some[4096];
            (void)::read(readEnd.get(), some, sizeof some);
            readEnd.reset();
        });
        auto sent = SnapshotTransfer::exportSnapshot(*m_source, m_original.id, writeEnd.get());
        reader.join();
        QVERIFY(!sent.ok());
        QVERIFY2(sent.errorMessage().contains(QLatin1String("closed it")), qPrintable(sent.errorMessage()));
    }

    void importedTwiceIsStoredOnce()
    {
        const QByteArray stream = exported();
        QVERIFY(!stream.isEmpty());
        auto first = import(stream);
        QVERIFY2(first.ok(), qPrintable(first.errorMessage()));
        auto second = import(stream);
        QVERIFY2(second.ok(), qPrintable(second.errorMessage()));
        QCOMPARE(second->newBytes, 0);
        QCOMPARE(second->sharedBytes, second->storedBytes);
    }

    void incompatibleSnapshotsAreRefusedWithEveryReason()
    {
        const QByteArray stream = exported();
        UniqueFd streamFd = memoryFile(stream);
        SnapshotStreamReader reader(streamFd.get());
        auto header = reader.readHeader();
        QVERIFY2(header.ok(), qPrintable(header.errorMessage()));
        QVERIFY(SnapshotTransfer::incompatibilities(*header, user).isEmpty());

        // Another machine's header, with a stream that is otherwise whole.
        QJsonObject foreign = *header;
        foreign.insert(QStringLiteral("architecture"), QStringLiteral("sparc64"));
        foreign.insert(QStringLiteral("pageSize"), 65536);
        foreign.insert(QStringLiteral("criuVersion"), 990000);
        foreign.insert(QStringLiteral("cpuinfo"), QString::fromLatin1(QByteArray("not CRIU's cpuinfo image").toBase64()));
        QJsonObject snapshot = foreign.value(QStringLiteral("snapshot")).toObject();
        QJsonObject metadata = snapshot.value(QStringLiteral("metadata")).toObject();
        metadata.insert(QStringLiteral("plan"), QJsonObject{{QStringLiteral("uid"), 1501}, {QStringLiteral("gid"), 1501}});
        snapshot.insert(QStringLiteral("metadata"), metadata);
        foreign.insert(QStringLiteral("snapshot"), snapshot);
        UniqueFd file(::memfd_create("foreign", MFD_CLOEXEC));
        SnapshotStreamWriter writer(file.get());
        QVERIFY(writer.writeHeader(foreign).ok());
        QVERIFY(writer.writeEntry(QStringLiteral("images"), 040755, 0).ok());
        QVERIFY(writer.writeEnd().ok());
        QCOMPARE(::lseek(file.get(), 0, SEEK_SET), off_t(0));

        const auto listed = m_target->list();
        auto refused = SnapshotTransfer::importSnapshot(*m_target, m_staging, file.get(), user, {});
        QVERIFY(!refused.ok());
        qInfo() << refused.errorMessage();
        for (const char *reason : {"sparc64", "pages of 65536 bytes", "CRIU 99.0.0", "CPU lacks", "ran as user 1501"}) {
            QVERIFY2(refused.errorMessage().contains(QLatin1String(reason)), reason);
        }
        QCOMPARE(m_target->list()->size(), listed->size());
        QVERIFY(QDir(m_staging).isEmpty());
    }

    void damageIsNamedAndNothingIsStored_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("message");
        QTest::newRow("not a stream") << QStringLiteral("magic") << QStringLiteral("not an exported Rewind snapshot");
        QTest::newRow("newer format") << QStringLiteral("version") << QStringLiteral("format 2");
        QTest::newRow("truncated") << QStringLiteral("truncate") << QStringLiteral("truncated");
        QTest::newRow("a flipped byte") << QStringLiteral("flip") << QStringLiteral("checksum");
        QTest::newRow("something after the end") << QStringLiteral("append") << QStringLiteral("follows its last record");
        QTest::newRow("empty") << QStringLiteral("empty") << QStringLiteral("truncated");
    }

    void damageIsNamedAndNothingIsStored()
    {
        QFETCH(QString, damage);
        QFETCH(QString, message);
        QByteArray stream = exported();
        if (damage == QLatin1String("magic")) {
            stream[0] = 'X';
        } else if (damage == QLatin1String("version")) {
            stream[8] = 2;
        } else if (damage == QLatin1String("truncate")) {
            stream.chop(100);
        } else if (damage == QLatin1String("flip")) {
            stream[stream.size() / 2] = char(stream[stream.size() / 2] ^ 0x10);
        } else if (damage == QLatin1String("append")) {
            stream.append("more");
        } else {
            stream.clear();
        }
        const auto listed = m_target->list();
        auto refused = import(stream);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.errorMessage().contains(message), qPrintable(refused.errorMessage()));
        QCOMPARE(m_target->list()->size(), listed->size());
        QVERIFY(QDir(m_staging).isEmpty());
    }
};

REWIND_TEST_GUILESS_MAIN(SnapshotTransferTest)
#include "SnapshotTransferTest.moc"
