// SPDX-License-Identifier: GPL-2.0-or-later
// The X keysyms the session view sends for Qt's key events: what a key
// types where it types something, the named key otherwise.
#include "KeySymbols.h"

#include <QKeyEvent>
#include <QTest>

class KeySymbolsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keySymbols_data()
    {
        QTest::addColumn<int>("key");
        QTest::addColumn<int>("modifiers");
        QTest::addColumn<QString>("text");
        QTest::addColumn<quint32>("keysym");

        QTest::newRow("a") << int(Qt::Key_A) << 0 << QStringLiteral("a") << quint32(0x61);
        QTest::newRow("A with Shift") << int(Qt::Key_A) << int(Qt::ShiftModifier) << QStringLiteral("A") << quint32(0x41);
        QTest::newRow("Ctrl+C (a control code as text)") << int(Qt::Key_C) << int(Qt::ControlModifier) << QStringLiteral("\x03") << quint32(0x63);
        QTest::newRow("Ctrl+Shift+C") << int(Qt::Key_C) << int(Qt::ControlModifier | Qt::ShiftModifier) << QString() << quint32(0x43);
        QTest::newRow("! (Shift+1)") << int(Qt::Key_Exclam) << int(Qt::ShiftModifier) << QStringLiteral("!") << quint32(0x21);
        QTest::newRow("é (Latin-1)") << int(Qt::Key_Eacute) << 0 << QStringLiteral("é") << quint32(0xe9);
        QTest::newRow("€ (Unicode)") << 0x20ac << 0 << QStringLiteral("€") << quint32(0x010020ac);
        QTest::newRow("𝄞 (beyond the BMP)") << 0 << 0 << QStringLiteral("𝄞") << quint32(0x0101d11e);
        QTest::newRow("space") << int(Qt::Key_Space) << 0 << QStringLiteral(" ") << quint32(0x20);
        QTest::newRow("Return") << int(Qt::Key_Return) << 0 << QStringLiteral("\r") << quint32(0xff0d);
        QTest::newRow("keypad Enter") << int(Qt::Key_Enter) << int(Qt::KeypadModifier) << QStringLiteral("\r") << quint32(0xff8d);
        QTest::newRow("BackSpace") << int(Qt::Key_Backspace) << 0 << QStringLiteral("\b") << quint32(0xff08);
        QTest::newRow("Tab") << int(Qt::Key_Tab) << 0 << QStringLiteral("\t") << quint32(0xff09);
        QTest::newRow("Shift+Tab") << int(Qt::Key_Backtab) << int(Qt::ShiftModifier) << QString() << quint32(0xff09);
        QTest::newRow("Escape") << int(Qt::Key_Escape) << 0 << QStringLiteral("\x1b") << quint32(0xff1b);
        QTest::newRow("Delete") << int(Qt::Key_Delete) << 0 << QStringLiteral("\x7f") << quint32(0xffff);
        QTest::newRow("Left") << int(Qt::Key_Left) << 0 << QString() << quint32(0xff51);
        QTest::newRow("Page Down") << int(Qt::Key_PageDown) << 0 << QString() << quint32(0xff56);
        QTest::newRow("F1") << int(Qt::Key_F1) << 0 << QString() << quint32(0xffbe);
        QTest::newRow("F12") << int(Qt::Key_F12) << 0 << QString() << quint32(0xffc9);
        QTest::newRow("Shift") << int(Qt::Key_Shift) << int(Qt::ShiftModifier) << QString() << quint32(0xffe1);
        QTest::newRow("Control") << int(Qt::Key_Control) << int(Qt::ControlModifier) << QString() << quint32(0xffe3);
        QTest::newRow("Alt") << int(Qt::Key_Alt) << int(Qt::AltModifier) << QString() << quint32(0xffe9);
        QTest::newRow("AltGr") << int(Qt::Key_AltGr) << 0 << QString() << quint32(0xfe03);
        QTest::newRow("Meta") << int(Qt::Key_Meta) << int(Qt::MetaModifier) << QString() << quint32(0xffeb);
        QTest::newRow("unknown (no text, no name)") << int(Qt::Key_LaunchMail) << 0 << QString() << quint32(0);
    }

    void keySymbols()
    {
        QFETCH(int, key);
        QFETCH(int, modifiers);
        QFETCH(QString, text);
        QFETCH(quint32, keysym);
        const QKeyEvent event(QEvent::KeyPress, key, Qt::KeyboardModifiers(modifiers), text);
        QCOMPARE(QString::number(keySymbolOf(&event), 16), QString::number(keysym, 16));
    }
};

QTEST_GUILESS_MAIN(KeySymbolsTest)
#include "KeySymbolsTest.moc"
