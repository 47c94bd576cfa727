// SPDX-License-Identifier: GPL-2.0-or-later
#include "ScreenText.h"

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

ScreenText::ScreenText(const QImage &image)
{
    QTemporaryDir directory;
    const QString picture = directory.filePath(QStringLiteral("screen.png"));
    if (!directory.isValid() || !image.save(picture)) {
        m_error = QStringLiteral("cannot save the picture for tesseract");
        return;
    }
    if (const QString keep = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS"); !keep.isEmpty()) {
        static int number = 0;
        const QString row = QTest::currentDataTag() ? QString::fromUtf8(QTest::currentDataTag()) : QStringLiteral("screen");
        image.save(QStringLiteral("%1/%2-%3.png").arg(keep, row).arg(++number, 4, 10, QLatin1Char('0')));
    }
    QProcess tesseract;
    // Sparse text: a screen is windows, bars and bits of text, not a page.
    tesseract.start(QStringLiteral("tesseract"),
                    {picture, QStringLiteral("stdout"), QStringLiteral("-l"), QStringLiteral("eng"), QStringLiteral("--psm"), QStringLiteral("11")});
    if (!tesseract.waitForFinished(120000) || tesseract.exitStatus() != QProcess::NormalExit || tesseract.exitCode() != 0) {
        tesseract.kill();
        tesseract.waitForFinished(-1);
        m_error = QStringLiteral("tesseract failed: %1").arg(QString::fromLocal8Bit(tesseract.readAllStandardError()).trimmed());
        return;
    }
    m_text = QString::fromUtf8(tesseract.readAllStandardOutput()).simplified();
}

bool ScreenText::contains(const QString &word) const
{
    return m_text.contains(word, Qt::CaseInsensitive);
}

bool ScreenText::available()
{
    return !QStandardPaths::findExecutable(QStringLiteral("tesseract")).isEmpty();
}
