// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

/// The icons of Rewind's window: KDE's Breeze theme stands in where the
/// desktop names no icon theme of its own (a bare X session, offscreen), so
/// the actions have their icons there too.
namespace IconTheme
{
/// Name of the application's icon (hicolor, installed with Rewind).
inline QString applicationIconName()
{
    return QStringLiteral("org.rewind.Rewind");
}

/// Makes Breeze the theme where none is set (no theme, or "hicolor", which
/// has no action icons), and the fallback for icons a theme lacks; and has
/// Qt search the icon directories of $XDG_DATA_DIRS where it would not.
/// Call after the QGuiApplication exists: its platform theme names the theme.
void useBreezeWhereNoneIsSet();
}
