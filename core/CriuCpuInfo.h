// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>

namespace Rewind
{

/// CRIU's picture of this machine's CPU (its cpuinfo.img): what tells
/// whether processes dumped on one machine can run on another.
namespace CriuCpuInfo
{
/// `criu cpuinfo dump`: this machine's image.
Result<QByteArray> dump();
/// `criu cpuinfo check` of another machine's image here; the Error gives
/// CRIU's reason when this CPU lacks what the other one had.
Result<void> check(const QByteArray &image);
/// check() without remembering the answer.
Result<void> checkOnce(const QByteArray &image);
} // namespace CriuCpuInfo

} // namespace Rewind
