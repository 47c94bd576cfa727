// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionSpec.h"

#include "UniqueFd.h"

#include <KLocalizedString>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>
#include <QStringDecoder>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>

namespace Rewind
{
namespace
{

constexpr int minimumWidth = 320;
constexpr int minimumHeight = 200;
constexpr int maximumExtent = 8192;

enum class Section {
    None,
    Session,
    Display,
    WindowManager,
    App,
};

/// Where the parser is, for error messages.
struct Location {
    QString fileName;
    int line = 0;
};

Error errorAt(const Location &location, const QString &what)
{
    return Error{i18nc("@info %1 file name, %2 line number, %3 what is wrong", "%1, line %2: %3", location.fileName, location.line, what)};
}

bool isEnvironmentName(const QString &name)
{
    static const QRegularExpression pattern(QStringLiteral("\\A[A-Za-z_][A-Za-z0-9_]*\\z"));
    return pattern.match(name).hasMatch();
}

Result<QSize> parseGeometry(const QString &value, const QString &key)
{
    static const QRegularExpression pattern(QStringLiteral("\\A([0-9]{1,5})x([0-9]{1,5})\\z"));
    const auto match = pattern.match(value);
    if (!match.hasMatch()) {
        return Error{i18n("%1 must look like 1280x800 (got '%2')", key, value)};
    }
    const QSize size(match.captured(1).toInt(), match.captured(2).toInt());
    if (size.width() < minimumWidth || size.height() < minimumHeight || size.width() > maximumExtent || size.height() > maximumExtent) {
        return Error{i18n("%1 must be between %2x%3 and %4x%4 (got '%5')", key, minimumWidth, minimumHeight, maximumExtent, value)};
    }
    return size;
}

Result<int> parseDepth(const QString &value, const QString &key)
{
    bool ok = false;
    const int depth = value.toInt(&ok);
    if (!ok || (depth != 16 && depth != 24 && depth != 32)) {
        return Error{i18n("%1 must be 16, 24 or 32 (got '%2')", key, value)};
    }
    return depth;
}

Result<QMap<QString, QString>> parseEnvironment(const QString &value, const QString &key)
{
    QMap<QString, QString> env;
    const auto entries = value.split(QLatin1Char(';'), Qt::SkipEmptyParts);
    for (const QString &rawEntry : entries) {
        const QString entry = rawEntry.trimmed();
        if (entry.isEmpty()) {
            continue;
        }
        const auto equals = entry.indexOf(QLatin1Char('='));
        const QString name = equals < 0 ? entry : entry.left(equals);
        if (equals < 0 || !isEnvironmentName(name)) {
            return Error{i18n("%1 must be a list like KEY=value;KEY2=value (got '%2')", key, entry)};
        }
        if (env.contains(name)) {
            return Error{i18n("%1 sets the variable '%2' twice", key, name)};
        }
        env.insert(name, entry.mid(equals + 1));
    }
    return env;
}

Result<QStringList> parseCommand(const QString &value, const QString &key)
{
    auto words = SessionSpec::splitCommand(value);
    if (!words) {
        return Error{i18nc("@info %1 key, %2 reason", "%1: %2", key, words.errorMessage())};
    }
    if (words->isEmpty()) {
        return Error{i18n("%1 must not be empty", key)};
    }
    return words;
}

/// Strict line-by-line reader of the spec format.
class Parser
{
public:
    explicit Parser(const QString &fileName)
    {
        m_location.fileName = fileName;
    }

    Result<SessionSpec> parse(const QByteArray &text)
    {
        if (text.size() > SessionSpec::maximumFileSize) {
            return Error{i18n("%1: the file is larger than %2 KiB", m_location.fileName, SessionSpec::maximumFileSize / 1024)};
        }
        QByteArray content = text;
        if (content.startsWith("\xEF\xBB\xBF")) {
            content.remove(0, 3);
        }
        const auto lines = content.split('\n');
        for (const QByteArray &rawLine : lines) {
            ++m_location.line;
            auto line = decodeLine(rawLine);
            if (!line) {
                return line.error();
            }
            auto handled = handleLine(line->trimmed());
            if (!handled) {
                return handled.error();
            }
        }
        auto finished = finish();
        if (!finished) {
            return finished.error();
        }
        return m_spec;
    }

private:
    Result<QString> decodeLine(QByteArray line)
    {
        if (line.endsWith('\r')) {
            line.chop(1);
        }
        QStringDecoder decoder(QStringDecoder::Utf8, QStringConverter::Flag::Stateless);
        const QString decoded = decoder.decode(line);
        if (decoder.hasError()) {
            return error(i18n("the text is not valid UTF-8%1", keyHint(line)));
        }
        for (const QChar c : decoded) {
            if (c.category() == QChar::Other_Control && c != QLatin1Char('\t')) {
                return error(
                    i18n("control character U+%1 is not allowed%2", QStringLiteral("%1").arg(c.unicode(), 4, 16, QLatin1Char('0')).toUpper(), keyHint(line)));
            }
        }
        return decoded;
    }

    /// " (key 'Foo')" when a raw line looks like Foo=..., for errors before decoding.
    static QString keyHint(const QByteArray &line)
    {
        const auto equals = line.indexOf('=');
        if (equals <= 0) {
            return {};
        }
        const QString key = QString::fromUtf8(line.left(equals)).trimmed();
        return i18n(" in key '%1'", key);
    }

    Error error(const QString &what) const
    {
        return errorAt(m_location, what);
    }

    Result<void> handleLine(const QString &line)
    {
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')) || line.startsWith(QLatin1Char(';'))) {
            return {};
        }
        if (line.startsWith(QLatin1Char('['))) {
            return startSection(line);
        }
        const auto equals = line.indexOf(QLatin1Char('='));
        if (equals < 0) {
            return error(i18n("expected [Section] or Key=value (got '%1')", line));
        }
        const QString key = line.left(equals).trimmed();
        const QString value = line.mid(equals + 1).trimmed();
        if (key.isEmpty()) {
            return error(i18n("a key name is missing before '='"));
        }
        if (m_section == Section::None) {
            return error(i18n("key '%1' comes before any [Section]", key));
        }
        if (m_keysSeen.contains(key)) {
            return error(i18n("duplicate key '%1' in [%2] (first on line %3)", key, m_sectionName, m_keysSeen.value(key)));
        }
        m_keysSeen.insert(key, m_location.line);
        return setValue(key, value);
    }

    Result<void> startSection(const QString &line)
    {
        if (!line.endsWith(QLatin1Char(']'))) {
            return error(i18n("a section header must look like [Name] (got '%1')", line));
        }
        const QString name = line.mid(1, line.size() - 2).trimmed();
        auto done = checkSectionComplete();
        if (!done) {
            return done;
        }
        if (m_sectionsSeen.contains(name)) {
            return error(i18n("duplicate section [%1] (first on line %2)", name, m_sectionsSeen.value(name)));
        }
        m_sectionsSeen.insert(name, m_location.line);
        m_sectionName = name;
        m_sectionLine = m_location.line;
        m_keysSeen.clear();

        if (name == QLatin1String("Session")) {
            m_section = Section::Session;
        } else if (name == QLatin1String("Display")) {
            m_section = Section::Display;
        } else if (name == QLatin1String("WindowManager")) {
            m_section = Section::WindowManager;
        } else if (name.startsWith(QLatin1String("App "))) {
            const QString appName = name.mid(4).trimmed();
            if (!SessionSpec::isValidName(appName)) {
                return error(i18n("app name '%1' in [%2] may only use a-z, 0-9 and '-' (1 to 64 characters)", appName, name));
            }
            m_section = Section::App;
            AppSpec app;
            app.name = appName;
            m_spec.apps.append(app);
        } else {
            return error(i18n("unknown section [%1] (known: [Session], [Display], [WindowManager], [App NAME])", name));
        }
        return {};
    }

    /// Checks the keys the section just ended requires.
    Result<void> checkSectionComplete()
    {
        const auto missing = [this](const QString &key) {
            return errorAt(Location{m_location.fileName, m_sectionLine}, i18n("[%1] needs the key '%2'", m_sectionName, key));
        };
        switch (m_section) {
        case Section::Session:
            if (!m_keysSeen.contains(QStringLiteral("Name"))) {
                return missing(QStringLiteral("Name"));
            }
            break;
        case Section::WindowManager:
        case Section::App:
            if (!m_keysSeen.contains(QStringLiteral("Command"))) {
                return missing(QStringLiteral("Command"));
            }
            break;
        case Section::None:
        case Section::Display:
            break;
        }
        return {};
    }

    /// "Name[de]" → {"Name", "de"}, as desktop files translate; nullopt for any other key.
    static std::optional<std::pair<QString, QString>> translatedKey(const QString &key)
    {
        static const QRegularExpression pattern(QStringLiteral("\\A(Name|Description)\\[([a-z]{2,3}(?:_[A-Z]{2})?)\\]\\z"));
        const auto match = pattern.match(key);
        if (!match.hasMatch()) {
            return std::nullopt;
        }
        return std::pair{match.captured(1), match.captured(2)};
    }

    Result<void> setValue(const QString &key, const QString &value)
    {
        const auto unknown = [&]() {
            return error(i18n("unknown key '%1' in [%2]", key, m_sectionName));
        };
        const auto wrap = [&](const auto &result) -> Result<void> {
            if (!result) {
                return error(result.errorMessage());
            }
            return {};
        };

        switch (m_section) {
        case Section::Session:
            if (key == QLatin1String("Name")) {
                if (value.isEmpty()) {
                    return error(i18n("Name must not be empty"));
                }
                m_spec.name = value;
                return {};
            }
            if (key == QLatin1String("Description")) {
                m_spec.description = value;
                return {};
            }
            if (const auto translated = translatedKey(key); translated) {
                (translated->first == QLatin1String("Name") ? m_spec.translatedNames : m_spec.translatedDescriptions).insert(translated->second, value);
                return {};
            }
            return unknown();
        case Section::Display:
            if (key == QLatin1String("Geometry")) {
                auto geometry = parseGeometry(value, key);
                if (geometry) {
                    m_spec.geometry = *geometry;
                }
                return wrap(geometry);
            }
            if (key == QLatin1String("Depth")) {
                auto depth = parseDepth(value, key);
                if (depth) {
                    m_spec.depth = *depth;
                }
                return wrap(depth);
            }
            return unknown();
        case Section::WindowManager:
            if (key == QLatin1String("Command")) {
                auto command = parseCommand(value, key);
                if (command) {
                    m_spec.windowManager = *command;
                }
                return wrap(command);
            }
            return unknown();
        case Section::App:
            if (key == QLatin1String("Command")) {
                auto command = parseCommand(value, key);
                if (command) {
                    m_spec.apps.last().argv = *command;
                }
                return wrap(command);
            }
            if (key == QLatin1String("Env")) {
                auto env = parseEnvironment(value, key);
                if (env) {
                    m_spec.apps.last().env = *env;
                }
                return wrap(env);
            }
            return unknown();
        case Section::None:
            break;
        }
        return unknown();
    }

    Result<void> finish()
    {
        auto done = checkSectionComplete();
        if (!done) {
            return done;
        }
        if (!m_sectionsSeen.contains(QStringLiteral("Session"))) {
            return Error{i18n("%1: the [Session] section with a Name is missing", m_location.fileName)};
        }
        if (m_spec.windowManager.isEmpty() && m_spec.apps.isEmpty()) {
            return Error{i18n("%1: a session needs a [WindowManager] with a Command or at least one [App NAME] section", m_location.fileName)};
        }
        return {};
    }

    Location m_location;
    SessionSpec m_spec;
    Section m_section = Section::None;
    QString m_sectionName;
    int m_sectionLine = 0;
    QHash<QString, int> m_sectionsSeen;
    QHash<QString, int> m_keysSeen;
};

QStringList searchDirectories()
{
    QStringList dirs;
    const QString fromEnvironment = qEnvironmentVariable("REWIND_SESSIONS_DIR");
    const auto entries = fromEnvironment.split(QLatin1Char(':'), Qt::SkipEmptyParts);
    for (const QString &dir : entries) {
        dirs.append(dir);
    }
    dirs.append(QStringLiteral(REWIND_DATA_DIR "/sessions"));
    return dirs;
}

} // namespace

Result<QStringList> SessionSpec::splitCommand(const QString &commandLine)
{
    enum class Quote {
        None,
        Single,
        Double,
    };
    static const QString shellOperators = QStringLiteral("|&;<>()$`");

    QStringList words;
    QString word;
    bool inWord = false;
    Quote quote = Quote::None;

    for (qsizetype i = 0; i < commandLine.size(); ++i) {
        const QChar c = commandLine.at(i);
        switch (quote) {
        case Quote::Single:
            if (c == QLatin1Char('\'')) {
                quote = Quote::None;
            } else {
                word.append(c);
            }
            break;
        case Quote::Double:
            if (c == QLatin1Char('"')) {
                quote = Quote::None;
            } else if (c == QLatin1Char('\\') && i + 1 < commandLine.size() && QStringLiteral("\"\\$`").contains(commandLine.at(i + 1))) {
                word.append(commandLine.at(++i));
            } else {
                word.append(c);
            }
            break;
        case Quote::None:
            if (c == QLatin1Char(' ') || c == QLatin1Char('\t')) {
                if (inWord) {
                    words.append(word);
                    word.clear();
                    inWord = false;
                }
            } else if (c == QLatin1Char('\'')) {
                quote = Quote::Single;
                inWord = true;
            } else if (c == QLatin1Char('"')) {
                quote = Quote::Double;
                inWord = true;
            } else if (c == QLatin1Char('\\')) {
                if (i + 1 >= commandLine.size()) {
                    return Error{i18n("the command ends with a lone backslash")};
                }
                word.append(commandLine.at(++i));
                inWord = true;
            } else if (shellOperators.contains(c)) {
                return Error{i18n("'%1' at column %2 would need a shell; commands are run directly, so quote it or use sh -c '...'", c, i + 1)};
            } else {
                word.append(c);
                inWord = true;
            }
            break;
        }
    }
    if (quote == Quote::Single) {
        return Error{i18n("unterminated single quote")};
    }
    if (quote == Quote::Double) {
        return Error{i18n("unterminated double quote")};
    }
    if (inWord) {
        words.append(word);
    }
    return words;
}

bool SessionSpec::isValidName(const QString &name)
{
    static const QRegularExpression pattern(QStringLiteral("\\A[a-z0-9-]{1,64}\\z"));
    return pattern.match(name).hasMatch();
}

Result<SessionSpec> SessionSpec::parse(const QByteArray &text, const QString &fileName)
{
    return Parser(fileName).parse(text);
}

Result<SessionSpec> SessionSpec::load(const QString &path)
{
    const QString fileName = QFileInfo(path).fileName();
    UniqueFd fd(::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        return Error{i18n("Could not open the session spec %1: %2", path, QString::fromLocal8Bit(std::strerror(errno)))};
    }
    struct stat status;
    if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        return Error{i18n("The session spec %1 is not a regular file.", path)};
    }
    if (status.st_size > maximumFileSize) {
        return Error{i18n("%1: the file is larger than %2 KiB", fileName, maximumFileSize / 1024)};
    }
    QByteArray content;
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return Error{i18n("Could not read the session spec %1: %2", path, QString::fromLocal8Bit(std::strerror(errno)))};
        }
        if (n == 0) {
            break;
        }
        content.append(buffer, n);
        if (content.size() > maximumFileSize) {
            return Error{i18n("%1: the file is larger than %2 KiB", fileName, maximumFileSize / 1024)};
        }
    }
    return parse(content, fileName);
}

Result<SessionSpec> SessionSpec::named(const QString &name)
{
    if (!isValidName(name)) {
        return Error{i18n("'%1' is not a session name: names use only a-z, 0-9 and '-'.", name)};
    }
    const QStringList dirs = searchDirectories();
    for (const QString &dir : dirs) {
        const QString path = dir + QLatin1Char('/') + name + QLatin1String(".conf");
        if (QFileInfo::exists(path)) {
            return load(path);
        }
    }
    return Error{i18n("There is no session spec named '%1' (looked in %2).", name, dirs.join(QStringLiteral(", ")))};
}

QStringList SessionSpec::availableNames()
{
    QStringList names;
    const QStringList dirs = searchDirectories();
    for (const QString &dir : dirs) {
        const auto files = QDir(dir).entryInfoList({QStringLiteral("*.conf")}, QDir::Files | QDir::Readable);
        for (const QFileInfo &file : files) {
            const QString name = file.completeBaseName();
            if (isValidName(name) && !names.contains(name)) {
                names.append(name);
            }
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

QList<std::pair<QString, SessionSpec>> SessionSpec::installed()
{
    QList<std::pair<QString, SessionSpec>> specs;
    const QStringList names = availableNames();
    for (const QString &name : names) {
        // A broken spec is left out; starting it names what is wrong.
        if (auto spec = named(name)) {
            specs.append({name, *spec});
        }
    }
    return specs;
}

namespace
{
QString inLanguage(const QMap<QString, QString> &translations, const QString &language, const QString &untranslated)
{
    const QString withoutEncoding = language.section(QLatin1Char('.'), 0, 0).section(QLatin1Char('@'), 0, 0);
    for (const QString &candidate : {withoutEncoding, withoutEncoding.section(QLatin1Char('_'), 0, 0)}) {
        if (!candidate.isEmpty() && translations.contains(candidate)) {
            return translations.value(candidate);
        }
    }
    return untranslated;
}
} // namespace

QString SessionSpec::title(const QString &language) const
{
    return inLanguage(translatedNames, language, name);
}

QString SessionSpec::descriptionIn(const QString &language) const
{
    return inLanguage(translatedDescriptions, language, description);
}

} // namespace Rewind
