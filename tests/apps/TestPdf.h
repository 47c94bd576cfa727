// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QStringList>

/// A PDF document with one page for each of words, each word in large bold
/// letters near the top of its page: what is on the screen tells the page.
/// Words are plain ASCII letters.
QByteArray pdfWithPages(const QStringList &words);
