// SPDX-License-Identifier: GPL-2.0-or-later
// Malformed arguments for every action of rewind-helper, through the real
// KAuth and polkitd, from root and from a user in an active session: random
// keys, wrong types, huge strings, negative and huge ids, paths, nested
// maps. Each is answered with an error, the helper keeps answering, and the
// sessions and the snapshot catalog stay exactly as they were.
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <KAuth/ActionReply>

#include <QDateTime>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>
#include <QUrl>

#include <climits>

namespace
{

constexpr int requestCount = 1500;

const QStringList knownKeys{HelperProtocol::sessionKey,
                            HelperProtocol::snapshotKey,
                            HelperProtocol::specKey,
                            HelperProtocol::modeKey,
                            HelperProtocol::labelKey,
                            HelperProtocol::pinnedKey,
                            HelperProtocol::operationKey,
                            HelperProtocol::languageKey}; // every action takes it, so only defective values are sent

/// The keys each action takes (administer: operation plus those of the operation).
QStringList keysOf(const QString &action)
{
    if (action == HelperProtocol::listSnapshots || action == HelperProtocol::stopSession || action == HelperProtocol::scan) {
        return {HelperProtocol::sessionKey};
    }
    if (action == HelperProtocol::startSession) {
        return {HelperProtocol::specKey};
    }
    if (action == HelperProtocol::snapshot) {
        return {HelperProtocol::sessionKey, HelperProtocol::labelKey};
    }
    if (action == HelperProtocol::restore) {
        return {HelperProtocol::snapshotKey, HelperProtocol::modeKey};
    }
    if (action == HelperProtocol::remove) {
        return {HelperProtocol::snapshotKey};
    }
    if (action == HelperProtocol::setLabel) {
        return {HelperProtocol::snapshotKey, HelperProtocol::labelKey};
    }
    if (action == HelperProtocol::setPinned) {
        return {HelperProtocol::snapshotKey, HelperProtocol::pinnedKey};
    }
    if (action == HelperProtocol::thumbnail) {
        return {HelperProtocol::snapshotKey};
    }
    if (action == HelperProtocol::autosave || action == HelperProtocol::liveView || action == HelperProtocol::recover || action == HelperProtocol::hibernate) {
        return {HelperProtocol::sessionKey};
    }
    if (action == HelperProtocol::administer) {
        return {HelperProtocol::operationKey, HelperProtocol::sessionKey, HelperProtocol::snapshotKey, HelperProtocol::labelKey, HelperProtocol::pinnedKey};
    }
    return {};
}

class Fuzzer
{
public:
    explicit Fuzzer(quint32 seed)
        : m_random(seed)
    {
    }

    int below(int bound)
    {
        return int(m_random.bounded(bound));
    }

    QString hostileText()
    {
        static const QStringList samples{
            QStringLiteral("../../etc/passwd"),
            QStringLiteral("/etc/shadow"),
            QStringLiteral(".."),
            QStringLiteral("a/b"),
            QStringLiteral("demo; rm -rf /"),
            QStringLiteral("$(id)"),
            QStringLiteral("`id`"),
            QStringLiteral("UPPER-case"),
            QStringLiteral("-leading-dash"),
            QStringLiteral("nul\u0000byte"),
            QStringLiteral("new\nline"),
            QStringLiteral("\u202Egnp.exe"),
            QStringLiteral("\u0441ession"), // Cyrillic es
            QStringLiteral(" demo"),
            QStringLiteral("demo "),
            QStringLiteral("/proc/self/root/etc/passwd"),
            QStringLiteral("%2e%2e%2f"),
            QString(),
        };
        switch (below(4)) {
        case 0:
            return samples.at(below(int(samples.size())));
        case 1:
            return QString(below(2) ? 49 : 201 + below(100), QChar(u'a' + below(26)));
        case 2:
            return QString(100000 + below(900000), QChar(u'x')); // huge
        default: {
            QString text;
            const int length = 1 + below(80);
            for (int i = 0; i < length; ++i) {
                text.append(QChar(char16_t(1 + below(0xD7FF))));
            }
            return text;
        }
        }
    }

    QVariant nested(int depth)
    {
        if (depth == 0) {
            return QVariant(hostileText());
        }
        if (below(2)) {
            return QVariantMap{{QStringLiteral("session"), nested(depth - 1)}, {hostileText().left(40), nested(depth - 1)}};
        }
        return QVariantList{nested(depth - 1), QVariant(qlonglong(-1)), QVariant(true)};
    }

    /// A value of a type or format no key accepts, or an id that cannot exist.
    QVariant hostileValue()
    {
        switch (below(16)) {
        case 0:
            return QVariant(below(1000) - 500); // int, not qlonglong
        case 1:
            return QVariant(qlonglong(-1 - below(1000)));
        case 2:
            return QVariant(qlonglong(LLONG_MIN));
        case 3:
            return QVariant(qulonglong(ULLONG_MAX));
        case 4:
            return QVariant(3.5);
        case 5:
            return QVariant(QByteArray("../../etc/passwd"));
        case 6:
            return QVariant(QStringList{QStringLiteral("demo"), QStringLiteral("../x")});
        case 7:
            return nested(1 + below(6));
        case 8:
            return QVariant(QDateTime::currentDateTimeUtc());
        case 9:
            return QVariant(QUrl(QStringLiteral("file:///etc/passwd")));
        case 10:
            return QVariant();
        case 11:
            return QVariant(qlonglong(0));
        case 12:
            return QVariant(QStringLiteral("true"));
        default:
            return QVariant(hostileText());
        }
    }

    /// A plausible value for a key: sometimes valid, to get past the first checks.
    QVariant plausibleValue(const QString &key)
    {
        if (key == HelperProtocol::snapshotKey) {
            return QVariant(qlonglong(LLONG_MAX - below(1000))); // well-formed, never exists
        }
        if (key == HelperProtocol::pinnedKey) {
            return QVariant(bool(below(2)));
        }
        if (key == HelperProtocol::modeKey) {
            return below(2) ? HelperProtocol::asNewMode : HelperProtocol::inPlaceMode;
        }
        if (key == HelperProtocol::operationKey) {
            static const QStringList operations{QStringLiteral("listsessions"), QStringLiteral("snapshot"), QStringLiteral("delete"), QStringLiteral("stop")};
            return operations.at(below(int(operations.size())));
        }
        if (key == HelperProtocol::specKey) {
            return QStringLiteral("nosuchspec");
        }
        if (key == HelperProtocol::labelKey) {
            return QStringLiteral("fuzz");
        }
        return QStringLiteral("nosuch-session-%1").arg(below(1000));
    }

    /// Arguments for ACTION with at least one defect that makes them invalid.
    QVariantMap malformed(const QString &action)
    {
        QVariantMap map;
        const QStringList keys = keysOf(action);
        for (const QString &key : keys) {
            if (below(3)) {
                map.insert(key, plausibleValue(key));
            }
        }
        // The defect: a key the action does not take, or a value no key accepts.
        const int defect = keys.isEmpty() ? 0 : below(2);
        if (defect == 0) {
            QString key;
            do {
                const int choice = below(3);
                key = choice == 0 ? knownKeys.at(below(int(knownKeys.size()))) : choice == 1 ? hostileText().left(200) : QStringLiteral("session.extra");
            } while (keys.contains(key));
            map.insert(key, below(2) ? hostileValue() : plausibleValue(key));
        } else {
            QString key = keys.at(below(int(keys.size())));
            QVariant value = hostileValue();
            // A huge positive id is well-formed; keep it only with another defect.
            if (key == HelperProtocol::snapshotKey && value.metaType().id() == QMetaType::LongLong && value.toLongLong() > 0) {
                value = QVariant(qlonglong(-value.toLongLong()));
            }
            // 'true' as text is right for no key but pinned, which wants a bool.
            map.insert(key, value);
            if (isAcceptable(key, value)) {
                map.insert(QStringLiteral("unknown"), QVariant(1));
            }
        }
        return map;
    }

private:
    /// Whether VALUE happens to be fine for KEY (then the map gets another defect).
    static bool isAcceptable(const QString &key, const QVariant &value)
    {
        if (value.metaType().id() != QMetaType::QString) {
            return key == HelperProtocol::pinnedKey && value.metaType().id() == QMetaType::Bool;
        }
        const QString text = value.toString();
        if (key == HelperProtocol::labelKey) {
            return text.size() <= HelperProtocol::maximumLabelLength; // may be fine; be safe
        }
        if (key == HelperProtocol::operationKey) {
            return true; // an unknown operation is refused, but do not count on the text
        }
        // SessionSpec::isValidName's set, which includes every session id.
        static const QRegularExpression id(QStringLiteral("^[a-z0-9-]{1,64}$"));
        return id.match(text).hasMatch();
    }

    QRandomGenerator m_random;
};

} // namespace

class HelperFuzzTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<EmulatedLogin> m_login;
    std::unique_ptr<HelperClient> m_user;
    std::unique_ptr<HelperClient> m_root;
    QString m_session;

    QJsonArray administered(const QString &operation)
    {
        return listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, operation}});
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_login = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("fuzz1"), true);
        QVERIFY(m_login->valid());
        m_user = std::make_unique<HelperClient>(TestUser::owner(), m_login.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY2(m_user->isRunning() && m_root->isRunning(), qPrintable(m_user->startError()));

        // Something to lose: a session of the user's with a snapshot.
        const HelperReply started = m_user->call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}}));
        QVERIFY2(started.ok(), qPrintable(started.errorText));
        m_session = started.json().toObject().value(QStringLiteral("id")).toString();
        QVERIFY(waitUntilCounting(pid_t(started.json().toObject().value(QStringLiteral("pid")).toInteger())));
        QVERIFY(snapshotOf(*m_user, m_session) > 0);
    }

    void cleanupTestCase()
    {
        if (m_root && !m_session.isEmpty()) {
            (void)m_root->call(HelperRequest::of(HelperProtocol::administer,
                                                 {{HelperProtocol::operationKey, QStringLiteral("stop")}, {HelperProtocol::sessionKey, m_session}}));
        }
    }

    void malformedArgumentsChangeNothing()
    {
        const quint32 seed =
            qEnvironmentVariableIsSet("REWIND_FUZZ_SEED") ? quint32(qEnvironmentVariableIntValue("REWIND_FUZZ_SEED")) : QRandomGenerator::system()->generate();
        qInfo("seed %u (REWIND_FUZZ_SEED=%u repeats this run)", seed, seed);
        Fuzzer fuzzer(seed);
        const QStringList actions = HelperProtocol::allActions();
        // Actions polkit asks an active user to authenticate for: refused before the helper looks.
        const QStringList needAuthentication{HelperProtocol::restore,
                                             HelperProtocol::recover,
                                             HelperProtocol::remove,
                                             HelperProtocol::verify,
                                             HelperProtocol::collectGarbage,
                                             HelperProtocol::administer};

        const QJsonArray sessionsBefore = administered(QStringLiteral("listsessions"));
        const QJsonArray snapshotsBefore = administered(QStringLiteral("listsnapshots"));
        QCOMPARE(sessionsBefore.size(), 1);
        QCOMPARE(snapshotsBefore.size(), 1);

        int refusedByHelper = 0;
        int refusedByPolkit = 0;
        QStringList failures;
        for (int i = 0; i < requestCount; ++i) {
            const QString action = actions.at(fuzzer.below(int(actions.size())));
            const bool asRoot = i % 3 != 0; // root passes polkit everywhere, so its maps all reach the helper
            HelperRequest request = HelperRequest::of(action, fuzzer.malformed(action));
            request.timeoutMs = 60000;
            const HelperReply reply = (asRoot ? m_root : m_user)->call(request);
            if (reply.error == HelperProtocol::InvalidArguments && !reply.errorText.isEmpty() && reply.errorText.size() < 400) {
                ++refusedByHelper;
            } else if (!asRoot && needAuthentication.contains(action) && reply.error == KAuth::ActionReply::AuthorizationDeniedError) {
                ++refusedByPolkit;
            } else {
                failures.append(QStringLiteral("#%1 %2 as %3 %4: error %5 %6")
                                    .arg(i)
                                    .arg(action, asRoot ? QStringLiteral("root") : QStringLiteral("user"))
                                    .arg(QString::fromUtf8(QDebug::toString(request.arguments.keys()).toUtf8()).left(200))
                                    .arg(reply.error)
                                    .arg(reply.errorText.left(200)));
            }
        }
        qInfo("%d requests: %d refused by the helper's argument checks, %d by polkit first", requestCount, refusedByHelper, refusedByPolkit);
        QVERIFY2(failures.isEmpty(), qPrintable(failures.mid(0, 20).join(QLatin1Char('\n'))));
        QVERIFY(refusedByHelper >= 1000);

        // Still answering, and nothing changed.
        const HelperReply list = m_user->call(HelperRequest::of(HelperProtocol::listSessions));
        QVERIFY2(list.ok(), qPrintable(list.errorText));
        QCOMPARE(list.json().toArray().size(), 1);
        QCOMPARE(administered(QStringLiteral("listsessions")), sessionsBefore);
        QCOMPARE(administered(QStringLiteral("listsnapshots")), snapshotsBefore);
    }
};

REWIND_TEST_GUILESS_MAIN(HelperFuzzTest)
#include "HelperFuzzTest.moc"
