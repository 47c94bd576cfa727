// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QtGlobal>

class QKeyEvent;

/// The X keysym (what RFB key events carry) of a Qt key event: the
/// character it types where it types one, the named key otherwise, 0 for
/// keys X has no symbol for.
quint32 keySymbolOf(const QKeyEvent *event);
