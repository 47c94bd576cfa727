// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-bench-prune [--memory-mb M] [--snapshots N] [--change-percent P] [--rounds R]:
// what autosave's retention costs once a store holds many snapshots.
//
// Autosave prunes after every scheduled snapshot once the retention policy
// is full (SnapshotEngine::autosave → SnapshotStore::release). This program
// fills a store in a temporary directory with N snapshots of one session
// whose memory image (M MB of pseudo-random pages) changes P% of its pages
// between snapshots, then R times commits one more and releases the oldest,
// as autosave does. It prints, per step, wall and CPU time (the store's
// threads are this process's) and the catalog's size. No CRIU, no session:
// only the store. Everything it creates is removed at the end.
#include "SnapshotInfo.h"
#include "SnapshotStore.h"
#include "UniqueFd.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using namespace Rewind;
using Clock = std::chrono::steady_clock;

namespace
{

constexpr qsizetype pageSize = 4096;

double cpuMsOfThisProcess()
{
    struct rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto ms = [](const timeval &t) {
        return double(t.tv_sec) * 1000.0 + double(t.tv_usec) / 1000.0;
    };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct Cost {
    double wallMs = 0;
    double cpuMs = 0;
};

template<typename Step>
Cost measure(Step &&step)
{
    const double cpuBefore = cpuMsOfThisProcess();
    const auto start = Clock::now();
    step();
    return {std::chrono::duration<double, std::milli>(Clock::now() - start).count(), cpuMsOfThisProcess() - cpuBefore};
}

[[noreturn]] void fail(const QString &what)
{
    std::fprintf(stderr, "rewind-bench-prune: %s\n", qPrintable(what));
    std::exit(1);
}

/// The session's memory: pages of pseudo-random words, P% rewritten at a time.
class Memory
{
public:
    explicit Memory(qsizetype bytes)
        : m_words(std::size_t(bytes / qsizetype(sizeof(quint64))))
    {
        m_random.fillRange(m_words.data(), qsizetype(m_words.size()));
    }

    void change(double percent)
    {
        const qsizetype pages = qsizetype(m_words.size()) * qsizetype(sizeof(quint64)) / pageSize;
        const qsizetype changed = qsizetype(double(pages) * percent / 100.0);
        constexpr qsizetype wordsPerPage = pageSize / qsizetype(sizeof(quint64));
        for (qsizetype i = 0; i < changed; ++i) {
            const qsizetype page = qsizetype(m_random.bounded(quint64(pages)));
            m_random.fillRange(m_words.data() + page * wordsPerPage, wordsPerPage);
        }
    }

    /// Writes it as the staged memory image a dump would leave.
    void stage(const QString &stagingPath) const
    {
        QDir(stagingPath).mkpath(QStringLiteral("images"));
        const QString path = stagingPath + QStringLiteral("/images/pages-1.img");
        UniqueFd file(::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        const auto *bytes = reinterpret_cast<const char *>(m_words.data());
        const std::size_t size = m_words.size() * sizeof(quint64);
        for (std::size_t written = 0; written < size;) {
            const ssize_t n = ::write(file.get(), bytes + written, size - written);
            if (n <= 0) {
                fail(QStringLiteral("writing %1 failed").arg(path));
            }
            written += std::size_t(n);
        }
    }

private:
    std::vector<quint64> m_words;
    QRandomGenerator m_random{20261201};
};

qint64 catalogBytes(const QString &storePath)
{
    return QFileInfo(storePath + QStringLiteral("/catalog.sqlite")).size() + QFileInfo(storePath + QStringLiteral("/catalog.sqlite-wal")).size();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("What autosave's retention costs once a store holds many snapshots."));
    parser.addHelpOption();
    const QCommandLineOption memoryOption(QStringLiteral("memory-mb"),
                                          QStringLiteral("Size of the session's memory image."),
                                          QStringLiteral("M"),
                                          QStringLiteral("512"));
    const QCommandLineOption snapshotsOption(QStringLiteral("snapshots"),
                                             QStringLiteral("Snapshots the store keeps."),
                                             QStringLiteral("N"),
                                             QStringLiteral("20"));
    const QCommandLineOption changeOption(QStringLiteral("change-percent"),
                                          QStringLiteral("Pages rewritten between two snapshots."),
                                          QStringLiteral("P"),
                                          QStringLiteral("10"));
    const QCommandLineOption roundsOption(QStringLiteral("rounds"), QStringLiteral("Autosaves to measure."), QStringLiteral("R"), QStringLiteral("5"));
    const QCommandLineOption directoryOption(QStringLiteral("directory"),
                                             QStringLiteral("Where to make the temporary store."),
                                             QStringLiteral("DIR"),
                                             QStringLiteral("/var/tmp"));
    parser.addOptions({memoryOption, snapshotsOption, changeOption, roundsOption, directoryOption});
    parser.process(app);
    const qsizetype memoryBytes = parser.value(memoryOption).toLongLong() * 1024 * 1024;
    const int keep = parser.value(snapshotsOption).toInt();
    const double changePercent = parser.value(changeOption).toDouble();
    const int rounds = parser.value(roundsOption).toInt();
    if (memoryBytes < pageSize || keep < 1 || rounds < 1 || changePercent < 0 || changePercent > 100) {
        fail(QStringLiteral("--memory-mb, --snapshots and --rounds must be at least 1, --change-percent within 0..100"));
    }

    QTemporaryDir work(parser.value(directoryOption) + QStringLiteral("/rewind-bench-prune-XXXXXX"));
    if (!work.isValid()) {
        fail(QStringLiteral("cannot make a directory in %1").arg(parser.value(directoryOption)));
    }
    const QString storePath = work.filePath(QStringLiteral("store"));
    auto store = SnapshotStore::open(storePath);
    if (!store) {
        fail(store.error().message);
    }
    const QString sessionId = QStringLiteral("bench-prune");
    const uid_t owner = ::getuid();
    Memory memory(memoryBytes);
    QList<qint64> kept;

    auto commitOne = [&] {
        const QString staging = work.filePath(QStringLiteral("staging"));
        QDir(staging).removeRecursively();
        memory.stage(staging);
        UniqueFd stagingFd(::open(QFile::encodeName(staging).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        auto committed = (*store)->commit(sessionId, owner, stagingFd.get(), QString(), SnapshotTrigger::Scheduled, {});
        if (!committed) {
            fail(committed.error().message);
        }
        kept.append(committed->id);
        memory.change(changePercent);
    };

    std::printf("filling a store with %d snapshots of %lld MiB, %.1f%% of pages changed between two\n",
                keep,
                static_cast<long long>(memoryBytes >> 20),
                changePercent);
    std::fflush(stdout);
    for (int i = 0; i < keep; ++i) {
        commitOne();
    }

    std::printf("\n| autosave | commit wall / CPU ms | remove oldest wall / CPU ms | garbage collection wall / CPU ms | chunks removed | catalog MiB |\n");
    std::printf("|---|---|---|---|---|---|\n");
    std::vector<double> removeWall, removeCpu, collectWall, collectCpu;
    for (int round = 1; round <= rounds; ++round) {
        const Cost committed = measure(commitOne);
        const qint64 oldest = kept.takeFirst();
        const Cost removed = measure([&] {
            if (auto done = (*store)->remove(oldest); !done) {
                fail(done.error().message);
            }
        });
        GarbageStats stats;
        const Cost collected = measure([&] {
            auto done = (*store)->collectGarbage();
            if (!done) {
                fail(done.error().message);
            }
            stats = *done;
        });
        removeWall.push_back(removed.wallMs);
        removeCpu.push_back(removed.cpuMs);
        collectWall.push_back(collected.wallMs);
        collectCpu.push_back(collected.cpuMs);
        std::printf("| %d | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f | %lld | %.1f |\n",
                    round,
                    committed.wallMs,
                    committed.cpuMs,
                    removed.wallMs,
                    removed.cpuMs,
                    collected.wallMs,
                    collected.cpuMs,
                    static_cast<long long>(stats.chunksRemoved),
                    double(catalogBytes(storePath)) / 1048576.0);
        std::fflush(stdout);
    }
    auto median = [](std::vector<double> values) {
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    std::printf("\npruning one snapshot, p50: remove %.0f ms (CPU %.0f ms), garbage collection %.0f ms (CPU %.0f ms, the store locked meanwhile)\n",
                median(removeWall),
                median(removeCpu),
                median(collectWall),
                median(collectCpu));
    std::printf(
        "{\"memoryMiB\":%lld,\"snapshots\":%d,\"changePercent\":%.1f,\"removeMs\":%.1f,\"removeCpuMs\":%.1f,\"collectMs\":%.1f,\"collectCpuMs\":%.1f}\n",
        static_cast<long long>(memoryBytes >> 20),
        keep,
        changePercent,
        median(removeWall),
        median(removeCpu),
        median(collectWall),
        median(collectCpu));
    return 0;
}
