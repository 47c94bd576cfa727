// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-helper-client: calls rewind-helper's actions through KAuth for the
// helper tests, which run it as an unprivileged user inside an emulated
// login session. Reads framed requests from stdin, answers each on stdout:
//
//   request:  QString action, QVariantMap arguments, qint32 timeoutMs,
//             bool withStatus, QString cancelAtStage, bool leaveAnswer
//   reply:    qint32 status (KAuth::Action::AuthStatus, -1 if not asked),
//             qint32 error, QString errorText (the whole message and its
//             details, as rewindctl prints them), QVariantMap data and
//             QString broadcastErrorText (the reply as every client of the
//             bus sees it), QList<qint32> percents, QStringList stages,
//             QByteArray answer (the JSON handed over to this user),
//             QString errorMessage, QString errorDetails (the failure's
//             message and details apart, as the GUI shows them)
//
// The answer is taken from the user's hand-off directory as rewindctl does
// (PrivateReply); with leaveAnswer it is left there.
//
// Each message is a quint32 length and that many bytes of QDataStream.
//
// rewind-helper-client --listen: receives the helper's signals on the system
// bus as any local client does (KAuth's remoteSignal: replies, progress and
// log messages) and writes each as qint32 type, QString action, QByteArray
// blob; a first message of type -1 says that it listens.
#include "HelperProtocol.h"
#include "PrivateReply.h"

#include <KAuth/Action>
#include <KAuth/ExecuteJob>

#include <QCoreApplication>
#include <QDBusConnection>
#include <QDBusMessage>
#include <QDataStream>
#include <QEventLoop>
#include <QFile>
#include <QTimer>

#include <unistd.h>

namespace
{

bool readFully(int fd, char *data, size_t size)
{
    while (size > 0) {
        const ssize_t got = ::read(fd, data, size);
        if (got <= 0) {
            return false;
        }
        data += got;
        size -= size_t(got);
    }
    return true;
}

bool writeFully(int fd, const char *data, size_t size)
{
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written <= 0) {
            return false;
        }
        data += written;
        size -= size_t(written);
    }
    return true;
}

/// KAuth delivers every reply as a signal to every client and matches it by
/// action name only, and a helper still finishing one call answers the next
/// with a "busy" the client never sees. A call the helper's main thread
/// answers, made before and after each action, orders things: the helper is
/// past its previous action, and every signal it sent before has reached
/// this client and is taken in here, while no job waits for it.
void settle()
{
    QDBusConnection::systemBus().call(QDBusMessage::createMethodCall(HelperProtocol::helperId,
                                                                     QStringLiteral("/"),
                                                                     QStringLiteral("org.freedesktop.DBus.Introspectable"),
                                                                     QStringLiteral("Introspect")),
                                      QDBus::Block,
                                      60000);
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents(QEventLoop::AllEvents);
}

/// Writes one framed message to stdout.
bool sendFrame(const QByteArray &message)
{
    const quint32 length = quint32(message.size());
    return writeFully(STDOUT_FILENO, reinterpret_cast<const char *>(&length), sizeof length) && writeFully(STDOUT_FILENO, message.constData(), message.size());
}

class Listener : public QObject
{
    Q_OBJECT

public Q_SLOTS:
    void remoteSignal(int type, const QString &action, const QByteArray &blob)
    {
        QByteArray message;
        QDataStream out(&message, QIODevice::WriteOnly);
        out << qint32(type) << action << blob;
        if (!sendFrame(message)) {
            QCoreApplication::exit(1);
        }
    }
};

int listen()
{
    Listener listener;
    QDBusConnection bus = QDBusConnection::systemBus();
    if (!bus.connect(HelperProtocol::helperId,
                     QStringLiteral("/"),
                     QStringLiteral("org.kde.kf6auth"),
                     QStringLiteral("remoteSignal"),
                     &listener,
                     SLOT(remoteSignal(int, QString, QByteArray)))) {
        return 1;
    }
    // The bus takes this connection's requests in order: once it answers this, the match is in place.
    bus.call(QDBusMessage::createMethodCall(QStringLiteral("org.freedesktop.DBus"),
                                            QStringLiteral("/org/freedesktop/DBus"),
                                            QStringLiteral("org.freedesktop.DBus"),
                                            QStringLiteral("GetId")),
             QDBus::Block,
             60000);
    QByteArray ready;
    QDataStream out(&ready, QIODevice::WriteOnly);
    out << qint32(-1) << QString() << QByteArray();
    if (!sendFrame(ready)) {
        return 1;
    }
    return QCoreApplication::exec();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc == 2 && qstrcmp(argv[1], "--listen") == 0) {
        return listen();
    }
    for (;;) {
        quint32 length = 0;
        if (!readFully(STDIN_FILENO, reinterpret_cast<char *>(&length), sizeof length)) {
            return 0;
        }
        QByteArray request(qsizetype(length), Qt::Uninitialized);
        if (!readFully(STDIN_FILENO, request.data(), length)) {
            return 1;
        }
        QString actionName;
        QVariantMap arguments;
        qint32 timeoutMs = 0;
        bool withStatus = false;
        QString cancelAtStage;
        bool leaveAnswer = false;
        QDataStream in(request);
        in >> actionName >> arguments >> timeoutMs >> withStatus >> cancelAtStage >> leaveAnswer;

        settle();

        KAuth::Action action(HelperProtocol::actionName(actionName));
        action.setHelperId(HelperProtocol::helperId);
        action.setArguments(arguments);
        action.setTimeout(timeoutMs);
        const bool trace = qEnvironmentVariableIsSet("REWIND_TEST_CLIENT_TRACE");
        if (trace) {
            qInfo("client %d: %s", int(::getuid()), qPrintable(actionName));
        }
        const qint32 status = withStatus ? qint32(action.status()) : -1;
        if (trace) {
            qInfo("client %d: status %d", int(::getuid()), int(status));
        }

        qint32 error = 0;
        QString errorText;
        QString errorMessage;
        QString errorDetails;
        QVariantMap data;
        QString broadcastErrorText;
        QByteArray answer;
        QList<qint32> percents;
        QStringList stages;
        KAuth::ExecuteJob *job = action.execute();
        job->setAutoDelete(false);
        QEventLoop loop;
        bool finished = false;
        QObject::connect(job, &KJob::result, &loop, [&] {
            finished = true;
            loop.quit();
        });
        QObject::connect(job, &KJob::percentChanged, job, [&](KJob *, unsigned long percent) {
            percents.append(qint32(percent));
        });
        QObject::connect(job, &KAuth::ExecuteJob::newData, job, [&](const QVariantMap &progress) {
            const QString stage = progress.value(HelperProtocol::stageKey).toString();
            stages.append(stage);
            if (!cancelAtStage.isEmpty() && stage == cancelAtStage) {
                // What ExecuteJob::kill() sends, without giving up on the reply.
                QDBusConnection::systemBus().send(QDBusMessage::createMethodCall(HelperProtocol::helperId,
                                                                                 QStringLiteral("/"),
                                                                                 QStringLiteral("org.kde.kf6auth"),
                                                                                 QStringLiteral("stopAction"))
                                                  << action.name());
            }
        });
        QTimer deadline;
        deadline.setSingleShot(true);
        QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
        deadline.start(timeoutMs);
        job->start();
        if (!finished) {
            loop.exec();
        }
        if (finished) {
            error = job->error();
            broadcastErrorText = job->errorText();
            data = job->data();
            if (leaveAnswer) {
                errorText = broadcastErrorText;
            } else if (error != 0) {
                const Rewind::Error failure = PrivateReply::failure(broadcastErrorText);
                errorText = failure.fullText();
                errorMessage = failure.message;
                errorDetails = failure.details;
            } else if (auto taken = PrivateReply::answer(data)) {
                answer = *taken;
            } else {
                error = -3000;
                errorText = taken.errorMessage();
            }
        } else {
            error = -1000;
            errorText = QStringLiteral("no answer within %1 ms").arg(timeoutMs);
        }
        delete job;
        settle();
        if (trace) {
            qInfo("client %d: error %d %s", int(::getuid()), int(error), qPrintable(errorText.left(100)));
        }

        QByteArray reply;
        QDataStream out(&reply, QIODevice::WriteOnly);
        out << status << error << errorText << data << percents << stages << broadcastErrorText << answer << errorMessage << errorDetails;
        const quint32 replyLength = quint32(reply.size());
        if (!writeFully(STDOUT_FILENO, reinterpret_cast<const char *>(&replyLength), sizeof replyLength)
            || !writeFully(STDOUT_FILENO, reply.constData(), reply.size())) {
            return 1;
        }
    }
}

#include "HelperClientMain.moc"
