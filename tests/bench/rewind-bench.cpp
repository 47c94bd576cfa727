// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-bench [--dirty-mb N] [--rounds R]: Rewind's snapshots and restores
// against plain criu, on the same session in the same run.
//
// Starts a session (Xvnc, openbox, an xterm and a process with N MB of
// memory that keeps changing), takes R snapshots with the engine and R plain
// `criu dump --leave-running` of the same tree, restores one of each, and
// prints a table of times, sizes and memory with the ratios rewind/criu, then
// one line of JSON. It also times reading the 1st snapshot back from the
// store and exporting it as a stream (SnapshotTransfer) into a pipe.
// Runs as root; everything it creates is removed at the end.
#include "CellLimits.h"
#include "Cgroup.h"
#include "CgroupFiles.h"
#include "CriuStatistics.h"
#include "MountTable.h"
#include "SessionManager.h"
#include "SnapshotEngine.h"
#include "SnapshotStore.h"
#include "SnapshotTransfer.h"
#include "UniqueFd.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace Rewind;
using Clock = std::chrono::steady_clock;

namespace
{

const QString xtermCounter = QStringLiteral("/tmp/bench-xterm-counter");
const QString dirtyReady = QStringLiteral("/tmp/bench-dirty-memory-ready");

volatile std::sig_atomic_t interruptedBy = 0;

void onSignal(int signal)
{
    interruptedBy = signal;
}

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double mib(qint64 bytes)
{
    return double(bytes) / (1024.0 * 1024.0);
}

double cpuMs(const rusage &usage)
{
    return usage.ru_utime.tv_sec * 1000.0 + usage.ru_utime.tv_usec / 1000.0 + usage.ru_stime.tv_sec * 1000.0 + usage.ru_stime.tv_usec / 1000.0;
}

rusage usageOf(int who)
{
    rusage usage{};
    ::getrusage(who, &usage);
    return usage;
}

void say(const QString &text)
{
    std::fprintf(stderr, "rewind-bench: %s\n", qPrintable(text));
}

/// Disk usage (like du) and apparent size of every file under directory.
struct TreeSize {
    qint64 diskBytes = 0;
    qint64 apparentBytes = 0;
};

TreeSize treeSize(const QString &directory)
{
    TreeSize size;
    QDirIterator it(directory, QDir::Files | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        struct stat info;
        if (::lstat(QFile::encodeName(it.next()).constData(), &info) == 0) {
            size.diskBytes += qint64(info.st_blocks) * 512;
            size.apparentBytes += qint64(info.st_size);
        }
    }
    return size;
}

/// The file system type of the mount that holds path, as this process sees it.
QString fileSystemOf(const QString &path)
{
    auto mounts = MountTable::read(::getpid());
    if (!mounts) {
        return QStringLiteral("unknown");
    }
    QString best;
    QString type = QStringLiteral("unknown");
    for (const MountEntry &mount : *mounts) {
        const bool contains = mount.mountPoint == QLatin1String("/") || path == mount.mountPoint || path.startsWith(mount.mountPoint + QLatin1Char('/'));
        if (contains && mount.mountPoint.size() >= best.size()) {
            best = mount.mountPoint;
            type = mount.fsType;
        }
    }
    return type;
}

template<typename Condition>
bool waitFor(Condition condition, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    while (!condition()) {
        if (deadline.hasExpired() || interruptedBy) {
            return false;
        }
        QThread::msleep(20);
    }
    return true;
}

long counterIn(pid_t initPid, const QString &path)
{
    QFile file(SessionManager::cellPath(initPid, path));
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    bool ok = false;
    const long value = file.readAll().trimmed().toLong(&ok);
    return ok ? value : -1;
}

/// A program run to its end: how long it took and what it used (wait4).
struct ChildRun {
    int status = 0;
    double wallMs = 0;
    long maxRssKb = 0;
    double cpuMs = 0;
    bool succeeded() const
    {
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
};

/// Runs program with its output going to logPath. If cgroupProcsFd is an
/// open cgroup.procs, the child moves into that cgroup before it execs.
Result<ChildRun> runChild(const QString &program, const QStringList &arguments, const QString &logPath, int cgroupProcsFd = -1)
{
    const QString path = QStandardPaths::findExecutable(program);
    if (path.isEmpty()) {
        return Error{QStringLiteral("%1 is not installed").arg(program)};
    }
    std::vector<QByteArray> words{QFile::encodeName(path)};
    for (const QString &argument : arguments) {
        words.push_back(argument.toLocal8Bit());
    }
    std::vector<char *> argv;
    for (QByteArray &word : words) {
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    UniqueFd log(::open(QFile::encodeName(logPath).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    UniqueFd input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!log || !input) {
        return Error{QStringLiteral("cannot open %1").arg(logPath)};
    }

    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        if (cgroupProcsFd >= 0 && ::write(cgroupProcsFd, "0", 1) != 1) {
            ::_exit(126);
        }
        ::dup2(input.get(), STDIN_FILENO);
        ::dup2(log.get(), STDOUT_FILENO);
        ::dup2(log.get(), STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        return Error{QStringLiteral("cannot fork: %1").arg(QString::fromLocal8Bit(strerror(errno)))};
    }
    ChildRun run;
    rusage usage{};
    while (::wait4(pid, &run.status, 0, &usage) < 0) {
        if (errno != EINTR) {
            return Error{QStringLiteral("cannot wait for %1").arg(program)};
        }
    }
    run.wallMs = msSince(start);
    run.maxRssKb = usage.ru_maxrss;
    run.cpuMs = cpuMs(usage);
    return run;
}

QString logTail(const QString &logPath)
{
    QFile log(logPath);
    if (!log.open(QIODevice::ReadOnly)) {
        return {};
    }
    QStringList errors;
    const auto lines = log.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.contains("Error") || line.contains("BUG")) {
            errors.append(QString::fromLocal8Bit(line.trimmed()));
        }
    }
    return errors.mid(qMax(0, errors.size() - 5)).join(QLatin1Char('\n'));
}

/// When each progress stage of an engine call was reported.
class StageClock
{
public:
    void start()
    {
        m_start = Clock::now();
        m_marks.clear();
    }
    SnapshotEngine::Progress progress()
    {
        return [this](int percent, Stage) {
            m_marks.append({percent, msSince(m_start)});
        };
    }
    /// Milliseconds from the start to the first report of percent (the total if never reported).
    double at(int percent, double total) const
    {
        for (const auto &mark : m_marks) {
            if (mark.first == percent) {
                return mark.second;
            }
        }
        return total;
    }

private:
    Clock::time_point m_start;
    QList<std::pair<int, double>> m_marks;
};

struct RewindRound {
    double wallMs = 0;
    double beforeFreezeMs = 0; ///< scan, mount table, staging, screenshot
    double freezeMs = 0; ///< until the kernel confirmed the freeze
    double dumpMs = 0; ///< criu swrk, cell frozen
    double thawMs = 0;
    double storeMs = 0; ///< chunking, hashing, compression, fsync, catalog
    double frozenMs = 0;
    CriuDumpStatistics criu;
    qint64 logicalBytes = 0;
    qint64 storedBytes = 0;
    qint64 newBytes = 0;
    qint64 storeDiskBytes = 0; ///< du of the whole store after this round
    double cpuMs = 0; ///< this process and its reaped children (criu)
    qint64 snapshotId = 0;
    Clock::time_point dumpStarted;
};

struct PlainRound {
    ChildRun run;
    CriuDumpStatistics criu;
    TreeSize images;
    QString directory;
    Clock::time_point started;
};

/// Reading the 1st snapshot back from the store against exporting it.
struct ExportTimes {
    qint64 logicalBytes = 0; ///< the snapshot's files, what both rates count
    qint64 uniqueBytes = 0; ///< its distinct chunks, what both read from the packs
    qint64 streamBytes = 0;
    double readMs = 0; ///< SnapshotStore::walk, every chunk read, decompressed and checked
    double exportMs = 0; ///< SnapshotTransfer::exportSnapshot into a pipe a thread drains
    double exportToNullMs = 0; ///< the same into /dev/null
    double readMiBps() const
    {
        return readMs > 0 ? mib(logicalBytes) / (readMs / 1000) : 0;
    }
    double exportMiBps() const
    {
        return exportMs > 0 ? mib(logicalBytes) / (exportMs / 1000) : 0;
    }
};

struct RestoreTimes {
    double wallMs = 0;
    double prepareMs = 0; ///< rewind: materialize (decompress, re-hash)
    double criuMs = 0;
    double readyMs = 0;
    long criuMaxRssKb = 0;
};

CriuDumpStatistics readStatistics(const QString &directory)
{
    UniqueFd fd(::open(QFile::encodeName(directory).constData(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    auto statistics = fd ? CriuDumpStatistics::read(fd.get()) : Result<CriuDumpStatistics>(Error{});
    return statistics ? *statistics : CriuDumpStatistics{};
}

CriuDumpStatistics statisticsFrom(const QVariantMap &map)
{
    CriuDumpStatistics statistics;
    statistics.freezingMicroseconds = map.value(QStringLiteral("freezingUs")).toUInt();
    statistics.frozenMicroseconds = map.value(QStringLiteral("frozenUs")).toUInt();
    statistics.memoryDumpMicroseconds = map.value(QStringLiteral("memoryDumpUs")).toUInt();
    statistics.memoryWriteMicroseconds = map.value(QStringLiteral("memoryWriteUs")).toUInt();
    statistics.pagesScanned = map.value(QStringLiteral("pagesScanned")).toULongLong();
    statistics.pagesWritten = map.value(QStringLiteral("pagesWritten")).toULongLong();
    return statistics;
}

QString describe(const CriuDumpStatistics &statistics)
{
    return QStringLiteral("criu: freezing %1 ms, frozen %2 ms, memory dump %3 ms, memory write %4 ms, %5 pages written")
        .arg(statistics.freezingMicroseconds / 1000.0, 0, 'f', 1)
        .arg(statistics.frozenMicroseconds / 1000.0, 0, 'f', 1)
        .arg(statistics.memoryDumpMicroseconds / 1000.0, 0, 'f', 1)
        .arg(statistics.memoryWriteMicroseconds / 1000.0, 0, 'f', 1)
        .arg(statistics.pagesWritten);
}

template<typename T, typename F>
double mean(const QList<T> &items, F value)
{
    if (items.isEmpty()) {
        return 0;
    }
    double sum = 0;
    for (const T &item : items) {
        sum += double(value(item));
    }
    return sum / items.size();
}

class Bench
{
public:
    Bench(int dirtyMb, double touchPercent, int rounds, int criuLogLevel)
        : m_dirtyMb(dirtyMb)
        , m_touchPercent(touchPercent)
        , m_rounds(rounds)
        , m_criuLogLevel(criuLogLevel)
    {
    }
    ~Bench()
    {
        cleanUp();
    }
    Bench(const Bench &) = delete;
    Bench &operator=(const Bench &) = delete;

    Result<void> run();

private:
    Result<void> setUp();
    Result<void> startSession();
    Result<void> dumpRounds();
    Result<void> rewindRound(int round);
    Result<void> plainRound(int round);
    Result<void> exportFirst();
    Result<void> restoreRewind();
    Result<void> restorePlain();
    void report() const;
    void cleanUp();
    Result<void> checkInterrupted() const;

    int m_dirtyMb;
    double m_touchPercent;
    int m_rounds;
    int m_criuLogLevel; ///< 0: criu's default
    // Declared first, so it is removed last.
    QTemporaryDir m_state{QStringLiteral("/var/tmp/rewind-bench-XXXXXX")}; // not /tmp: cells get a private one
    RewindPaths m_paths;
    std::unique_ptr<SessionManager> m_sessions;
    std::unique_ptr<SnapshotStore> m_store;
    std::unique_ptr<SnapshotEngine> m_engine;
    SessionRecord m_session;
    QStringList m_externalMounts;
    std::optional<Cgroup> m_plainCgroup;
    pid_t m_plainRestored = -1;

    QList<RewindRound> m_rewind;
    QList<PlainRound> m_plain;
    ExportTimes m_export;
    RestoreTimes m_rewindRestore;
    RestoreTimes m_plainRestore;
    long m_rewindCriuMaxRssKb = 0;
    long m_plainCriuMaxRssKb = 0;
    long m_benchMaxRssKbAfterSnapshots = 0;
    long m_benchMaxRssKbAfterRestore = 0;
};

Result<void> Bench::checkInterrupted() const
{
    if (interruptedBy) {
        return Error{QStringLiteral("interrupted by signal %1").arg(int(interruptedBy))};
    }
    return {};
}

Result<void> Bench::run()
{
    for (auto step : {&Bench::setUp, &Bench::startSession, &Bench::dumpRounds, &Bench::exportFirst, &Bench::restoreRewind, &Bench::restorePlain}) {
        if (auto done = (this->*step)(); !done) {
            return done;
        }
        if (auto interrupted = checkInterrupted(); !interrupted) {
            return interrupted;
        }
    }
    cleanUp();
    report();
    return {};
}

Result<void> Bench::setUp()
{
    if (::geteuid() != 0) {
        return Error{QStringLiteral("must run as root (cells and CRIU need it); inside the development environment: tools/devenv run %1")
                         .arg(QCoreApplication::applicationFilePath())};
    }
    if (!m_state.isValid()) {
        return Error{QStringLiteral("cannot create a state directory under /var/tmp: %1").arg(m_state.errorString())};
    }
    // Restored trees and cells end up as our children, so that we can reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    m_paths = RewindPaths{
        .stateDirectory = m_state.path(),
        // Runs in other pid namespaces share the cgroup hierarchy: the pid alone may repeat.
        .cgroupParent =
            QStringLiteral("/sys/fs/cgroup/rewind-bench-%1-%2").arg(::getpid()).arg(QRandomGenerator::global()->generate(), 8, 16, QLatin1Char('0')),
        .libexecDirectory = QStringLiteral(BUILD_BIN_DIR)};
    m_sessions = std::make_unique<SessionManager>(m_paths);
    auto store = SnapshotStore::open(m_paths.storeDirectory());
    if (!store) {
        return store.error();
    }
    m_store = std::move(*store);
    m_engine = std::make_unique<SnapshotEngine>(*m_sessions, *m_store);
    return {};
}

Result<void> Bench::startSession()
{
    SessionSpec spec;
    spec.name = QStringLiteral("bench");
    spec.geometry = QSize(1024, 768);
    spec.depth = 24;
    spec.windowManager = {QStringLiteral("openbox")};
    spec.apps = {
        AppSpec{.name = QStringLiteral("xterm"),
                .argv = {QStringLiteral("xterm"),
                         QStringLiteral("-geometry"),
                         QStringLiteral("60x10+40+40"),
                         QStringLiteral("-title"),
                         QStringLiteral("Counter"),
                         QStringLiteral("-e"),
                         QStringLiteral("sh"),
                         QStringLiteral("-c"),
                         QStringLiteral("i=0; while :; do i=$((i+1)); printf '\\rcounter %d ' $i; echo $i > %1; sleep 0.2; done").arg(xtermCounter)},
                .env = {}},
        AppSpec{.name = QStringLiteral("dirty-memory"),
                .argv = {QStringLiteral(BUILD_BIN_DIR "/rewind-bench-dirty-memory"), QString::number(m_dirtyMb), QString::number(m_touchPercent), dirtyReady},
                .env = {}},
    };
    say(QStringLiteral("starting a session: Xvnc, openbox, xterm and %1 MB of memory, %2% of its pages rewritten every 100 ms")
            .arg(m_dirtyMb)
            .arg(m_touchPercent));
    const auto start = Clock::now();
    auto record = m_sessions->start(spec, 0);
    if (!record) {
        return record.error();
    }
    m_session = *record;
    // Settle: the memory is filled, the xterm counts and openbox runs.
    const bool settled = waitFor(
        [&] {
            if (!QFile::exists(SessionManager::cellPath(m_session.initPid, dirtyReady)) || counterIn(m_session.initPid, xtermCounter) < 3) {
                return false;
            }
            auto processes = m_sessions->processes(m_session.id);
            return processes && std::any_of(processes->begin(), processes->end(), [](const SessionProcess &process) {
                       return process.name == QLatin1String("openbox");
                   });
        },
        std::chrono::seconds(60));
    if (!settled) {
        return Error{QStringLiteral("the session did not settle within 60 s")};
    }
    say(QStringLiteral("session %1 (init %2) settled in %3 ms").arg(m_session.id).arg(m_session.initPid).arg(msSince(start), 0, 'f', 0));
    auto mounts = MountTable::read(m_session.initPid);
    if (!mounts) {
        return mounts.error();
    }
    m_externalMounts = MountTable::externalMountPoints(*mounts);
    return {};
}

Result<void> Bench::dumpRounds()
{
    // Interleaved, so that both kinds of dump meet the same page cache and disk.
    for (int round = 1; round <= m_rounds; ++round) {
        if (auto done = rewindRound(round); !done) {
            return done;
        }
        if (auto interrupted = checkInterrupted(); !interrupted) {
            return interrupted;
        }
        if (auto done = plainRound(round); !done) {
            return done;
        }
        if (auto interrupted = checkInterrupted(); !interrupted) {
            return interrupted;
        }
    }
    m_benchMaxRssKbAfterSnapshots = usageOf(RUSAGE_SELF).ru_maxrss;
    // Only the first plain dump is restored; the others were only measured.
    for (int round = 2; round <= m_plain.size(); ++round) {
        QDir(m_plain[round - 1].directory).removeRecursively();
    }
    return {};
}

Result<void> Bench::rewindRound(int round)
{
    const double cpuBefore = cpuMs(usageOf(RUSAGE_SELF)) + cpuMs(usageOf(RUSAGE_CHILDREN));
    StageClock stages;
    stages.start();
    const auto start = Clock::now();
    auto snapshot = m_engine->snapshot(m_session.id, QStringLiteral("bench %1").arg(round), SnapshotTrigger::Manual, stages.progress());
    if (!snapshot) {
        return snapshot.error();
    }
    RewindRound r;
    r.wallMs = msSince(start);
    r.cpuMs = cpuMs(usageOf(RUSAGE_SELF)) + cpuMs(usageOf(RUSAGE_CHILDREN)) - cpuBefore;
    r.beforeFreezeMs = stages.at(15, r.wallMs);
    r.freezeMs = stages.at(20, r.wallMs) - stages.at(15, r.wallMs);
    r.dumpMs = stages.at(60, r.wallMs) - stages.at(20, r.wallMs);
    r.thawMs = stages.at(70, r.wallMs) - stages.at(60, r.wallMs);
    r.storeMs = r.wallMs - stages.at(70, r.wallMs);
    r.dumpStarted = start + std::chrono::microseconds(qint64(stages.at(20, 0) * 1000));
    r.frozenMs = snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0;
    r.criu = statisticsFrom(snapshot->metadata.value(QStringLiteral("criu")).toMap());
    r.logicalBytes = snapshot->logicalBytes;
    r.storedBytes = snapshot->storedBytes;
    r.newBytes = snapshot->newBytes;
    r.storeDiskBytes = treeSize(m_paths.storeDirectory()).diskBytes;
    r.snapshotId = snapshot->id;
    // RUSAGE_CHILDREN keeps the largest child reaped so far: criu swrk, or a plain criu measured on its own.
    const long children = usageOf(RUSAGE_CHILDREN).ru_maxrss;
    if (children > m_plainCriuMaxRssKb) {
        m_rewindCriuMaxRssKb = std::max(m_rewindCriuMaxRssKb, children);
    }
    say(QStringLiteral("rewind snapshot %1: %2 ms (before freeze %3, freeze %4, dump %5, thaw %6, store %7), frozen %8 ms; "
                       "%9 MiB of files, %10 MiB stored, %11 MiB new; cpu %12 ms")
            .arg(round)
            .arg(r.wallMs, 0, 'f', 0)
            .arg(r.beforeFreezeMs, 0, 'f', 0)
            .arg(r.freezeMs, 0, 'f', 0)
            .arg(r.dumpMs, 0, 'f', 0)
            .arg(r.thawMs, 0, 'f', 0)
            .arg(r.storeMs, 0, 'f', 0)
            .arg(r.frozenMs, 0, 'f', 0)
            .arg(mib(r.logicalBytes), 0, 'f', 1)
            .arg(mib(r.storedBytes), 0, 'f', 1)
            .arg(mib(r.newBytes), 0, 'f', 1)
            .arg(r.cpuMs, 0, 'f', 0));
    say(QStringLiteral("    ") + describe(r.criu));
    m_rewind.append(r);
    // The store synced its chunks; this writes back what is left (the staging area's removal).
    ::sync();
    return {};
}

Result<void> Bench::exportFirst()
{
    const qint64 id = m_rewind.first().snapshotId;
    ExportTimes &t = m_export;
    t.logicalBytes = m_rewind.first().logicalBytes;
    // Reading the same bytes from the store: every distinct chunk of the
    // snapshot read from its pack, decompressed and checked against its id,
    // as the export does before it encodes them.
    const auto read = [&]() -> Result<double> {
        qint64 unique = 0;
        SnapshotStore::Visitor visitor;
        visitor.entry = [](const QString &, quint32, qint64) {
            return Result<void>();
        };
        visitor.chunk = [&unique](const QByteArray &, const QByteArray *data, const QByteArray &) {
            unique += data ? data->size() : 0;
            return Result<void>();
        };
        const auto start = Clock::now();
        if (auto walked = m_store->walk(id, visitor); !walked) {
            return walked.error();
        }
        t.uniqueBytes = unique;
        return msSince(start);
    };
    const auto exportTo = [&](bool pipe) -> Result<double> {
        int ends[2] = {-1, -1};
        if (pipe ? ::pipe2(ends, O_CLOEXEC) != 0 : (ends[1] = ::open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
            return Error{QStringLiteral("cannot open a sink for the export")};
        }
        UniqueFd readEnd(ends[0]);
        UniqueFd writeEnd(ends[1]);
        std::thread drain([fd = readEnd.get()] {
            std::vector<char> buffer(1024 * 1024);
            while (fd >= 0 && ::read(fd, buffer.data(), buffer.size()) > 0) { }
        });
        const auto start = Clock::now();
        auto exported = SnapshotTransfer::exportSnapshot(*m_store, id, writeEnd.get());
        writeEnd.reset();
        drain.join();
        const double ms = msSince(start);
        if (!exported) {
            return exported.error();
        }
        t.streamBytes = exported->bytes;
        return ms;
    };
    // Once untimed, so that both meet a warm page cache; then the better of two each.
    if (auto warm = read(); !warm) {
        return warm.error();
    }
    t.readMs = t.exportMs = t.exportToNullMs = std::numeric_limits<double>::max();
    for (int i = 0; i < 2; ++i) {
        auto readMs = read();
        auto exportMs = exportTo(true);
        auto nullMs = exportTo(false);
        if (!readMs || !exportMs || !nullMs) {
            return Error{
                QStringLiteral("exporting snapshot %1 failed: %2%3%4").arg(id).arg(readMs.errorMessage(), exportMs.errorMessage(), nullMs.errorMessage())};
        }
        t.readMs = std::min(t.readMs, *readMs);
        t.exportMs = std::min(t.exportMs, *exportMs);
        t.exportToNullMs = std::min(t.exportToNullMs, *nullMs);
    }
    say(QStringLiteral("snapshot 1 (%1 MiB of files, %2 MiB of distinct chunks): read from the store in %3 ms (%4 MiB/s), exported as a stream of "
                       "%5 MiB into a pipe in %6 ms (%7 MiB/s), into /dev/null in %8 ms; export/read speed %9")
            .arg(mib(t.logicalBytes), 0, 'f', 1)
            .arg(mib(t.uniqueBytes), 0, 'f', 1)
            .arg(t.readMs, 0, 'f', 0)
            .arg(t.readMiBps(), 0, 'f', 0)
            .arg(mib(t.streamBytes), 0, 'f', 1)
            .arg(t.exportMs, 0, 'f', 0)
            .arg(t.exportMiBps(), 0, 'f', 0)
            .arg(t.exportToNullMs, 0, 'f', 0)
            .arg(t.readMiBps() > 0 ? t.exportMiBps() / t.readMiBps() : 0, 0, 'f', 2));
    return {};
}

Result<void> Bench::plainRound(int round)
{
    {
        PlainRound p;
        p.directory = m_paths.stateDirectory + QStringLiteral("/plain-%1").arg(round);
        if (!QDir().mkpath(p.directory)) {
            return Error{QStringLiteral("cannot create %1").arg(p.directory)};
        }
        QStringList arguments{QStringLiteral("dump"),
                              QStringLiteral("--leave-running"),
                              QStringLiteral("-t"),
                              QString::number(m_session.initPid),
                              QStringLiteral("-D"),
                              p.directory,
                              QStringLiteral("--file-locks"),
                              QStringLiteral("--empty-ns"),
                              QStringLiteral("net"),
                              QStringLiteral("--tcp-established"),
                              QStringLiteral("--skip-in-flight"),
                              QStringLiteral("-o"),
                              QStringLiteral("dump.log")};
        if (m_criuLogLevel > 0) {
            arguments << QStringLiteral("-v%1").arg(m_criuLogLevel);
        }
        for (const QString &mountPoint : std::as_const(m_externalMounts)) {
            arguments << QStringLiteral("--external") << QStringLiteral("mnt[%1]:%1").arg(mountPoint);
        }
        const QString log = p.directory + QStringLiteral("/dump.log");
        p.started = Clock::now();
        auto run = runChild(QStringLiteral("criu"), arguments, p.directory + QStringLiteral("/criu.out"));
        if (!run) {
            return run.error();
        }
        if (!run->succeeded()) {
            return Error{QStringLiteral("plain criu dump failed (status %1):\n%2").arg(run->status).arg(logTail(log))};
        }
        p.run = *run;
        p.criu = readStatistics(p.directory);
        // Rewind does not keep CRIU's log either.
        QFile::remove(log);
        QFile::remove(p.directory + QStringLiteral("/criu.out"));
        p.images = treeSize(p.directory);
        say(QStringLiteral("plain criu dump %1: %2 ms, %3 MiB of images (du), peak RSS %4 MiB, cpu %5 ms")
                .arg(round)
                .arg(p.run.wallMs, 0, 'f', 0)
                .arg(mib(p.images.diskBytes), 0, 'f', 1)
                .arg(p.run.maxRssKb / 1024.0, 0, 'f', 1)
                .arg(p.run.cpuMs, 0, 'f', 0));
        say(QStringLiteral("    ") + describe(p.criu));
        m_plainCriuMaxRssKb = std::max(m_plainCriuMaxRssKb, p.run.maxRssKb);
        m_plain.append(p);
        // Unlike the store, criu leaves its images unsynced: write them back outside the timing.
        ::sync();
    }
    return {};
}

Result<void> Bench::restoreRewind()
{
    StageClock stages;
    stages.start();
    const auto start = Clock::now();
    auto restored = m_engine->restore(m_rewind.first().snapshotId, RestoreMode::AsNewSession, stages.progress());
    if (!restored) {
        return restored.error();
    }
    RestoreTimes &t = m_rewindRestore;
    t.wallMs = msSince(start);
    t.prepareMs = stages.at(40, t.wallMs) - stages.at(10, 0);
    t.criuMs = stages.at(80, t.wallMs) - stages.at(40, t.wallMs);
    t.readyMs = t.wallMs - stages.at(80, t.wallMs);
    m_benchMaxRssKbAfterRestore = usageOf(RUSAGE_SELF).ru_maxrss;
    say(QStringLiteral("rewind restore as a new session: %1 ms (materialize and verify %2, criu restore %3, until ready %4)")
            .arg(t.wallMs, 0, 'f', 0)
            .arg(t.prepareMs, 0, 'f', 0)
            .arg(t.criuMs, 0, 'f', 0)
            .arg(t.readyMs, 0, 'f', 0));
    if (auto removed = m_sessions->remove(restored->session.id); !removed) {
        return removed.error();
    }
    return {};
}

Result<void> Bench::restorePlain()
{
    auto cgroup = Cgroup::create(m_paths.cgroupParent, QStringLiteral("plain-restore"));
    if (!cgroup) {
        return cgroup.error();
    }
    m_plainCgroup = *cgroup;
    UniqueFd procs(::open(QFile::encodeName(cgroup->path() + QStringLiteral("/cgroup.procs")).constData(), O_WRONLY | O_CLOEXEC));
    if (!procs) {
        return Error{QStringLiteral("cannot open %1/cgroup.procs").arg(cgroup->path())};
    }
    const QString directory = m_plain.first().directory;
    const QString pidFile = m_paths.stateDirectory + QStringLiteral("/plain-restore.pid");
    // What any restore of a cell in a user namespace needs, as the engine
    // does it (README, "What CRIU 4.2.1 needs"): images its root task may
    // read, and, in a mount namespace of its own, a root and external mounts
    // bound without their submounts.
    if (::chmod(QFile::encodeName(directory).constData(), 0711) != 0) {
        return Error{QStringLiteral("cannot open %1 to the cell's root").arg(directory)};
    }
    const QStringList images = QDir(directory).entryList(QDir::Files);
    for (const QString &image : images) {
        QFile(directory + QLatin1Char('/') + image).setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
    }
    QStringList arguments{QStringLiteral("--mount"),
                          QStringLiteral("--propagation"),
                          QStringLiteral("private"),
                          QStringLiteral("/bin/sh"),
                          QStringLiteral("-c"),
                          QStringLiteral("mount -t tmpfs -o mode=0711 plain-restore /tmp && mkdir /tmp/root && mount --bind / /tmp/root || exit 1\n"
                                         "external=''; i=0\n"
                                         "while [ \"$1\" != -- ]; do\n"
                                         "  if [ -d \"$1\" ]; then mkdir /tmp/e$i; else touch /tmp/e$i; fi\n"
                                         "  mount --bind \"$1\" /tmp/e$i || exit 1\n"
                                         "  external=\"$external --external mnt[$1]:/tmp/e$i\"; i=$((i+1)); shift\n"
                                         "done\n"
                                         "shift\n"
                                         "exec criu \"$@\" --root /tmp/root $external"),
                          QStringLiteral("plain-restore")};
    arguments += m_externalMounts;
    arguments << QStringLiteral("--") << QStringLiteral("restore") << QStringLiteral("-d") << QStringLiteral("-D") << directory
              << QStringLiteral("--file-locks") << QStringLiteral("--empty-ns") << QStringLiteral("net") << QStringLiteral("--tcp-established")
              << QStringLiteral("--manage-cgroups=ignore") << QStringLiteral("--pidfile") << pidFile << QStringLiteral("-o") << QStringLiteral("restore.log");
    if (m_criuLogLevel > 0) {
        arguments << QStringLiteral("-v%1").arg(m_criuLogLevel);
    }
    const auto start = Clock::now();
    auto run = runChild(QStringLiteral("unshare"), arguments, m_paths.stateDirectory + QStringLiteral("/criu-restore.out"), procs.get());
    if (!run) {
        return run.error();
    }
    QFile pid(pidFile);
    if (pid.open(QIODevice::ReadOnly)) {
        m_plainRestored = pid.readAll().trimmed().toInt();
    }
    if (!run->succeeded() || m_plainRestored <= 0) {
        return Error{QStringLiteral("plain criu restore failed (status %1):\n%2").arg(run->status).arg(logTail(directory + QStringLiteral("/restore.log")))};
    }
    RestoreTimes &t = m_plainRestore;
    t.criuMs = run->wallMs;
    t.criuMaxRssKb = run->maxRssKb;
    // Ready the way the engine decides it: the init lives and the display's socket is there.
    SessionRecord restored;
    restored.id = QStringLiteral("plain-restore");
    restored.initPid = m_plainRestored;
    restored.initStartTime = processStartTime(m_plainRestored);
    restored.bootId = SessionRecord::currentBootId();
    if (auto ready = m_sessions->waitUntilReady(restored, std::chrono::seconds(30)); !ready) {
        return ready.error();
    }
    t.wallMs = msSince(start);
    t.readyMs = t.wallMs - t.criuMs;
    say(QStringLiteral("plain criu restore: %1 ms (criu %2, until ready %3), peak RSS %4 MiB")
            .arg(t.wallMs, 0, 'f', 0)
            .arg(t.criuMs, 0, 'f', 0)
            .arg(t.readyMs, 0, 'f', 0)
            .arg(t.criuMaxRssKb / 1024.0, 0, 'f', 1));
    return {};
}

void Bench::cleanUp()
{
    if (m_plainRestored > 0) {
        ::kill(m_plainRestored, SIGKILL);
        ::waitpid(m_plainRestored, nullptr, 0);
        m_plainRestored = -1;
    }
    if (m_plainCgroup) {
        (void)m_plainCgroup->killAll();
        (void)m_plainCgroup->remove();
        m_plainCgroup.reset();
    }
    if (m_sessions) {
        const auto sessions = m_sessions->sessions();
        for (const SessionRecord &record : sessions) {
            if (auto removed = m_sessions->remove(record.id); !removed) {
                say(QStringLiteral("could not remove session %1: %2").arg(record.id, removed.errorMessage()));
            }
        }
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) { }
    if (!m_paths.cgroupParent.isEmpty()) {
        // The parent and its users' parents, in every hierarchy that limits cells.
        const auto limits = CellLimits::detect(m_paths.cgroupParent);
        const QStringList parents = limits ? limits->parents() : QStringList{m_paths.cgroupParent};
        for (const QString &parent : parents) {
            (void)CgroupFiles::removeTree(parent);
        }
    }
}

QString formatMs(double ms)
{
    return ms >= 10000 ? QStringLiteral("%1 s").arg(ms / 1000, 0, 'f', 2) : QStringLiteral("%1 ms").arg(ms, 0, 'f', 0);
}

QString formatMiB(double bytes)
{
    return QStringLiteral("%1 MiB").arg(mib(qint64(bytes)), 0, 'f', 1);
}

QString formatRate(double mibPerSecond)
{
    return QStringLiteral("%1 MiB/s").arg(mibPerSecond, 0, 'f', 0);
}

void Bench::report() const
{
    struct Row {
        QString metric;
        QString key;
        double rewind;
        double criu; // < 0: no counterpart
        QString (*format)(double);
    };
    const auto kib = [](double kb) {
        return formatMiB(kb * 1024);
    };
    const PlainRound &firstPlain = m_plain.first();
    QList<Row> rows{
        {QStringLiteral("snapshot wall time (mean)"),
         QStringLiteral("snapshotWallMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return r.wallMs;
              }),
         mean(m_plain,
              [](const PlainRound &p) {
                  return p.run.wallMs;
              }),
         formatMs},
        {QStringLiteral("frozen time (mean)"),
         QStringLiteral("frozenMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return r.frozenMs;
              }),
         mean(m_plain,
              [](const PlainRound &p) {
                  return p.criu.frozenMicroseconds / 1000.0;
              }),
         formatMs},
        {QStringLiteral("  criu freezing+frozen stat"),
         QStringLiteral("criuFreezingFrozenMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return (r.criu.freezingMicroseconds + r.criu.frozenMicroseconds) / 1000.0;
              }),
         mean(m_plain,
              [](const PlainRound &p) {
                  return (p.criu.freezingMicroseconds + p.criu.frozenMicroseconds) / 1000.0;
              }),
         formatMs},
        {QStringLiteral("  criu memory write stat"),
         QStringLiteral("criuMemoryWriteMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return r.criu.memoryWriteMicroseconds / 1000.0;
              }),
         mean(m_plain,
              [](const PlainRound &p) {
                  return p.criu.memoryWriteMicroseconds / 1000.0;
              }),
         formatMs},
        {QStringLiteral("  store (chunk, hash, zstd, fsync)"),
         QStringLiteral("storeMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return r.storeMs;
              }),
         -1,
         formatMs},
        {QStringLiteral("cpu time per snapshot (mean)"),
         QStringLiteral("cpuMs"),
         mean(m_rewind,
              [](const RewindRound &r) {
                  return r.cpuMs;
              }),
         mean(m_plain,
              [](const PlainRound &p) {
                  return p.run.cpuMs;
              }),
         formatMs},
        {QStringLiteral("bytes of 1st snapshot (stored/du)"),
         QStringLiteral("firstBytes"),
         double(m_rewind.first().storedBytes),
         double(firstPlain.images.diskBytes),
         formatMiB},
        {QStringLiteral("  store on disk after 1st (du)"),
         QStringLiteral("firstDiskBytes"),
         double(m_rewind.first().storeDiskBytes),
         double(firstPlain.images.diskBytes),
         formatMiB},
    };
    if (m_rounds >= 2) {
        const double gapMs = std::chrono::duration<double, std::milli>(m_rewind[1].dumpStarted - m_rewind[0].dumpStarted).count();
        rows.append({QStringLiteral("bytes of 2nd snapshot (new/du)"),
                     QStringLiteral("secondBytes"),
                     double(m_rewind[1].newBytes),
                     double(m_plain[1].images.diskBytes),
                     formatMiB});
        rows.append({QStringLiteral("  store on disk after all (du)"),
                     QStringLiteral("allDiskBytes"),
                     double(m_rewind.last().storeDiskBytes),
                     [this] {
                         double sum = 0;
                         for (const PlainRound &p : m_plain) {
                             sum += double(p.images.diskBytes);
                         }
                         return sum;
                     }(),
                     formatMiB});
        say(QStringLiteral("the 2nd rewind dump started %1 ms after the 1st").arg(gapMs, 0, 'f', 0));
    }
    rows.append({QStringLiteral("read 1st snapshot from the store"), QStringLiteral("readMiBps"), m_export.readMiBps(), -1, formatRate});
    rows.append({QStringLiteral("export 1st snapshot into a pipe"), QStringLiteral("exportMiBps"), m_export.exportMiBps(), -1, formatRate});
    rows.append({QStringLiteral("  export speed / read speed"),
                 QStringLiteral("exportToReadPercent"),
                 m_export.readMiBps() > 0 ? 100 * m_export.exportMiBps() / m_export.readMiBps() : 0,
                 -1,
                 [](double percent) {
                     return QStringLiteral("%1 %").arg(percent, 0, 'f', 0);
                 }});
    rows.append({QStringLiteral("restore until ready"), QStringLiteral("restoreMs"), m_rewindRestore.wallMs, m_plainRestore.wallMs, formatMs});
    rows.append({QStringLiteral("  of which criu restore"), QStringLiteral("restoreCriuMs"), m_rewindRestore.criuMs, m_plainRestore.criuMs, formatMs});
    rows.append({QStringLiteral("peak RSS of criu (dump)"), QStringLiteral("criuMaxRssKb"), double(m_rewindCriuMaxRssKb), double(m_plainCriuMaxRssKb), kib});
    rows.append({QStringLiteral("peak RSS of rewind (snapshots)"), QStringLiteral("benchMaxRssKb"), double(m_benchMaxRssKbAfterSnapshots), -1, kib});
    rows.append({QStringLiteral("peak RSS of rewind (+restore)"), QStringLiteral("benchMaxRssKbRestore"), double(m_benchMaxRssKbAfterRestore), -1, kib});

    utsname system{};
    ::uname(&system);
    const QString fileSystem = fileSystemOf(m_paths.stateDirectory);
    std::printf("\nRewind vs plain criu: %d MB of memory (%g%% of pages rewritten every 100 ms), %d round(s); %u cores, kernel %s, state on %s (%s)\n\n",
                m_dirtyMb,
                m_touchPercent,
                m_rounds,
                std::thread::hardware_concurrency(),
                system.release,
                qPrintable(QFileInfo(m_paths.stateDirectory).path()),
                qPrintable(fileSystem));
    std::printf("%-36s | %12s | %12s | %6s\n", "metric", "rewind", "plain criu", "ratio");
    std::printf("%s\n", QByteArray(36 + 3 + 12 + 3 + 12 + 3 + 6, '-').constData());
    QJsonObject rewindJson;
    QJsonObject criuJson;
    QJsonObject ratioJson;
    for (const Row &row : std::as_const(rows)) {
        const bool paired = row.criu >= 0;
        const QString ratio = paired && row.criu > 0 ? QString::number(row.rewind / row.criu, 'f', 2) : QStringLiteral("-");
        std::printf("%-36s | %12s | %12s | %6s\n",
                    qPrintable(row.metric),
                    qPrintable(row.format(row.rewind)),
                    paired ? qPrintable(row.format(row.criu)) : "-",
                    qPrintable(ratio));
        rewindJson.insert(row.key, qRound64(row.rewind));
        if (paired) {
            criuJson.insert(row.key, qRound64(row.criu));
            if (row.criu > 0) {
                ratioJson.insert(row.key, qRound64(row.rewind / row.criu * 100) / 100.0);
            }
        }
    }
    const QJsonObject summary{
        {QStringLiteral("dirtyMb"), m_dirtyMb},
        {QStringLiteral("touchPercent"), m_touchPercent},
        {QStringLiteral("criuLogLevel"), m_criuLogLevel},
        {QStringLiteral("rounds"), m_rounds},
        {QStringLiteral("cores"), int(std::thread::hardware_concurrency())},
        {QStringLiteral("kernel"), QString::fromLocal8Bit(system.release)},
        {QStringLiteral("stateFileSystem"), fileSystem},
        {QStringLiteral("rewind"), rewindJson},
        {QStringLiteral("criu"), criuJson},
        {QStringLiteral("ratio"), ratioJson},
    };
    std::printf("\n%s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("rewind-bench"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Times Rewind's snapshots and restores against plain criu on the same session."));
    parser.addHelpOption();
    const QCommandLineOption dirtyMb(QStringLiteral("dirty-mb"),
                                     QStringLiteral("Memory of the session's changing process, in MB (default 512)."),
                                     QStringLiteral("N"),
                                     QStringLiteral("512"));
    const QCommandLineOption rounds(QStringLiteral("rounds"), QStringLiteral("Snapshots of each kind (default 2)."), QStringLiteral("R"), QStringLiteral("2"));
    const QCommandLineOption touchPercent(QStringLiteral("touch-percent"),
                                          QStringLiteral("Share of its pages the changing process rewrites every 100 ms (default 1)."),
                                          QStringLiteral("P"),
                                          QStringLiteral("1"));
    const QCommandLineOption criuLogLevel(QStringLiteral("criu-log-level"),
                                          QStringLiteral("Log level of the plain criu runs (default: criu's own; the engine uses 4)."),
                                          QStringLiteral("N"),
                                          QStringLiteral("0"));
    parser.addOptions({dirtyMb, rounds, touchPercent, criuLogLevel});
    parser.process(app);
    bool dirtyOk = false;
    bool roundsOk = false;
    const int dirtyMbValue = parser.value(dirtyMb).toInt(&dirtyOk);
    const int roundsValue = parser.value(rounds).toInt(&roundsOk);
    bool touchOk = false;
    bool levelOk = false;
    const double touchValue = parser.value(touchPercent).toDouble(&touchOk);
    const int levelValue = parser.value(criuLogLevel).toInt(&levelOk);
    if (!dirtyOk || dirtyMbValue < 1 || !roundsOk || roundsValue < 1 || roundsValue > 100 || !touchOk || touchValue < 0 || touchValue > 100 || !levelOk
        || levelValue < 0 || levelValue > 4) {
        std::fprintf(stderr,
                     "rewind-bench: --dirty-mb must be positive, --rounds between 1 and 100, --touch-percent between 0 and 100 "
                     "and --criu-log-level between 0 and 4\n");
        return 2;
    }

    struct sigaction action{};
    action.sa_handler = onSignal;
    action.sa_flags = SA_RESTART;
    ::sigemptyset(&action.sa_mask);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
        ::sigaction(signal, &action, nullptr);
    }

    Bench bench(dirtyMbValue, touchValue, roundsValue, levelValue);
    if (auto done = bench.run(); !done) {
        std::fprintf(stderr, "rewind-bench: %s\n", qPrintable(done.errorMessage()));
        return 1;
    }
    return 0;
}
