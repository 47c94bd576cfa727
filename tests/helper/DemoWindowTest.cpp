// SPDX-License-Identifier: GPL-2.0-or-later
// The demo's window step (rewind-demo-gui, as tools/run-demo runs it), off
// screen as on a machine without a display: rewind-user's window takes a
// snapshot, shows its picture on the timeline, goes back to it, and the
// picture of the window it leaves is a real one.
#include "HelperTestSupport.h"
#include "TestSkip.h"

#include <QColor>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

class DemoWindowTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void windowStepGoesBackAndLeavesAPicture()
    {
        if (const QString why = HelperTestEnvironment::whyUnavailable(); !why.isEmpty()) {
            REWIND_SKIP(qPrintable(why));
        }
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        const QString picture = directory.filePath(QStringLiteral("window.png"));

        QProcess demo;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.remove(QStringLiteral("DISPLAY")); // off screen, as where there is no display
        demo.setProcessEnvironment(environment);
        demo.setProcessChannelMode(QProcess::MergedChannels);
        demo.start(QFileInfo(HelperTestEnvironment::clientProgram()).absolutePath() + QStringLiteral("/rewind-demo-gui"),
                   {QStringLiteral("--output"), picture});
        QVERIFY2(demo.waitForStarted(), qPrintable(demo.errorString()));
        const bool finished = demo.waitForFinished(600000);
        const QString output = QString::fromUtf8(demo.readAll());
        qInfo("%s", qPrintable(output));
        if (!finished) {
            demo.kill();
            demo.waitForFinished();
        }
        QVERIFY(finished);
        QCOMPARE(demo.exitCode(), 0);
        QVERIFY2(output.contains(QLatin1String("with its picture of the screen")), qPrintable(output));
        QVERIFY2(output.contains(QLatin1String("Go Back to This Point: session")), qPrintable(output));
        QVERIFY2(output.contains(picture), qPrintable(output));

        // A picture of a whole window: big, and not one colour (the timeline's screen pictures, text, icons).
        const QImage window(picture);
        QVERIFY2(!window.isNull(), qPrintable(picture));
        QVERIFY2(window.width() >= 800 && window.height() >= 500, qPrintable(QStringLiteral("%1x%2").arg(window.width()).arg(window.height())));
        QSet<QRgb> colours;
        for (int y = 0; y < window.height(); y += 4) {
            for (int x = 0; x < window.width(); x += 4) {
                colours.insert(window.pixel(x, y));
            }
        }
        QVERIFY2(colours.size() > 64, qPrintable(QString::number(colours.size())));
    }
};

REWIND_TEST_GUILESS_MAIN(DemoWindowTest)
#include "DemoWindowTest.moc"
