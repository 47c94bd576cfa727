// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "UniqueFd.h"

#include <QByteArray>
#include <QFile>
#include <QMap>
#include <QString>

/// Files for tests of what stores and moves snapshots.

/// size bytes that look random, the same for the same seed.
QByteArray randomBytes(qsizetype size, quint32 seed);
/// Writes path (making its directories), with permissions if given.
bool writeFile(const QString &path, const QByteArray &content, QFile::Permissions permissions = {});
QByteArray readWholeFile(const QString &path);
Rewind::UniqueFd openDirectory(const QString &path);
/// Relative path -> content ("<dir MODE>" for directories), prefixed with the permission bits.
QMap<QString, QByteArray> treeOf(const QString &root);
/// Regular files below root.
int countFiles(const QString &root);
