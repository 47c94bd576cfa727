// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QJsonDocument>
#include <QJsonObject>
#include <QLatin1StringView>
#include <QLocale>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

/// What rewind-helper's actions are called and take; shared by the helper,
/// its clients (rewindctl, the GUI) and the tests. Arguments are ids and
/// enumerated values only, never paths or commands.
namespace HelperProtocol
{
inline const QString helperId = QStringLiteral("org.rewind.helper");

/// The full KAuth action name of a short one ("snapshot" → "org.rewind.helper.snapshot").
inline QString actionName(const QString &action)
{
    return helperId + QLatin1Char('.') + action;
}

// Actions.
inline const QString listSessions = QStringLiteral("listsessions");
inline const QString listSnapshots = QStringLiteral("listsnapshots");
inline const QString startSession = QStringLiteral("startsession");
inline const QString stopSession = QStringLiteral("stopsession");
inline const QString scan = QStringLiteral("scan");
inline const QString snapshot = QStringLiteral("snapshot");
inline const QString restore = QStringLiteral("restore");
/// Not "delete": KAuth calls the helper's slot of the action's name, and that is a C++ keyword.
inline const QString remove = QStringLiteral("deletesnapshot");
inline const QString setLabel = QStringLiteral("setlabel");
inline const QString setPinned = QStringLiteral("setpinned");
/// The picture of the screen a snapshot was taken of, small: {"id", "file"},
/// a PNG only the caller can read, in handOffDirectory(caller's uid).
inline const QString thumbnail = QStringLiteral("thumbnail");
/// Lets the caller reach a running session's display without root:
/// {"session", "socket"}, a unix socket only the caller can connect to, in
/// handOffDirectory(caller's uid), forwarding to the display's VNC server.
/// It goes away after a minute without a connection, when the session ends,
/// and before each snapshot of the session (ask again afterwards).
inline const QString liveView = QStringLiteral("liveview");
/// The caller's snapshots whose screen showed all the words of "query", best
/// match first: [{"snapshot", "session", "rank", "snippet"}] (ScreenTextSearch).
/// Screens not read yet are read first, with tesseract running as the caller.
inline const QString search = QStringLiteral("search");
/// A scheduled snapshot if one is due, then retention: {"taken" (snapshot or null), "pruned", "nextDue"}.
/// Takes the caller's schedule and retention as bounded numbers (intervalKey,
/// keepLastKey, keepHourlyKey, keepDailyKey); the helper's defaults where absent.
inline const QString autosave = QStringLiteral("autosave");
inline const QString verify = QStringLiteral("verify");
inline const QString collectGarbage = QStringLiteral("gc");
inline const QString administer = QStringLiteral("administer");
/// Writes one of the caller's snapshots as a stream (SnapshotStream) to the
/// file descriptor the caller passes: {"snapshot", "bytes", "chunks"}.
inline const QString exportSnapshot = QStringLiteral("exportsnapshot");
/// Reads a stream from the file descriptor the caller passes and stores it
/// as a new snapshot of the caller's, marked imported: the snapshot.
inline const QString importSnapshot = QStringLiteral("importsnapshot");
/// What the caller's snapshots take in the store; takes no arguments:
/// {"sessions": [{"session", "bytes", "snapshots"}], "totalBytes",
/// "totalSnapshots", "quotaBytes" (null without a quota)}. A session's bytes
/// are the stored (compressed) bytes of the distinct chunks its snapshots
/// reference; totalBytes those of all the caller's chunks, which the quota
/// counts (chunks two sessions share count once there).
inline const QString storage = QStringLiteral("storage");
/// The installed session specs: [{"name", "title", "description"}], title and
/// description in the caller's language where the spec has them; no arguments.
inline const QString listSpecs = QStringLiteral("listspecs");
/// {session}: restores the newest snapshot of a session of the caller's whose
/// cell is gone (crashed, stopped after a reboot, or hibernated) in place,
/// under the same session id; answers the session as listsessions shows it.
/// Waking a hibernated session is this action too.
inline const QString recover = QStringLiteral("recover");
/// {session}: a snapshot (trigger "hibernate"), then the session stops; its
/// state reads "hibernated" until recover wakes it. Answers the snapshot.
inline const QString hibernate = QStringLiteral("hibernate");
/// Reports which CRIU the helper uses; takes no arguments.
inline const QString status = QStringLiteral("status");

/// Where the helper leaves what only one user may read (replies are
/// broadcast on the system bus): runtimeDirectory()/<uid>, the user's, 0700.
inline QString runtimeDirectory()
{
    const QString overridden = qEnvironmentVariable("REWIND_RUNTIME_DIR");
    return overridden.isEmpty() ? QStringLiteral("/run/rewind") : overridden;
}
inline QString handOffDirectory(uint uid)
{
    return runtimeDirectory() + QLatin1Char('/') + QString::number(uid);
}
/// The name of a session's live-view socket in handOffDirectory().
inline QString liveViewSocketName(const QString &sessionId)
{
    return QStringLiteral("live-%1.vnc").arg(sessionId);
}

/// Every action of the helper, as its policy lists them.
inline QStringList allActions()
{
    // One a line, for readable diffs (clang-format packs lists of 20 and more).
    // clang-format off
    return {status,
            listSessions,
            listSnapshots,
            startSession,
            stopSession,
            scan,
            snapshot,
            restore,
            remove,
            setLabel,
            setPinned,
            storage,
            thumbnail,
            liveView,
            search,
            autosave,
            verify,
            collectGarbage,
            exportSnapshot,
            importSnapshot,
            listSpecs,
            recover,
            hibernate,
            administer};
    // clang-format on
}

// Argument keys and their types.
inline const QString sessionKey = QStringLiteral("session"); ///< QString, SessionRecord::isValidId
inline const QString snapshotKey = QStringLiteral("snapshot"); ///< qlonglong > 0
inline const QString specKey = QStringLiteral("spec"); ///< QString, SessionSpec::isValidName
inline const QString modeKey = QStringLiteral("mode"); ///< QString: "in-place" or "as-new"
inline const QString labelKey = QStringLiteral("label"); ///< QString, at most maximumLabelLength, no control characters
inline const QString pinnedKey = QStringLiteral("pinned"); ///< bool
inline const QString operationKey = QStringLiteral("operation"); ///< QString, administer only: one of the administered actions
inline const QString queryKey = QStringLiteral("query"); ///< QString: words, at most maximumQueryLength, no control characters, not blank
inline const QString streamKey = QStringLiteral("stream"); ///< QDBusUnixFileDescriptor: where an export goes or an import comes from
/// autosave's settings: whole numbers (int or qlonglong) within their Bounds.
inline const QString intervalKey = QStringLiteral("interval"); ///< minutes from the newest snapshot to the next automatic one
inline const QString keepLastKey = QStringLiteral("keepLast"); ///< the newest scheduled snapshots kept, whatever their age
inline const QString keepHourlyKey = QStringLiteral("keepHourly"); ///< then the newest of each of the last N hours
inline const QString keepDailyKey = QStringLiteral("keepDaily"); ///< then the newest of each of the last N days

/// What a bounded number of the protocol may be, and what it is when absent.
struct Bounds {
    int minimum;
    int maximum;
    int standard;
    constexpr bool contains(qint64 value) const
    {
        return value >= minimum && value <= maximum;
    }
};
/// A minute at least, so that no client makes the helper snapshot a session
/// back to back; a day at most.
constexpr Bounds intervalMinutes{1, 24 * 60, 15};
/// At least the newest automatic snapshot stays.
constexpr Bounds keepLast{1, 100, 6};
constexpr Bounds keepHourly{0, 7 * 24, 24};
constexpr Bounds keepDaily{0, 366, 14};

/// Optional with every action: the caller's language ("de", "pt_BR"), for the messages of the reply.
inline const QString languageKey = QStringLiteral("language");

/// Whether name is a language as languageKey takes it: "de", "pt_BR".
inline bool isLanguageName(const QString &name)
{
    static const QRegularExpression pattern(QStringLiteral("\\A[a-z]{2,3}(_[A-Z]{2})?\\z"));
    return pattern.matchView(name).hasMatch();
}

/// What a client sends as its language: its locale's ("de_DE"), or just the
/// language where the locale has more ("es" for es_419); empty in the C locale.
inline QString clientLanguage()
{
    const QString name = QLocale::system().name();
    if (isLanguageName(name)) {
        return name;
    }
    const QString language = name.section(QLatin1Char('_'), 0, 0);
    return isLanguageName(language) ? language : QString();
}

inline const QString inPlaceMode = QStringLiteral("in-place");
inline const QString asNewMode = QStringLiteral("as-new");

constexpr int maximumLabelLength = 200;
constexpr int maximumQueryLength = 200;

/// KAuth broadcasts every reply on the system bus, so replies carry no
/// answer of their own: the helper writes the answer to a file of a fresh,
/// unpredictable name in handOffDirectory(caller's uid), which only the caller
/// can read, and the reply names that file. On success the reply's data holds
/// the name under this key and the file the answer as compact JSON in the
/// shapes of `rewindctl --json`. KAuth hands a failed reply's error code and
/// description to the client, not its data: there the description is a fixed
/// message that names the file, and the file holds the whole message.
/// PrivateReply reads and removes it as the caller.
inline const QString replyKey = QStringLiteral("reply");

/// A failure's file holds a JSON object: {"message": what happened and what
/// to do, "details": what the tools underneath said, such as CRIU's log
/// lines, possibly empty}. Helpers before it wrote the message as plain
/// text, which clients still read as a message without details.
inline const QString failureMessageKey = QStringLiteral("message");
inline const QString failureDetailsKey = QStringLiteral("details");
inline QByteArray failureAnswer(const QString &message, const QString &details)
{
    return QJsonDocument(QJsonObject{{failureMessageKey, message}, {failureDetailsKey, details}}).toJson(QJsonDocument::Compact);
}

/// The names of reply files: "reply-" and 32 lowercase hex digits (128 random bits).
inline const QString replyFilePrefix = QStringLiteral("reply-");
inline const QRegularExpression &replyFilePattern()
{
    static const QRegularExpression pattern(QStringLiteral("reply-[0-9a-f]{32}"));
    return pattern;
}
inline bool isReplyFileName(const QString &name)
{
    static const QRegularExpression exact(QRegularExpression::anchoredPattern(replyFilePattern().pattern()));
    return exact.matchView(name).hasMatch();
}
/// The largest answer a client reads (a list of many snapshots is well below).
constexpr qint64 maximumReplySize = 64 * 1024 * 1024;
/// Progress data (HelperSupport::progressStep(QVariantMap)): the stage's name.
inline const QString stageKey = QStringLiteral("stage");

/// Error codes of failed helper replies (ExecuteJob::error()), beside KAuth's own.
enum ErrorCode {
    InvalidArguments = -1, ///< ActionReply::HelperErrorReply(): the arguments were refused, nothing was done
    NotYours = 1001, ///< the session or snapshot belongs to another user
    OperationFailed = 1002, ///< the operation ran and failed; the message says why
};

/// A generous client-side timeout: a snapshot of a big session or a restore
/// with a before-restore snapshot takes minutes, KAuth's default is 25 s.
constexpr int actionTimeoutMs = 30 * 60 * 1000;
} // namespace HelperProtocol
