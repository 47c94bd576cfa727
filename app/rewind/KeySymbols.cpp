// SPDX-License-Identifier: GPL-2.0-or-later
#include "KeySymbols.h"

#include <QHash>
#include <QKeyEvent>

namespace
{
/// Keys that type no character, with their keysyms (X11/keysymdef.h).
const QHash<int, quint32> &namedKeys()
{
    static const QHash<int, quint32> keys = {
        {Qt::Key_Escape, 0xff1b},   {Qt::Key_Tab, 0xff09},     {Qt::Key_Backtab, 0xff09},    {Qt::Key_Backspace, 0xff08}, {Qt::Key_Return, 0xff0d},
        {Qt::Key_Enter, 0xff8d},    {Qt::Key_Insert, 0xff63},  {Qt::Key_Delete, 0xffff},     {Qt::Key_Pause, 0xff13},     {Qt::Key_Print, 0xff61},
        {Qt::Key_SysReq, 0xff15},   {Qt::Key_Clear, 0xff0b},   {Qt::Key_Home, 0xff50},       {Qt::Key_End, 0xff57},       {Qt::Key_Left, 0xff51},
        {Qt::Key_Up, 0xff52},       {Qt::Key_Right, 0xff53},   {Qt::Key_Down, 0xff54},       {Qt::Key_PageUp, 0xff55},    {Qt::Key_PageDown, 0xff56},
        {Qt::Key_Shift, 0xffe1},    {Qt::Key_Control, 0xffe3}, {Qt::Key_Meta, 0xffeb},       {Qt::Key_Alt, 0xffe9},       {Qt::Key_AltGr, 0xfe03},
        {Qt::Key_CapsLock, 0xffe5}, {Qt::Key_NumLock, 0xff7f}, {Qt::Key_ScrollLock, 0xff14}, {Qt::Key_Super_L, 0xffeb},   {Qt::Key_Super_R, 0xffec},
        {Qt::Key_Menu, 0xff67},     {Qt::Key_Help, 0xff6a},    {Qt::Key_Space, 0x0020},
    };
    return keys;
}
}

quint32 keySymbolOf(const QKeyEvent *event)
{
    const int key = event->key();
    if (key >= Qt::Key_F1 && key <= Qt::Key_F35) {
        return 0xffbe + quint32(key - Qt::Key_F1);
    }
    if (const auto named = namedKeys().constFind(key); named != namedKeys().cend()) {
        return *named;
    }
    // The character typed, where it is one (with Ctrl held the text is a control code).
    const QString text = event->text();
    if (text.size() == 1 || (text.size() == 2 && text.at(0).isHighSurrogate())) {
        const char32_t character = text.toUcs4().value(0);
        if (character >= 0x20 && character != 0x7f) {
            // Latin-1 keysyms are the characters themselves; the rest of Unicode is offset.
            return character <= 0xff ? quint32(character) : 0x01000000u | quint32(character);
        }
    }
    // Letters and the like without text (Ctrl+C): Qt's key is the upper-case character.
    if (key >= 0x20 && key <= 0xff) {
        const bool shifted = event->modifiers().testFlag(Qt::ShiftModifier);
        return shifted ? quint32(key) : QChar(char16_t(key)).toLower().unicode();
    }
    return 0;
}
