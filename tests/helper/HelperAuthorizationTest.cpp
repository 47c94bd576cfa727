// SPDX-License-Identifier: GPL-2.0-or-later
// Who may call which action of rewind-helper: every action × {owner of the
// session, another user, root} × {active, inactive local session}, through
// the real KAuth, a real system bus and the real polkitd. Each cell is
// checked against the generated .policy (allow_active, allow_inactive) and
// the helper's ownership rules, and the whole table is printed.
//
// Without an authentication agent, "auth" cells (auth_self/auth_admin) are
// refused; polkit's own answer (Action::status(): authentication required)
// tells them apart from "no".
#include "HelperProtocol.h"
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <KAuth/Action>
#include <KAuth/ActionReply>

#include <QFile>
#include <QTest>
#include <QXmlStreamReader>

#include <cstdio>

namespace
{
/// What the test client reports when KAuth delivered no reply in time.
constexpr int noAnswer = -1000;

enum Role {
    Owner,
    Other,
    Root
};
const char *roleName(Role role)
{
    switch (role) {
    case Owner:
        return "owner";
    case Other:
        return "other";
    case Root:
        return "root";
    }
    return "";
}

struct PolicyDefaults {
    QString any = QStringLiteral("no"); ///< no <allow_any> means no
    QString inactive;
    QString active;
};

QMap<QString, PolicyDefaults> readPolicy(const QString &path)
{
    QMap<QString, PolicyDefaults> policy;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return policy;
    }
    QXmlStreamReader xml(&file);
    QString action;
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement) {
            continue;
        }
        if (xml.name() == QLatin1String("action")) {
            action = xml.attributes().value(QLatin1String("id")).toString();
            policy[action];
        } else if (xml.name() == QLatin1String("allow_any")) {
            policy[action].any = xml.readElementText();
        } else if (xml.name() == QLatin1String("allow_inactive")) {
            policy[action].inactive = xml.readElementText();
        } else if (xml.name() == QLatin1String("allow_active")) {
            policy[action].active = xml.readElementText();
        }
    }
    return policy;
}

/// What the helper does once polkit let the caller through: "ok", or
/// "not-yours" when the session or snapshot is someone else's.
QString ownershipOutcome(const QString &action, Role role)
{
    static const QStringList anyone{HelperProtocol::status,
                                    HelperProtocol::listSessions,
                                    HelperProtocol::startSession,
                                    HelperProtocol::storage, // everyone's own
                                    HelperProtocol::verify,
                                    HelperProtocol::collectGarbage,
                                    HelperProtocol::administer};
    if (anyone.contains(action) || role == Owner) {
        return QStringLiteral("ok");
    }
    return QStringLiteral("not-yours");
}

QString expectedCell(const PolicyDefaults &defaults, const QString &action, Role role, bool active)
{
    // polkitd authorizes uid 0 for everything.
    const QString implicit = role == Root ? QStringLiteral("yes") : active ? defaults.active : defaults.inactive;
    if (implicit.startsWith(QLatin1String("auth_"))) {
        return QStringLiteral("auth");
    }
    if (implicit != QLatin1String("yes")) {
        return QStringLiteral("no");
    }
    return ownershipOutcome(action, role);
}

QString observedCell(const HelperReply &reply)
{
    if (reply.ok()) {
        return QStringLiteral("ok");
    }
    if (reply.error == KAuth::ActionReply::AuthorizationDeniedError) {
        return reply.status == KAuth::Action::AuthRequiredStatus ? QStringLiteral("auth")
            : reply.status == KAuth::Action::DeniedStatus        ? QStringLiteral("no")
                                                                 : QStringLiteral("denied(status %1)").arg(reply.status);
    }
    if (reply.error == HelperProtocol::NotYours) {
        return QStringLiteral("not-yours");
    }
    return QStringLiteral("error %1: %2").arg(reply.error).arg(reply.errorText.left(80));
}

} // namespace

class HelperAuthorizationTest : public QObject
{
    Q_OBJECT

private:
    QMap<QString, PolicyDefaults> m_policy;
    std::unique_ptr<EmulatedLogin> m_ownerLogin;
    std::unique_ptr<EmulatedLogin> m_otherLogin;
    std::unique_ptr<HelperClient> m_owner;
    std::unique_ptr<HelperClient> m_other;
    std::unique_ptr<HelperClient> m_root;
    QStringList m_startedSessions;

    HelperClient &client(Role role)
    {
        return role == Owner ? *m_owner : role == Other ? *m_other : *m_root;
    }

    /// A running session of the owner and a snapshot of it.
    std::pair<QString, qint64> ownerSessionWithSnapshot()
    {
        const HelperReply started = m_owner->call(HelperRequest::of(HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}}));
        if (!started.ok()) {
            qWarning("startsession: %s", qPrintable(started.errorText));
            return {};
        }
        const QString session = started.json().toObject().value(QStringLiteral("id")).toString();
        m_startedSessions.append(session);
        if (!waitUntilCounting(pid_t(started.json().toObject().value(QStringLiteral("pid")).toInteger()))) {
            qWarning("session %s does not count", qPrintable(session));
            return {};
        }
        return {session, snapshotOf(*m_owner, session)};
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        m_policy = readPolicy(HelperTestEnvironment::policyFile());
        QVERIFY2(!m_policy.isEmpty(), qPrintable(HelperTestEnvironment::policyFile()));
        m_ownerLogin = std::make_unique<EmulatedLogin>(TestUser::owner(), QStringLiteral("owner1"), true);
        m_otherLogin = std::make_unique<EmulatedLogin>(TestUser::other(), QStringLiteral("other1"), true);
        QVERIFY(m_ownerLogin->valid() && m_otherLogin->valid());
        m_owner = std::make_unique<HelperClient>(TestUser::owner(), m_ownerLogin.get());
        m_other = std::make_unique<HelperClient>(TestUser::other(), m_otherLogin.get());
        m_root = std::make_unique<HelperClient>(TestUser::root(), nullptr);
        QVERIFY2(m_owner->isRunning() && m_other->isRunning() && m_root->isRunning(), qPrintable(m_owner->startError()));
    }

    void cleanupTestCase()
    {
        if (!m_root) {
            return;
        }
        // Stop every session the test started, whoever owns it.
        const QJsonArray sessions = listOf(*m_root, HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsessions")}});
        for (const QJsonValue &session : sessions) {
            (void)m_root->call(HelperRequest::of(HelperProtocol::administer,
                                                 {{HelperProtocol::operationKey, QStringLiteral("stop")},
                                                  {HelperProtocol::sessionKey, session.toObject().value(QStringLiteral("id")).toString()}}));
        }
    }

    void policyIsWhatTheIssueAsks()
    {
        // Every action the helper has is in the policy, none remote, none prompting when inactive.
        const QStringList actions = HelperProtocol::allActions();
        QCOMPARE(m_policy.size(), actions.size());
        for (const QString &action : actions) {
            const PolicyDefaults defaults = m_policy.value(HelperProtocol::actionName(action));
            QCOMPARE(defaults.any, QStringLiteral("no"));
            QCOMPARE(defaults.inactive, QStringLiteral("no"));
        }
        const auto active = [this](const QString &action) {
            return m_policy.value(HelperProtocol::actionName(action)).active;
        };
        for (const QString &action : {HelperProtocol::listSessions,
                                      HelperProtocol::listSnapshots,
                                      HelperProtocol::startSession,
                                      HelperProtocol::stopSession,
                                      HelperProtocol::scan,
                                      HelperProtocol::snapshot,
                                      HelperProtocol::setLabel,
                                      HelperProtocol::setPinned,
                                      HelperProtocol::storage,
                                      HelperProtocol::thumbnail,
                                      HelperProtocol::liveView,
                                      HelperProtocol::autosave}) {
            QCOMPARE(active(action), QStringLiteral("yes"));
        }
        QCOMPARE(active(HelperProtocol::restore), QStringLiteral("auth_self_keep"));
        QCOMPARE(active(HelperProtocol::remove), QStringLiteral("auth_self_keep"));
        QCOMPARE(active(HelperProtocol::verify), QStringLiteral("auth_admin_keep"));
        QCOMPARE(active(HelperProtocol::collectGarbage), QStringLiteral("auth_admin_keep"));
        QCOMPARE(active(HelperProtocol::administer), QStringLiteral("auth_admin_keep"));
    }

    void matrix()
    {
        QStringList rows;
        QStringList mismatches;
        QMap<QString, QStringList> cells; // action → cells in column order

        for (const bool active : {true, false}) {
            m_ownerLogin->setActive(true);
            m_otherLogin->setActive(true);
            const auto [session, snapshot] = ownerSessionWithSnapshot();
            QVERIFY(!session.isEmpty() && snapshot > 0);
            m_ownerLogin->setActive(active);
            m_otherLogin->setActive(active);

            const QList<std::pair<QString, QVariantMap>> requests{
                {HelperProtocol::status, {}},
                {HelperProtocol::listSessions, {}},
                {HelperProtocol::listSnapshots, {{HelperProtocol::sessionKey, session}}},
                {HelperProtocol::startSession, {{HelperProtocol::specKey, QStringLiteral("counting")}}},
                {HelperProtocol::scan, {{HelperProtocol::sessionKey, session}}},
                {HelperProtocol::snapshot, {{HelperProtocol::sessionKey, session}, {HelperProtocol::labelKey, QStringLiteral("matrix")}}},
                {HelperProtocol::restore, {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::modeKey, HelperProtocol::asNewMode}}},
                {HelperProtocol::remove, {{HelperProtocol::snapshotKey, qlonglong(snapshot)}}},
                {HelperProtocol::setLabel, {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::labelKey, QStringLiteral("relabelled")}}},
                {HelperProtocol::setPinned, {{HelperProtocol::snapshotKey, qlonglong(snapshot)}, {HelperProtocol::pinnedKey, true}}},
                {HelperProtocol::storage, {}},
                {HelperProtocol::thumbnail, {{HelperProtocol::snapshotKey, qlonglong(snapshot)}}},
                {HelperProtocol::liveView, {{HelperProtocol::sessionKey, session}}},
                {HelperProtocol::autosave, {{HelperProtocol::sessionKey, session}}},
                {HelperProtocol::verify, {}},
                {HelperProtocol::collectGarbage, {}},
                {HelperProtocol::administer, {{HelperProtocol::operationKey, QStringLiteral("listsnapshots")}}},
                // Last: the owner's stop ends the session the rows above use.
                {HelperProtocol::stopSession, {{HelperProtocol::sessionKey, session}}},
            };
            for (const auto &[action, arguments] : requests) {
                // Owner last, so that what the others try happens while the session still runs.
                for (const Role role : {Other, Root, Owner}) {
                    HelperRequest request = HelperRequest::of(action, arguments);
                    request.withStatus = true;
                    request.timeoutMs = 30000;
                    const QString expected = expectedCell(m_policy.value(HelperProtocol::actionName(action)), action, role, active);
                    HelperReply reply = client(role).call(request);
                    // A call that reaches the helper just as it exits after being idle
                    // (KAuth's helpers quit after a few idle seconds) gets no answer at
                    // all. Asking again is safe where nothing is expected to happen.
                    if (reply.error == noAnswer && expected != QLatin1String("ok")) {
                        qInfo("%s as %s got no answer; asking again", qPrintable(action), roleName(role));
                        reply = client(role).call(request);
                    }
                    const QString observed = observedCell(reply);
                    if (observed != expected) {
                        mismatches.append(QStringLiteral("%1 as %2 (%3): expected %4, got %5")
                                              .arg(action, QLatin1String(roleName(role)), active ? QStringLiteral("active") : QStringLiteral("inactive"))
                                              .arg(expected, observed));
                    }
                    if (action == HelperProtocol::startSession && reply.ok()) {
                        m_startedSessions.append(reply.json().toObject().value(QStringLiteral("id")).toString());
                    }
                    if (action == HelperProtocol::listSessions && reply.ok()) {
                        // Lists are filtered: only the owner sees the owner's session.
                        bool listed = false;
                        const QJsonArray sessions = reply.json().toArray();
                        for (const QJsonValue &value : sessions) {
                            listed = listed || value.toObject().value(QStringLiteral("id")).toString() == session;
                        }
                        if (listed != (role == Owner)) {
                            mismatches.append(QStringLiteral("listsessions as %1 %2 the owner's session")
                                                  .arg(QLatin1String(roleName(role)), listed ? QStringLiteral("shows") : QStringLiteral("hides")));
                        }
                    }
                    QString &cell = cells[action].emplace_back();
                    cell = QStringLiteral("%1:%2").arg(int(role) + (active ? 0 : 3)).arg(observed == expected ? observed : observed + QStringLiteral(" (!)"));
                }
            }
        }

        // The table: one row an action, columns owner/other/root when active, then inactive.
        std::printf("\n%-15s | %-10s %-10s %-10s | %-10s %-10s %-10s\n", "action", "owner", "other", "root", "owner", "other", "root");
        std::printf("%-15s | %-32s | %-32s\n", "", "active local session", "inactive local session");
        std::printf("%s\n", QByteArray(15 + 3 + 32 + 3 + 32, '-').constData());
        for (auto it = cells.cbegin(); it != cells.cend(); ++it) {
            QStringList columns(6);
            for (const QString &cell : it.value()) {
                const auto colon = cell.indexOf(QLatin1Char(':'));
                columns[cell.left(colon).toInt()] = cell.mid(colon + 1);
            }
            std::printf("%-15s | %-10s %-10s %-10s | %-10s %-10s %-10s\n",
                        qPrintable(it.key()),
                        qPrintable(columns[0]),
                        qPrintable(columns[1]),
                        qPrintable(columns[2]),
                        qPrintable(columns[3]),
                        qPrintable(columns[4]),
                        qPrintable(columns[5]));
        }
        std::printf(
            "ok: the helper ran it; not-yours: refused, the session or snapshot is another user's;\n"
            "auth: polkit wants authentication (refused: no agent); no: polkit refuses\n\n");
        std::fflush(stdout);
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join(QLatin1Char('\n'))));
    }
};

REWIND_TEST_GUILESS_MAIN(HelperAuthorizationTest)
#include "HelperAuthorizationTest.moc"
