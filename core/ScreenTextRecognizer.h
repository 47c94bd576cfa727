// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QString>

#include <chrono>

#include <sys/types.h>

namespace Rewind
{

/// Reads the text on a picture of a screen with tesseract OCR (Debian's
/// tesseract-ocr with its English data). tesseract runs as the picture's
/// owner, never as root: uid:gid without supplementary groups or new
/// privileges, a fixed argument list, a minimal environment, one thread,
/// the picture on its standard input, stopped after timeout and when it
/// says more than maximumTextBytes.
namespace ScreenTextRecognizer
{
constexpr qsizetype maximumTextBytes = 64 * 1024;
constexpr std::chrono::milliseconds defaultTimeout = std::chrono::seconds(30);

/// The tesseract program to run, empty if it is not installed.
QString program();

/// The words on the picture (PNG), as tesseract reads them.
Result<QString> recognize(const QByteArray &png, uid_t uid, gid_t gid, std::chrono::milliseconds timeout = defaultTimeout);
} // namespace ScreenTextRecognizer

} // namespace Rewind
