// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-bench [--dirty-mb N] [--rounds R] [--apps firefox,kate,konsole]:
// Rewind's snapshots and restores against plain criu, on the same session in
// the same run.
//
// Starts a session (Xvnc, openbox, an xterm, a process with N MB of memory
// that keeps changing and, with --apps, real apps started as the app matrix
// starts them), takes R snapshots with the engine and R plain
// `criu dump --leave-running` of the same tree, restores one of each, and
// prints a table of times (p50, p95 and mean over the rounds), sizes and
// memory with the ratios rewind/criu, then one line of JSON. Plain criu is
// also timed until its images are durable (fdatasync), as the store's are.
// It counts the memory pages whose content changed between the 1st and the
// 2nd snapshot against what the 2nd added to the store, adds Rewind's
// staging in memory to its peak RSS, says whether CRIU could take
// incremental snapshots here, and times reading the 1st snapshot back from
// the store and exporting it as a stream (SnapshotTransfer) into a pipe.
// Runs as root; everything it creates is removed at the end.
#include "AppLaunch.h"
#include "CellDisplay.h"
#include "CellLimits.h"
#include "Cgroup.h"
#include "CgroupFiles.h"
#include "CriuCheckpointer.h"
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
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <numeric>
#include <optional>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>
#include <xxhash.h>

using namespace Rewind;
using Clock = std::chrono::steady_clock;

namespace
{

const QString xtermCounter = QStringLiteral("/tmp/bench-xterm-counter");
const QString dirtyReady = QStringLiteral("/tmp/bench-dirty-memory-ready");
/// The user of sessions with apps (rewind-user of the development
/// environment, as in the app matrix): KDE's apps refuse to run as root.
constexpr uid_t appUserUid = 1500;
/// Slow apps on a busy machine with two cores take tens of seconds to show a window.
constexpr int appWindowTimeoutMs = 240000;

volatile std::sig_atomic_t interruptedBy = 0;

void onSignal(int signal)
{
    interruptedBy = signal;
}

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
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
/// The PATH the bench started with. The engine puts Rewind's own gzip first
/// in the PATH of the CRIU it runs (CriuCheckpointer); plain criu runs with
/// the system's, as a user's criu would.
const QByteArray systemPath = qgetenv("PATH");

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
    std::vector<QByteArray> variables;
    for (char **variable = environ; *variable; ++variable) {
        if (std::strncmp(*variable, "PATH=", 5) != 0) {
            variables.emplace_back(*variable);
        }
    }
    variables.push_back("PATH=" + systemPath);
    std::vector<char *> envp;
    for (QByteArray &variable : variables) {
        envp.push_back(variable.data());
    }
    envp.push_back(nullptr);
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
        ::execve(argv[0], argv.data(), envp.data());
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

/// The machine's anonymous and shared memory (tmpfs included: AnonPages +
/// Shmem) at its highest while a restore runs, against its value at the
/// start: what the restore took for its staging and its processes, which
/// no RSS shows. Page cache, which the kernel may take back, is left out.
class MemoryTaken
{
public:
    MemoryTaken()
        : m_start(settled())
        , m_highest(m_start)
        , m_sampler([this] {
            sample();
        })
    {
    }
    ~MemoryTaken()
    {
        stop();
    }
    /// Bytes taken at the peak.
    qint64 stop()
    {
        if (m_sampler.joinable()) {
            m_stop = true;
            m_sampler.join();
        }
        return m_start >= 0 && m_highest >= 0 ? std::max<qint64>(0, m_highest - m_start) : -1;
    }

private:
    static qint64 inUse()
    {
        UniqueFd fd(::open("/proc/meminfo", O_RDONLY | O_CLOEXEC));
        char text[8192];
        const ssize_t length = fd ? ::read(fd.get(), text, sizeof text - 1) : -1;
        if (length <= 0) {
            return -1;
        }
        text[length] = '\0';
        const char *anonymous = std::strstr(text, "\nAnonPages:");
        const char *shared = std::strstr(text, "\nShmem:");
        if (!anonymous || !shared) {
            return -1;
        }
        return (std::strtoll(anonymous + 11, nullptr, 10) + std::strtoll(shared + 7, nullptr, 10)) * 1024;
    }
    /// In use once what the previous step freed has been given back (two
    /// readings 50 ms apart within 4 MiB, at most 5 s).
    static qint64 settled()
    {
        qint64 previous = inUse();
        for (int i = 0; i < 100; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            const qint64 now = inUse();
            if (std::abs(now - previous) < 4 * 1024 * 1024) {
                return now;
            }
            previous = now;
        }
        return previous;
    }
    void sample()
    {
        while (!m_stop) {
            if (const qint64 now = inUse(); now > m_highest) {
                m_highest = now;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    const qint64 m_start;
    qint64 m_highest;
    std::atomic<bool> m_stop = false;
    std::thread m_sampler;
};

struct RewindRound {
    double wallMs = 0;
    double beforeFreezeMs = 0; ///< scan, mount table, staging, screenshot
    double freezeMs = 0; ///< until the kernel confirmed the freeze
    double dumpMs = 0; ///< criu swrk, cell frozen
    double thawMs = 0;
    double storeMs = 0; ///< chunking, hashing, compression, fsync, catalog
    CommitTimes storeSteps; ///< the store's own account of storeMs
    double frozenMs = 0;
    CriuDumpStatistics criu;
    qint64 logicalBytes = 0;
    qint64 storedBytes = 0;
    qint64 newBytes = 0;
    qint64 storeDiskBytes = 0; ///< du of the whole store after this round
    double cpuMs = 0; ///< this process and its reaped children (criu)
    qint64 snapshotId = 0;
    qint64 stagingInMemoryBytes = 0; ///< the engine's metadata; 0 when staged on disk or not recorded
    QString stagingPlace; ///< "memory" or "disk" (disk when not recorded)
    bool incremental = false; ///< CRIU dumped only the pages changed since the previous round
    Clock::time_point dumpStarted;
};

struct PlainRound {
    ChildRun run;
    double syncMs = 0; ///< fdatasync of its images right after the dump
    double syncCpuMs = 0; ///< this thread's CPU time in it (writeback the flusher threads do is not counted, nor for the store)
    double durableWallMs() const
    {
        return run.wallMs + syncMs;
    }
    double durableCpuMs() const
    {
        return run.cpuMs + syncCpuMs;
    }
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
    qint64 memoryTakenBytes = -1; ///< the machine's available memory, start minus lowest
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
QList<double> valuesOf(const QList<T> &items, F value)
{
    QList<double> values;
    for (const T &item : items) {
        values.append(double(value(item)));
    }
    return values;
}

/// The nearest-rank percentile: the smallest value that at least percent %
/// of the values do not exceed. Below 20 values p95 is the largest one (over
/// the default 5 rounds, p95 is the max); p50 of an odd count is the median.
double percentile(QList<double> values, double percent)
{
    if (values.isEmpty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto rank = qsizetype(std::ceil(percent / 100.0 * double(values.size())));
    return values[std::clamp<qsizetype>(rank, 1, values.size()) - 1];
}

QJsonArray jsonArray(const QList<double> &values)
{
    QJsonArray array;
    for (double value : values) {
        array.append(qRound64(value));
    }
    return array;
}

/// Makes every file directly in directory durable (fdatasync), then the
/// directory itself, but for the files named in skip.
Result<void> syncFiles(const QString &directory, const QStringList &skip)
{
    UniqueFd dir(::open(QFile::encodeName(directory).constData(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir) {
        return Error{QStringLiteral("cannot open %1").arg(directory)};
    }
    const QStringList files = QDir(directory).entryList(QDir::Files | QDir::Hidden | QDir::System);
    for (const QString &name : files) {
        if (skip.contains(name)) {
            continue;
        }
        UniqueFd file(::openat(dir.get(), QFile::encodeName(name).constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!file || ::fdatasync(file.get()) != 0) {
            return Error{QStringLiteral("cannot sync %1/%2: %3").arg(directory, name, QString::fromLocal8Bit(strerror(errno)))};
        }
    }
    if (::fsync(dir.get()) != 0) {
        return Error{QStringLiteral("cannot sync %1").arg(directory)};
    }
    return {};
}

/// Whether CRIU's memory-change tracking (what incremental dumps and
/// pre-dumps need: the kernel's soft-dirty bits) works here.
struct IncrementalCheck {
    bool available = false;
    int exitCode = -1;
    QString why; ///< when unavailable
};

/// The 4 KiB pages of a snapshot's memory images (pages-*.img), by content.
struct PageKey {
    quint64 low = 0;
    quint64 high = 0;
    bool operator==(const PageKey &other) const = default;
};
struct PageKeyHash {
    size_t operator()(const PageKey &key) const
    {
        return size_t(key.low);
    }
};

/// Memory pages that changed between the 1st and the 2nd snapshot, by
/// content: pages of the 2nd whose bytes no page of the 1st has.
struct PageChange {
    bool measured = false;
    qint64 firstImageBytes = 0; ///< the pages-*.img files of the 1st snapshot
    qint64 secondImageBytes = 0;
    qint64 changedPages = 0;
    qint64 addedBytes = 0; ///< what the 2nd snapshot added to the store (the catalog's addedBytes, else newBytes)
    bool addedFromCatalog = false;
    double gapMs = 0; ///< between the two dumps' starts
    double runningMs = 0; ///< of which the session was not frozen (by Rewind's 1st or plain criu's 1st dump)
    double expectedDirtyMemoryPages = 0; ///< what the changing process alone should have changed
    double compareMs = 0;
    qint64 changedBytes() const
    {
        return changedPages * 4096;
    }
};

class Bench
{
public:
    Bench(int dirtyMb, double touchPercent, int rounds, int criuLogLevel, const QStringList &apps, bool measureGui)
        : m_dirtyMb(dirtyMb)
        , m_touchPercent(touchPercent)
        , m_rounds(rounds)
        , m_criuLogLevel(criuLogLevel)
        , m_apps(apps)
        , m_measureGui(measureGui)
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
    Result<void> checkIncremental();
    Result<void> startSession();
    Result<void> waitForApps();
    Result<void> dumpRounds();
    Result<void> rewindRound(int round);
    Result<void> plainRound(int round);
    Result<void> exportFirst();
    Result<void> restoreRewind();
    Result<void> restorePlain();
    Result<void> comparePages();
    void measureGui();
    Result<std::unordered_set<PageKey, PageKeyHash>>
    pagesOf(qint64 snapshotId, const std::unordered_set<PageKey, PageKeyHash> *earlier, qint64 *imageBytes, qint64 *notInEarlier) const;
    void report() const;
    void cleanUp();
    Result<void> checkInterrupted() const;

    int m_dirtyMb;
    double m_touchPercent;
    int m_rounds;
    int m_criuLogLevel; ///< 0: criu's default
    QStringList m_apps; ///< asked for with --apps
    // Declared first, so it is removed last.
    QTemporaryDir m_state{QStringLiteral("/var/tmp/rewind-bench-XXXXXX")}; // not /tmp: cells get a private one
    RewindPaths m_paths;
    /// What the apps' homes get, and the changing process, readable by the apps' user.
    std::optional<QTemporaryDir> m_seed;
    QStringList m_startedApps;
    QStringList m_skippedApps; ///< "kate (not installed)"
    bool m_measureGui = true;
    QJsonObject m_guiStall; ///< by operation: the figures of tests/bench/gui-stall
    QString m_guiStallError;
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
    qint64 m_cellMemoryPeakBytes = -1; ///< the cell cgroup's peak memory after the snapshots; -1 unknown
    QString m_cellMemorySource; ///< memory.peak (cgroup v2) or memory.max_usage_in_bytes (v1)
    IncrementalCheck m_incremental;
    PageChange m_pageChange;
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
    // The page comparison reads whole memory images: after everything whose peak RSS is reported.
    for (auto step : {&Bench::setUp,
                      &Bench::checkIncremental,
                      &Bench::startSession,
                      &Bench::waitForApps,
                      &Bench::dumpRounds,
                      &Bench::exportFirst,
                      &Bench::restoreRewind,
                      &Bench::restorePlain,
                      &Bench::comparePages}) {
        if (auto done = (this->*step)(); !done) {
            return done;
        }
        if (auto interrupted = checkInterrupted(); !interrupted) {
            return interrupted;
        }
    }
    cleanUp();
    // The window's test brings its own system bus, helper and session.
    if (m_measureGui) {
        measureGui();
    }
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

Result<void> Bench::checkIncremental()
{
    // The criu the engine runs (CriuCheckpointer::binary()), asked whether it can track changed pages.
    const QString binary = QString::fromLocal8Bit(CriuCheckpointer::binary());
    if (binary.isEmpty()) {
        return Error{QStringLiteral("criu is not installed")};
    }
    const QString log = m_paths.stateDirectory + QStringLiteral("/criu-check.out");
    auto run = runChild(binary, {QStringLiteral("check"), QStringLiteral("--feature"), QStringLiteral("mem_dirty_track")}, log);
    if (!run) {
        return run.error();
    }
    QFile output(log);
    const QString text = output.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(output.readAll()).trimmed() : QString();
    QFile::remove(log);
    m_incremental.exitCode = WIFEXITED(run->status) ? WEXITSTATUS(run->status) : -1;
    m_incremental.available = run->succeeded();
    if (!m_incremental.available) {
        // CRIU says "Dirty tracking is OFF" where the kernel lacks CONFIG_MEM_SOFT_DIRTY.
        const QStringList lines = text.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QString said = lines.isEmpty() ? QStringLiteral("no output") : lines.last().trimmed();
        for (const QString &line : lines) {
            if (line.contains(QLatin1String("Dirty tracking"), Qt::CaseInsensitive)) {
                said = line.trimmed();
            }
        }
        m_incremental.why = said.contains(QLatin1String("Dirty tracking is OFF"), Qt::CaseInsensitive)
            ? QStringLiteral("the kernel has no soft-dirty page tracking (criu: %1)").arg(said)
            : QStringLiteral("criu check exited with %1: %2").arg(m_incremental.exitCode).arg(said);
    }
    say(QStringLiteral("%1 check --feature mem_dirty_track: exit %2; incremental (mem_dirty_track): %3")
            .arg(binary)
            .arg(m_incremental.exitCode)
            .arg(m_incremental.available ? QStringLiteral("available") : QStringLiteral("unavailable: ") + m_incremental.why));
    return {};
}

Result<void> Bench::startSession()
{
    SessionSpec spec;
    spec.name = QStringLiteral("bench");
    spec.geometry = QSize(1024, 768);
    spec.depth = 24;
    spec.windowManager = {QStringLiteral("openbox")};
    QString dirtyMemory = QStringLiteral(BUILD_BIN_DIR "/rewind-bench-dirty-memory");
    uid_t owner = 0;
    if (!m_apps.isEmpty()) {
        if (!::getpwuid(appUserUid)) {
            return Error{QStringLiteral("--apps needs the user %1 (rewind-user of the development environment)").arg(appUserUid)};
        }
        owner = appUserUid;
        // The apps' user may not reach the build directory: the changing process goes with the seed.
        m_seed.emplace(QStringLiteral("/var/tmp/rewind-bench-apps-XXXXXX"));
        if (!m_seed->isValid() || !seedAppFiles(m_seed->path())) {
            return Error{QStringLiteral("cannot prepare the apps' files under /var/tmp")};
        }
        const QString copy = m_seed->path() + QStringLiteral("/.bench/rewind-bench-dirty-memory");
        if (!QDir().mkpath(QFileInfo(copy).path()) || !QFile::copy(dirtyMemory, copy)) {
            return Error{QStringLiteral("cannot copy %1 to %2").arg(dirtyMemory, copy)};
        }
        dirtyMemory = copy;
        if (QProcess::execute(QStringLiteral("chmod"), {QStringLiteral("-R"), QStringLiteral("a+rX"), m_seed->path()}) != 0) {
            return Error{QStringLiteral("cannot open %1 to the apps' user").arg(m_seed->path())};
        }
    }
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
    };
    if (m_dirtyMb > 0) {
        spec.apps.append(AppSpec{.name = QStringLiteral("dirty-memory"),
                                 .argv = {dirtyMemory, QString::number(m_dirtyMb), QString::number(m_touchPercent), dirtyReady},
                                 .env = {}});
    }
    const auto launches = appLaunches();
    for (const QString &name : std::as_const(m_apps)) {
        const AppLaunch app = launches.value(name);
        if (QStandardPaths::findExecutable(app.program).isEmpty()) {
            m_skippedApps.append(QStringLiteral("%1 (%2 is not installed, package %3)").arg(name, app.program, app.package));
            say(QStringLiteral("skipping %1: %2 is not installed (package %3)").arg(name, app.program, app.package));
            continue;
        }
        spec.apps.append(AppSpec{.name = name, .argv = {QStringLiteral("sh"), QStringLiteral("-c"), appShellCommand(m_seed->path(), app)}, .env = {}});
        m_startedApps.append(name);
    }
    say(QStringLiteral("starting a session%1: Xvnc, openbox, xterm%2%3")
            .arg(owner ? QStringLiteral(" of user %1").arg(owner) : QString())
            .arg(m_dirtyMb > 0 ? QStringLiteral(", %1 MB of memory with %2% of its pages rewritten every 100 ms").arg(m_dirtyMb).arg(m_touchPercent)
                               : QString())
            .arg(m_startedApps.isEmpty() ? QString() : QStringLiteral(", ") + m_startedApps.join(QStringLiteral(", "))));
    const auto start = Clock::now();
    auto record = m_sessions->start(spec, owner);
    if (!record) {
        return record.error();
    }
    m_session = *record;
    // Settle: the memory is filled, the xterm counts and openbox runs.
    const bool settled = waitFor(
        [&] {
            if ((m_dirtyMb > 0 && !QFile::exists(SessionManager::cellPath(m_session.initPid, dirtyReady))) || counterIn(m_session.initPid, xtermCounter) < 3) {
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

Result<void> Bench::waitForApps()
{
    if (m_startedApps.isEmpty()) {
        return {};
    }
    // As the app matrix does: until each app's main window is mapped with its document or page loaded.
    const auto launches = appLaunches();
    CellDisplay display(m_session.initPid, m_session.plan.value(QStringLiteral("display")).toInt(1));
    for (const QString &name : std::as_const(m_startedApps)) {
        const AppLaunch app = launches.value(name);
        const auto start = Clock::now();
        const QString window = waitForMainWindow(display, app, app.readyTitle, appWindowTimeoutMs, [] {
            return interruptedBy != 0;
        });
        if (window.isEmpty()) {
            return Error{QStringLiteral("%1 showed no window within %2 s%3")
                             .arg(name)
                             .arg(appWindowTimeoutMs / 1000)
                             .arg(interruptedBy ? QStringLiteral(" (interrupted)") : QString())};
        }
        say(QStringLiteral("%1: window %2 mapped after %3 ms").arg(name, window).arg(msSince(start), 0, 'f', 0));
    }
    // Let their start settle, so that the page comparison sees what they change while running, not what they load.
    QThread::sleep(5);
    return {};
}

Result<void> Bench::dumpRounds()
{
    // Interleaved, so that both kinds of dump meet the same page cache and
    // disk, and each goes first every other round: the one that follows
    // meets what the other left (memory it just freed, pages to write back).
    for (int round = 1; round <= m_rounds; ++round) {
        const bool rewindFirst = round % 2 == 1;
        for (auto dump : {rewindFirst ? &Bench::rewindRound : &Bench::plainRound, rewindFirst ? &Bench::plainRound : &Bench::rewindRound}) {
            if (auto done = (this->*dump)(round); !done) {
                return done;
            }
            if (auto interrupted = checkInterrupted(); !interrupted) {
                return interrupted;
            }
        }
    }
    m_benchMaxRssKbAfterSnapshots = usageOf(RUSAGE_SELF).ru_maxrss;
    // The most the cell's memory cgroup has held since it started: cgroup v2, else a v1 hierarchy of the memory controller.
    QStringList candidates{m_sessions->cgroupPath(m_session) + QStringLiteral("/memory.peak")};
    if (const auto limits = CellLimits::detect(m_paths.cgroupParent)) {
        const QStringList legacy = limits->legacyDirectories(m_session.ownerUid, m_session.id);
        for (const QString &directory : legacy) {
            candidates.append(directory + QStringLiteral("/memory.max_usage_in_bytes"));
        }
    }
    for (const QString &candidate : std::as_const(candidates)) {
        QFile peak(candidate);
        bool ok = false;
        const qint64 bytes = peak.open(QIODevice::ReadOnly) ? peak.readAll().trimmed().toLongLong(&ok) : 0;
        if (ok) {
            m_cellMemoryPeakBytes = bytes;
            m_cellMemorySource = QFileInfo(candidate).fileName();
            break;
        }
    }
    return {};
}

Result<void> Bench::rewindRound(int round)
{
    const double cpuBefore = cpuMs(usageOf(RUSAGE_SELF)) + cpuMs(usageOf(RUSAGE_CHILDREN));
    StageClock stages;
    stages.start();
    const auto start = Clock::now();
    // Scheduled, as autosave takes them: stored at idle priority.
    auto snapshot = m_engine->snapshot(m_session.id, QStringLiteral("bench %1").arg(round), SnapshotTrigger::Scheduled, stages.progress());
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
    r.storeSteps = m_store->lastCommitTimes();
    r.dumpStarted = start + std::chrono::microseconds(qint64(stages.at(20, 0) * 1000));
    r.frozenMs = snapshot->metadata.value(QStringLiteral("frozenUs")).toLongLong() / 1000.0;
    r.criu = statisticsFrom(snapshot->metadata.value(QStringLiteral("criu")).toMap());
    r.logicalBytes = snapshot->logicalBytes;
    r.storedBytes = snapshot->storedBytes;
    r.newBytes = snapshot->newBytes;
    r.storeDiskBytes = treeSize(m_paths.storeDirectory()).diskBytes;
    r.snapshotId = snapshot->id;
    // Recorded by the engine where it stages on a private tmpfs; absent where it stages on disk.
    r.stagingInMemoryBytes = snapshot->metadata.value(QStringLiteral("stagingInMemoryBytes")).toLongLong();
    r.stagingPlace = snapshot->metadata.value(QStringLiteral("stagingPlace"), QStringLiteral("disk")).toString();
    r.incremental = snapshot->metadata.contains(QStringLiteral("incrementalOf"));
    // RUSAGE_CHILDREN keeps the largest child reaped so far: criu swrk, or a plain criu measured on its own.
    const long children = usageOf(RUSAGE_CHILDREN).ru_maxrss;
    if (children > m_plainCriuMaxRssKb) {
        m_rewindCriuMaxRssKb = std::max(m_rewindCriuMaxRssKb, children);
    }
    say(QStringLiteral("rewind snapshot %1: %2 ms (before freeze %3, freeze %4, dump %5, thaw %6, store %7), frozen %8 ms; "
                       "%9 MiB of files, %10 MiB stored, %11 MiB new; cpu %12 ms; staged in %13 (%14 MiB in memory)")
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
            .arg(r.cpuMs, 0, 'f', 0)
            .arg(r.stagingPlace)
            .arg(mib(r.stagingInMemoryBytes), 0, 'f', 1));
    say(QStringLiteral("    ") + describe(r.criu));
    say(QStringLiteral("    store: naming %1 ms, looking up %2, encoding %3, writing %4, syncing %5, cataloguing %6")
            .arg(ms(r.storeSteps.naming), 0, 'f', 0)
            .arg(ms(r.storeSteps.lookingUp), 0, 'f', 0)
            .arg(ms(r.storeSteps.encoding), 0, 'f', 0)
            .arg(ms(r.storeSteps.writing), 0, 'f', 0)
            .arg(ms(r.storeSteps.syncing), 0, 'f', 0)
            .arg(ms(r.storeSteps.cataloguing), 0, 'f', 0));
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
        // The same dump made durable, as the store makes its packs: timed until the images are on disk.
        const double cpuBeforeSync = cpuMs(usageOf(RUSAGE_THREAD));
        const auto syncStart = Clock::now();
        if (auto synced = syncFiles(p.directory, {QStringLiteral("dump.log"), QStringLiteral("criu.out")}); !synced) {
            return synced.error();
        }
        p.syncMs = msSince(syncStart);
        p.syncCpuMs = cpuMs(usageOf(RUSAGE_THREAD)) - cpuBeforeSync;
        p.criu = readStatistics(p.directory);
        // Rewind does not keep CRIU's log either.
        QFile::remove(log);
        QFile::remove(p.directory + QStringLiteral("/criu.out"));
        p.images = treeSize(p.directory);
        say(QStringLiteral("plain criu dump %1: %2 ms, %3 MiB of images (du), peak RSS %4 MiB, cpu %5 ms; made durable in %6 ms more (cpu %7 ms)")
                .arg(round)
                .arg(p.run.wallMs, 0, 'f', 0)
                .arg(mib(p.images.diskBytes), 0, 'f', 1)
                .arg(p.run.maxRssKb / 1024.0, 0, 'f', 1)
                .arg(p.run.cpuMs, 0, 'f', 0)
                .arg(p.syncMs, 0, 'f', 0)
                .arg(p.syncCpuMs, 0, 'f', 0));
        say(QStringLiteral("    ") + describe(p.criu));
        m_plainCriuMaxRssKb = std::max(m_plainCriuMaxRssKb, p.run.maxRssKb);
        m_plain.append(p);
        // Only the first plain dump is restored; the others were only measured
        // and go at once, as the engine's staging does.
        if (round > 1) {
            QDir(p.directory).removeRecursively();
        }
        ::sync();
    }
    return {};
}

Result<void> Bench::restoreRewind()
{
    MemoryTaken memory;
    StageClock stages;
    stages.start();
    const auto start = Clock::now();
    auto restored = m_engine->restore(m_rewind.first().snapshotId, RestoreMode::AsNewSession, stages.progress());
    if (!restored) {
        return restored.error();
    }
    RestoreTimes &t = m_rewindRestore;
    t.wallMs = msSince(start);
    t.memoryTakenBytes = memory.stop();
    t.prepareMs = stages.at(40, t.wallMs) - stages.at(10, 0);
    t.criuMs = stages.at(80, t.wallMs) - stages.at(40, t.wallMs);
    t.readyMs = t.wallMs - stages.at(80, t.wallMs);
    m_benchMaxRssKbAfterRestore = usageOf(RUSAGE_SELF).ru_maxrss;
    say(QStringLiteral("rewind restore as a new session: %1 ms (materialize and verify %2, criu restore %3, until ready %4), took %5 MiB of memory at its peak")
            .arg(t.wallMs, 0, 'f', 0)
            .arg(t.prepareMs, 0, 'f', 0)
            .arg(t.criuMs, 0, 'f', 0)
            .arg(t.readyMs, 0, 'f', 0)
            .arg(mib(t.memoryTakenBytes), 0, 'f', 0));
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
    MemoryTaken memory;
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
        // Plain criu cannot restore every session the engine can (it does
        // not recreate the cell's network, say): the rest is still measured.
        say(QStringLiteral("plain criu restore failed (status %1), so restores are not compared:\n%2")
                .arg(run->status)
                .arg(logTail(directory + QStringLiteral("/restore.log"))));
        m_plainRestore.wallMs = -1;
        m_plainRestore.criuMs = -1;
        return {};
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
    t.memoryTakenBytes = memory.stop();
    t.readyMs = t.wallMs - t.criuMs;
    say(QStringLiteral("plain criu restore: %1 ms (criu %2, until ready %3), peak RSS %4 MiB, took %5 MiB of memory at its peak")
            .arg(t.wallMs, 0, 'f', 0)
            .arg(t.criuMs, 0, 'f', 0)
            .arg(t.readyMs, 0, 'f', 0)
            .arg(t.criuMaxRssKb / 1024.0, 0, 'f', 1)
            .arg(mib(t.memoryTakenBytes), 0, 'f', 0));
    return {};
}

Result<std::unordered_set<PageKey, PageKeyHash>>
Bench::pagesOf(qint64 snapshotId, const std::unordered_set<PageKey, PageKeyHash> *earlier, qint64 *imageBytes, qint64 *notInEarlier) const
{
    // The memory images: CRIU's pages-N.img under images/ (pagemap-*.img says whose they are).
    QStringList images;
    SnapshotStore::Visitor visitor;
    visitor.entry = [&images](const QString &path, quint32 mode, qint64) {
        const QString name = path.section(QLatin1Char('/'), -1);
        if (S_ISREG(mode) && path.startsWith(QLatin1String("images/")) && name.startsWith(QLatin1String("pages-")) && name.endsWith(QLatin1String(".img"))) {
            images.append(path);
        }
        return Result<void>();
    };
    visitor.chunk = [](const QByteArray &, const QByteArray *, const QByteArray &) {
        return Result<void>();
    };
    if (auto walked = m_store->walk(snapshotId, visitor); !walked) {
        return walked.error();
    }
    constexpr qsizetype pageSize = 4096;
    std::unordered_set<PageKey, PageKeyHash> pages;
    *imageBytes = 0;
    *notInEarlier = 0;
    for (const QString &image : std::as_const(images)) {
        auto content = m_store->readFile(snapshotId, image);
        if (!content) {
            return content.error();
        }
        *imageBytes += content->size();
        for (qsizetype offset = 0; offset + pageSize <= content->size(); offset += pageSize) {
            const XXH128_hash_t hash = XXH3_128bits(content->constData() + offset, size_t(pageSize));
            const PageKey key{hash.low64, hash.high64};
            if (earlier) {
                *notInEarlier += earlier->count(key) ? 0 : 1;
            } else {
                pages.insert(key);
            }
        }
    }
    return pages;
}

Result<void> Bench::comparePages()
{
    if (m_rewind.size() < 2) {
        return {};
    }
    PageChange &c = m_pageChange;
    const auto start = Clock::now();
    qint64 unused = 0;
    auto first = pagesOf(m_rewind[0].snapshotId, nullptr, &c.firstImageBytes, &unused);
    if (!first) {
        return first.error();
    }
    auto second = pagesOf(m_rewind[1].snapshotId, &*first, &c.secondImageBytes, &c.changedPages);
    if (!second) {
        return second.error();
    }
    c.compareMs = msSince(start);
    auto info = m_store->snapshot(m_rewind[1].snapshotId);
    if (!info) {
        return info.error();
    }
    c.addedFromCatalog = info->addedBytes.has_value();
    c.addedBytes = info->addedBytes.value_or(info->newBytes);
    c.gapMs = std::chrono::duration<double, std::milli>(m_rewind[1].dumpStarted - m_rewind[0].dumpStarted).count();
    // The gap starts frozen: the rest of Rewind's 1st freeze, then plain criu's 1st dump freezes it again.
    const CriuDumpStatistics &plainFirst = m_plain.first().criu;
    c.runningMs = std::max(0.0, c.gapMs - m_rewind[0].frozenMs - (plainFirst.freezingMicroseconds + plainFirst.frozenMicroseconds) / 1000.0);
    if (m_dirtyMb > 0) {
        // Each 100 ms tick while it runs rewrites a word in t of its P pages, chosen at random: after k ticks, P (1 - (1 - t/P)^k) pages differ.
        const double pages = double(m_dirtyMb) * 1024 * 1024 / 4096;
        const double perTick = std::floor(pages * m_touchPercent / 100);
        c.expectedDirtyMemoryPages = pages * (1 - std::pow(1 - perTick / pages, c.runningMs / 100));
    }
    c.measured = true;
    const QString expected = m_dirtyMb > 0
        ? QStringLiteral("; the changing process alone should have changed %1 MiB").arg(mib(qint64(c.expectedDirtyMemoryPages * 4096)), 0, 'f', 1)
        : QString();
    say(QStringLiteral("memory pages: 1st snapshot %1 MiB of images, 2nd %2 MiB, of which %3 pages (%4 MiB) not in the 1st; the 2nd added %5 MiB to the store "
                       "(%6); the dumps started %7 ms apart, %8 ms of them not frozen%9; compared in %10 ms")
            .arg(mib(c.firstImageBytes), 0, 'f', 1)
            .arg(mib(c.secondImageBytes), 0, 'f', 1)
            .arg(c.changedPages)
            .arg(mib(c.changedBytes()), 0, 'f', 1)
            .arg(mib(c.addedBytes), 0, 'f', 1)
            .arg(c.addedFromCatalog ? QStringLiteral("addedBytes") : QStringLiteral("newBytes, the catalog has no addedBytes"))
            .arg(c.gapMs, 0, 'f', 0)
            .arg(c.runningMs, 0, 'f', 0)
            .arg(expected)
            .arg(c.compareMs, 0, 'f', 0));
    return {};
}

void Bench::measureGui()
{
    say(QStringLiteral("measuring the window's thread (tests/bench/gui-stall)"));
    QProcess script;
    script.setProcessChannelMode(QProcess::SeparateChannels);
    script.start(QStringLiteral(SOURCE_DIR "/tests/bench/gui-stall"), {QStringLiteral(BUILD_DIR)});
    if (!script.waitForFinished(10 * 60 * 1000)) {
        script.kill();
        script.waitForFinished();
        m_guiStallError = QStringLiteral("gui-stall did not finish");
        return;
    }
    // "gui-stall: operation=snapshot busy_max_ms=4.17 ...", one line an operation.
    for (const QByteArray &line : script.readAllStandardOutput().split('\n')) {
        if (!line.startsWith("gui-stall: ")) {
            continue;
        }
        QJsonObject figures;
        QString operation;
        for (const QByteArray &pair : line.mid(11).split(' ')) {
            const qsizetype equals = pair.indexOf('=');
            if (equals <= 0) {
                continue;
            }
            const QString key = QString::fromLatin1(pair.left(equals));
            const QString value = QString::fromLatin1(pair.mid(equals + 1));
            if (key == QLatin1String("operation")) {
                operation = value;
            } else {
                figures.insert(key, value.toDouble());
            }
        }
        if (!operation.isEmpty()) {
            m_guiStall.insert(operation, figures);
        }
    }
    if (script.exitCode() != 0) {
        m_guiStallError = QStringLiteral("GuiResponsivenessTest failed (exit %1): %2")
                              .arg(script.exitCode())
                              .arg(QString::fromLocal8Bit(script.readAllStandardError()).trimmed().right(500));
        if (!m_guiStall.isEmpty()) {
            say(m_guiStallError);
        }
    }
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

QString formatRatio(double ratio)
{
    return QString::number(ratio, 'f', 2);
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
    const auto rewindValues = [this](double (*value)(const RewindRound &)) {
        return valuesOf(m_rewind, value);
    };
    const auto plainValues = [this](double (*value)(const PlainRound &)) {
        return valuesOf(m_plain, value);
    };
    const QList<double> rewindWall = rewindValues([](const RewindRound &r) {
        return r.wallMs;
    });
    const QList<double> rewindFrozen = rewindValues([](const RewindRound &r) {
        return r.frozenMs;
    });
    const QList<double> rewindCpu = rewindValues([](const RewindRound &r) {
        return r.cpuMs;
    });
    const QList<double> rewindStore = rewindValues([](const RewindRound &r) {
        return r.storeMs;
    });
    const QList<double> plainWall = plainValues([](const PlainRound &p) {
        return p.run.wallMs;
    });
    const QList<double> plainDurableWall = plainValues([](const PlainRound &p) {
        return p.durableWallMs();
    });
    const QList<double> plainFrozen = plainValues([](const PlainRound &p) {
        return p.criu.frozenMicroseconds / 1000.0;
    });
    const QList<double> plainCpu = plainValues([](const PlainRound &p) {
        return p.run.cpuMs;
    });
    const QList<double> plainDurableCpu = plainValues([](const PlainRound &p) {
        return p.durableCpuMs();
    });
    const auto mean = [](const QList<double> &values) {
        return values.isEmpty() ? 0.0 : std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
    };
    const auto p50 = [](const QList<double> &values) {
        return percentile(values, 50);
    };
    const auto p95 = [](const QList<double> &values) {
        return percentile(values, 95);
    };
    // Nearest rank: below 20 rounds, p95 is the slowest round.
    const QString p95Label = m_rounds < 20 ? QStringLiteral("p95 (max of %1)").arg(m_rounds) : QStringLiteral("p95");

    const PlainRound &firstPlain = m_plain.first();
    QList<Row> rows{
        {QStringLiteral("snapshot wall time p50"), QStringLiteral("snapshotWallMsP50"), p50(rewindWall), p50(plainWall), formatMs},
        {QStringLiteral("  vs plain criu, images made durable"), QStringLiteral("snapshotWallMsDurableP50"), p50(rewindWall), p50(plainDurableWall), formatMs},
        {QStringLiteral("frozen time p50"), QStringLiteral("frozenMsP50"), p50(rewindFrozen), p50(plainFrozen), formatMs},
        {QStringLiteral("frozen time ") + p95Label, QStringLiteral("frozenMsP95"), p95(rewindFrozen), p95(plainFrozen), formatMs},
        {QStringLiteral("frozen time mean"), QStringLiteral("frozenMs"), mean(rewindFrozen), mean(plainFrozen), formatMs},
        {QStringLiteral("  criu freezing+frozen stat (mean)"),
         QStringLiteral("criuFreezingFrozenMs"),
         mean(rewindValues([](const RewindRound &r) {
             return (r.criu.freezingMicroseconds + r.criu.frozenMicroseconds) / 1000.0;
         })),
         mean(plainValues([](const PlainRound &p) {
             return (p.criu.freezingMicroseconds + p.criu.frozenMicroseconds) / 1000.0;
         })),
         formatMs},
        {QStringLiteral("  criu memory write stat (mean)"),
         QStringLiteral("criuMemoryWriteMs"),
         mean(rewindValues([](const RewindRound &r) {
             return r.criu.memoryWriteMicroseconds / 1000.0;
         })),
         mean(plainValues([](const PlainRound &p) {
             return p.criu.memoryWriteMicroseconds / 1000.0;
         })),
         formatMs},
        {QStringLiteral("  store (chunk, hash, zstd, fsync) p50"), QStringLiteral("storeMsP50"), p50(rewindStore), -1, formatMs},
        {QStringLiteral("cpu time per snapshot p50"), QStringLiteral("cpuMsP50"), p50(rewindCpu), p50(plainCpu), formatMs},
        {QStringLiteral("  vs plain criu, images made durable"), QStringLiteral("cpuMsDurableP50"), p50(rewindCpu), p50(plainDurableCpu), formatMs},
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
    // Where the kernel tracks changed pages, the rounds after the first dump only those (goal: frozen at most 0.2x a full dump).
    const QList<double> incrementalFrozen = rewindValues([](const RewindRound &r) {
        return r.incremental ? r.frozenMs : -1.0;
    });
    QList<double> incrementalOnly;
    std::copy_if(incrementalFrozen.begin(), incrementalFrozen.end(), std::back_inserter(incrementalOnly), [](double value) {
        return value >= 0;
    });
    if (!incrementalOnly.isEmpty()) {
        rows.append({QStringLiteral("frozen p50, incremental dumps (%1)").arg(incrementalOnly.size()),
                     QStringLiteral("incrementalFrozenMsP50"),
                     p50(incrementalOnly),
                     p50(plainFrozen),
                     formatMs});
    }
    if (m_rounds >= 2) {
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
    }
    if (m_pageChange.measured) {
        const PageChange &c = m_pageChange;
        rows.append({QStringLiteral("2nd snapshot: changed page bytes"), QStringLiteral("changedPageBytes"), double(c.changedBytes()), -1, formatMiB});
        rows.append({QStringLiteral("2nd snapshot: bytes added to the store"), QStringLiteral("addedBytes"), double(c.addedBytes), -1, formatMiB});
        rows.append({QStringLiteral("  added / changed (goal <= 1.2)"),
                     QStringLiteral("addedToChanged"),
                     c.changedPages > 0 ? double(c.addedBytes) / double(c.changedBytes()) : 0,
                     -1,
                     formatRatio});
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
    rows.append({QStringLiteral("memory a restore took (peak)"),
                 QStringLiteral("restoreMemoryTakenBytes"),
                 double(m_rewindRestore.memoryTakenBytes),
                 double(m_plainRestore.memoryTakenBytes),
                 formatMiB});
    rows.append({QStringLiteral("peak RSS of criu (dump)"), QStringLiteral("criuMaxRssKb"), double(m_rewindCriuMaxRssKb), double(m_plainCriuMaxRssKb), kib});
    // Staging on a tmpfs is memory no RSS shows: the engine records how much it took.
    qint64 stagingInMemory = 0;
    QString stagingPlace = QStringLiteral("disk");
    for (const RewindRound &r : m_rewind) {
        stagingInMemory = std::max(stagingInMemory, r.stagingInMemoryBytes);
        if (r.stagingPlace == QLatin1String("memory")) {
            stagingPlace = r.stagingPlace;
        }
    }
    const double benchRssBytes = double(m_benchMaxRssKbAfterSnapshots) * 1024;
    rows.append({QStringLiteral("peak RSS of rewind (snapshots)"), QStringLiteral("benchMaxRssBytes"), benchRssBytes, -1, formatMiB});
    rows.append({QStringLiteral("  staging in memory (max of rounds)"), QStringLiteral("stagingInMemoryBytes"), double(stagingInMemory), -1, formatMiB});
    rows.append({QStringLiteral("  peak RSS + staging in memory"), QStringLiteral("peakMemoryBytes"), benchRssBytes + double(stagingInMemory), -1, formatMiB});
    if (m_pageChange.measured) {
        rows.append(
            {QStringLiteral("  session: memory images of 1st"), QStringLiteral("sessionImageBytes"), double(m_pageChange.firstImageBytes), -1, formatMiB});
    }
    if (m_cellMemoryPeakBytes >= 0) {
        rows.append(
            {QStringLiteral("  session: cell cgroup's peak memory"), QStringLiteral("cellMemoryPeakBytes"), double(m_cellMemoryPeakBytes), -1, formatMiB});
    }
    rows.append({QStringLiteral("peak RSS of rewind (+restore)"), QStringLiteral("benchMaxRssKbRestore"), double(m_benchMaxRssKbAfterRestore), -1, kib});

    utsname system{};
    ::uname(&system);
    const QString fileSystem = fileSystemOf(m_paths.stateDirectory);
    const QString session = QStringLiteral("%1%2%3")
                                .arg(m_dirtyMb > 0 ? QStringLiteral("%1 MB of memory (%2% of pages rewritten every 100 ms)").arg(m_dirtyMb).arg(m_touchPercent)
                                                   : QStringLiteral("no changing memory"))
                                .arg(m_startedApps.isEmpty() ? QString() : QStringLiteral(", apps: ") + m_startedApps.join(QStringLiteral(", ")))
                                .arg(m_skippedApps.isEmpty() ? QString() : QStringLiteral(", skipped: ") + m_skippedApps.join(QStringLiteral(", ")));
    std::printf("\nRewind vs plain criu: %s, %d round(s); %u cores, kernel %s, state on %s (%s)\n\n",
                qPrintable(session),
                m_rounds,
                std::thread::hardware_concurrency(),
                system.release,
                qPrintable(QFileInfo(m_paths.stateDirectory).path()),
                qPrintable(fileSystem));
    std::printf("%-40s | %12s | %12s | %6s\n", "metric", "rewind", "plain criu", "ratio");
    std::printf("%s\n", QByteArray(40 + 3 + 12 + 3 + 12 + 3 + 6, '-').constData());
    QJsonObject rewindJson;
    QJsonObject criuJson;
    QJsonObject ratioJson;
    for (const Row &row : std::as_const(rows)) {
        const bool paired = row.criu >= 0;
        const QString ratio = paired && row.criu > 0 ? QString::number(row.rewind / row.criu, 'f', 2) : QStringLiteral("-");
        std::printf("%-40s | %12s | %12s | %6s\n",
                    qPrintable(row.metric),
                    qPrintable(row.format(row.rewind)),
                    paired ? qPrintable(row.format(row.criu)) : "-",
                    qPrintable(ratio));
        rewindJson.insert(row.key, row.format == formatRatio ? QJsonValue(qRound64(row.rewind * 100) / 100.0) : QJsonValue(qRound64(row.rewind)));
        if (paired) {
            criuJson.insert(row.key, qRound64(row.criu));
            if (row.criu > 0) {
                ratioJson.insert(row.key, qRound64(row.rewind / row.criu * 100) / 100.0);
            }
        }
    }
    const QString incremental = m_incremental.available ? QStringLiteral("available") : QStringLiteral("unavailable: ") + m_incremental.why;
    std::printf("\nstaging: %s\nincremental (mem_dirty_track): %s\n", qPrintable(stagingPlace), qPrintable(incremental));
    QJsonObject guiStall;
    if (m_measureGui) {
        std::printf("gui thread while the window snapshots and restores (GuiResponsivenessTest; busy asserted <= 16 ms):%s\n",
                    m_guiStall.isEmpty() ? qPrintable(QStringLiteral(" unavailable: ") + m_guiStallError) : "");
        for (auto it = m_guiStall.begin(); it != m_guiStall.end(); ++it) {
            const QJsonObject figures = it.value().toObject();
            std::printf("  %-13s busy max %6.2f ms, p99 %6.2f ms; 4 ms timer late max %6.2f ms, p99 %6.2f ms\n",
                        qPrintable(it.key()),
                        figures.value(QStringLiteral("busy_max_ms")).toDouble(),
                        figures.value(QStringLiteral("busy_p99_ms")).toDouble(),
                        figures.value(QStringLiteral("late_max_ms")).toDouble(),
                        figures.value(QStringLiteral("late_p99_ms")).toDouble());
        }
        guiStall = m_guiStall.isEmpty() ? QJsonObject{{QStringLiteral("error"), m_guiStallError}} : m_guiStall;
    }
    if (m_cellMemoryPeakBytes >= 0) {
        std::printf("cell cgroup's peak memory: %s (counts its page cache too)\n", qPrintable(m_cellMemorySource));
    }
    if (m_pageChange.measured) {
        std::printf("changed pages: %lld of the 2nd snapshot's %lld are not in the 1st (dumps %.0f ms apart, %.0f ms not frozen",
                    static_cast<long long>(m_pageChange.changedPages),
                    static_cast<long long>(m_pageChange.secondImageBytes / 4096),
                    m_pageChange.gapMs,
                    m_pageChange.runningMs);
        if (m_dirtyMb > 0) {
            std::printf("; the changing process alone: ~%.0f expected", m_pageChange.expectedDirtyMemoryPages);
        }
        std::printf(")%s\n", m_pageChange.addedFromCatalog ? "" : "; the catalog has no addedBytes: newBytes instead");
    }

    // A round's store steps, each a list over the rounds.
    QJsonObject storeSteps;
    const std::pair<const char *, std::chrono::nanoseconds CommitTimes::*> steps[] = {
        {"namingMs", &CommitTimes::naming},
        {"lookingUpMs", &CommitTimes::lookingUp},
        {"encodingMs", &CommitTimes::encoding},
        {"writingMs", &CommitTimes::writing},
        {"syncingMs", &CommitTimes::syncing},
        {"cataloguingMs", &CommitTimes::cataloguing},
    };
    for (const auto &[name, step] : steps) {
        QList<double> values;
        for (const RewindRound &r : m_rewind) {
            values.append(ms(r.storeSteps.*step));
        }
        storeSteps.insert(QLatin1String(name), jsonArray(values));
    }
    QJsonObject perRound{
        {QStringLiteral("rewindWallMs"), jsonArray(rewindWall)},
        {QStringLiteral("rewindFrozenMs"), jsonArray(rewindFrozen)},
        {QStringLiteral("rewindCpuMs"), jsonArray(rewindCpu)},
        {QStringLiteral("rewindStoreMs"), jsonArray(rewindStore)},
        {QStringLiteral("rewindStoreSteps"), storeSteps},
        {QStringLiteral("rewindStagingInMemoryBytes"), jsonArray(rewindValues([](const RewindRound &r) {
             return double(r.stagingInMemoryBytes);
         }))},
        {QStringLiteral("criuWallMs"), jsonArray(plainWall)},
        {QStringLiteral("criuDurableWallMs"), jsonArray(plainDurableWall)},
        {QStringLiteral("criuFrozenMs"), jsonArray(plainFrozen)},
        {QStringLiteral("criuCpuMs"), jsonArray(plainCpu)},
        {QStringLiteral("criuDurableCpuMs"), jsonArray(plainDurableCpu)},
    };
    QJsonObject pages;
    if (m_pageChange.measured) {
        const PageChange &c = m_pageChange;
        pages = {
            {QStringLiteral("gapMs"), qRound64(c.gapMs)},
            {QStringLiteral("runningMs"), qRound64(c.runningMs)},
            {QStringLiteral("firstImageBytes"), c.firstImageBytes},
            {QStringLiteral("secondImageBytes"), c.secondImageBytes},
            {QStringLiteral("changedPages"), c.changedPages},
            {QStringLiteral("changedPageBytes"), c.changedBytes()},
            {QStringLiteral("addedBytes"), c.addedBytes},
            {QStringLiteral("addedFrom"), c.addedFromCatalog ? QStringLiteral("addedBytes") : QStringLiteral("newBytes")},
            {QStringLiteral("addedToChanged"), c.changedPages > 0 ? qRound64(double(c.addedBytes) / double(c.changedBytes()) * 100) / 100.0 : QJsonValue()},
            {QStringLiteral("expectedDirtyMemoryChangedBytes"), qRound64(c.expectedDirtyMemoryPages * 4096)},
        };
    }
    const QJsonObject memory{
        {QStringLiteral("stagingPlace"), stagingPlace},
        {QStringLiteral("stagingInMemoryBytesMax"), stagingInMemory},
        {QStringLiteral("benchMaxRssBytes"), qRound64(benchRssBytes)},
        {QStringLiteral("peakMemoryBytes"), qRound64(benchRssBytes) + stagingInMemory},
        {QStringLiteral("sessionImageBytes"), m_pageChange.measured ? QJsonValue(m_pageChange.firstImageBytes) : QJsonValue()},
        {QStringLiteral("cellMemoryPeakBytes"), m_cellMemoryPeakBytes >= 0 ? QJsonValue(m_cellMemoryPeakBytes) : QJsonValue()},
        {QStringLiteral("cellMemoryPeakFrom"), m_cellMemorySource},
    };
    const QJsonObject summary{
        {QStringLiteral("dirtyMb"), m_dirtyMb},
        {QStringLiteral("touchPercent"), m_touchPercent},
        {QStringLiteral("apps"), QJsonArray::fromStringList(m_startedApps)},
        {QStringLiteral("appsSkipped"), QJsonArray::fromStringList(m_skippedApps)},
        {QStringLiteral("criuLogLevel"), m_criuLogLevel},
        {QStringLiteral("rounds"), m_rounds},
        {QStringLiteral("cores"), int(std::thread::hardware_concurrency())},
        {QStringLiteral("kernel"), QString::fromLocal8Bit(system.release)},
        {QStringLiteral("stateFileSystem"), fileSystem},
        {QStringLiteral("incremental"),
         QJsonObject{{QStringLiteral("feature"), QStringLiteral("mem_dirty_track")},
                     {QStringLiteral("available"), m_incremental.available},
                     {QStringLiteral("exitCode"), m_incremental.exitCode},
                     {QStringLiteral("why"), m_incremental.why}}},
        {QStringLiteral("memory"), memory},
        {QStringLiteral("guiStall"), guiStall},
        {QStringLiteral("pages"), pages},
        {QStringLiteral("perRound"), perRound},
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
                                     QStringLiteral("Memory of the session's changing process, in MB (default 512; 0: no such process)."),
                                     QStringLiteral("N"),
                                     QStringLiteral("512"));
    // 5 rounds: p50 is the median, p95 (nearest rank) the slowest round.
    const QCommandLineOption rounds(QStringLiteral("rounds"),
                                    QStringLiteral("Snapshots of each kind (default 5; p95 below 20 rounds is the slowest)."),
                                    QStringLiteral("R"),
                                    QStringLiteral("5"));
    const QCommandLineOption touchPercent(QStringLiteral("touch-percent"),
                                          QStringLiteral("Share of its pages the changing process rewrites every 100 ms (default 1)."),
                                          QStringLiteral("P"),
                                          QStringLiteral("1"));
    const QCommandLineOption criuLogLevel(QStringLiteral("criu-log-level"),
                                          QStringLiteral("Log level of the plain criu runs (default: criu's own; the engine uses 4)."),
                                          QStringLiteral("N"),
                                          QStringLiteral("0"));
    const QCommandLineOption apps(QStringLiteral("apps"),
                                  QStringLiteral("Apps to start in the session as the app matrix does, as user %1: any of %2 (an app that is not installed is "
                                                 "skipped).")
                                      .arg(appUserUid)
                                      .arg(appLaunches().keys().join(QLatin1Char(','))),
                                  QStringLiteral("APP,..."));
    const QCommandLineOption noGui(QStringLiteral("no-gui"),
                                   QStringLiteral("Do not measure the window's thread during a snapshot and a restore (tests/bench/gui-stall)."));
    parser.addOptions({dirtyMb, rounds, touchPercent, criuLogLevel, apps, noGui});
    parser.process(app);
    bool dirtyOk = false;
    bool roundsOk = false;
    const int dirtyMbValue = parser.value(dirtyMb).toInt(&dirtyOk);
    const int roundsValue = parser.value(rounds).toInt(&roundsOk);
    bool touchOk = false;
    bool levelOk = false;
    const double touchValue = parser.value(touchPercent).toDouble(&touchOk);
    const int levelValue = parser.value(criuLogLevel).toInt(&levelOk);
    const QStringList appsValue = parser.value(apps).split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString &app : appsValue) {
        if (!appLaunches().contains(app)) {
            std::fprintf(stderr,
                         "rewind-bench: --apps: unknown app %s (known: %s)\n",
                         qPrintable(app),
                         qPrintable(appLaunches().keys().join(QLatin1Char(','))));
            return 2;
        }
    }
    if (!dirtyOk || dirtyMbValue < 0 || !roundsOk || roundsValue < 1 || roundsValue > 100 || !touchOk || touchValue < 0 || touchValue > 100 || !levelOk
        || levelValue < 0 || levelValue > 4) {
        std::fprintf(stderr,
                     "rewind-bench: --dirty-mb must be 0 or more, --rounds between 1 and 100, --touch-percent between 0 and 100 "
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

    Bench bench(dirtyMbValue, touchValue, roundsValue, levelValue, appsValue, !parser.isSet(noGui));
    if (auto done = bench.run(); !done) {
        std::fprintf(stderr, "rewind-bench: %s\n", qPrintable(done.errorMessage()));
        return 1;
    }
    return 0;
}
