// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

/// Run from the build tree, Rewind's data files (the notifications'
/// rewind.notifyrc) are in <build>/share, which no data path names: this
/// puts that directory first in XDG_DATA_DIRS. Installed, it changes
/// nothing. Call it once the application object exists.
void useBuildTreeData();
