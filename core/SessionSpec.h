// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QSize>
#include <QString>
#include <QStringList>

namespace Rewind
{

/// One program a session starts, from an [App NAME] section.
struct AppSpec {
    QString name; ///< [a-z0-9-], unique within the session
    QStringList argv; ///< run directly, never through a shell
    QMap<QString, QString> env; ///< added to the session's environment for this app
};

/// What a session runs: its display, window manager and apps, read from an
/// INI-style session spec file (resources/sessions/*.conf).
///
/// The parser is strict on purpose: unknown sections and keys, duplicates and
/// malformed values are errors that name the file, the line and the key.
struct SessionSpec {
    QString name; ///< the title people see ("Name=")
    QString description;
    /// Name[LANG]= and Description[LANG]= of [Session], by language ("de", "pt_BR").
    QMap<QString, QString> translatedNames;
    QMap<QString, QString> translatedDescriptions;
    QSize geometry{1280, 800};
    int depth = 24;
    QStringList windowManager; ///< empty: no window manager
    QList<AppSpec> apps;

    static constexpr qsizetype maximumFileSize = 64 * 1024;

    /// Reads and parses the spec file at path.
    static Result<SessionSpec> load(const QString &path);
    /// Parses spec text; fileName is only used in error messages.
    static Result<SessionSpec> parse(const QByteArray &text, const QString &fileName);
    /// The spec NAME.conf from $REWIND_SESSIONS_DIR (a colon-separated list of
    /// directories), else from the installed sessions directory.
    static Result<SessionSpec> named(const QString &name);
    /// Names of every spec named() finds, sorted.
    static QStringList availableNames();
    /// Every spec named() finds that parses, by file name (its name for named()).
    static QList<std::pair<QString, SessionSpec>> installed();

    /// The title and description in language ("de_DE" falls back to "de", then to the untranslated text).
    QString title(const QString &language) const;
    QString descriptionIn(const QString &language) const;

    /// Splits a command line into words the way a POSIX shell would for
    /// quotes and backslashes, without expanding anything. Unquoted shell
    /// operators ('|', ';', '&', '<', '>', '(', ')', '$', '`') are refused
    /// since nothing runs the command through a shell.
    static Result<QStringList> splitCommand(const QString &commandLine);

    /// Whether name is usable as an app or spec name: [a-z0-9-], 1 to 64 characters.
    static bool isValidName(const QString &name);
};

} // namespace Rewind
