// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QString>

#include <optional>
#include <utility>
#include <variant>

namespace Rewind
{

/// A failure a user can act on: what went wrong, in words, and what to do
/// (message), and what the tool underneath said about it (details, such as
/// CRIU's log lines): for a details view, a log file and a bug report, never
/// for the message itself.
struct Error {
    Error() = default;
    explicit Error(QString message, QString details = {})
        : message(std::move(message))
        , details(std::move(details))
    {
    }

    /// The same failure told in other words: the details stay.
    Error rephrased(QString newMessage) const
    {
        return Error{std::move(newMessage), details};
    }
    /// The message, then the details on lines of their own.
    QString fullText() const
    {
        return details.isEmpty() ? message : message + QLatin1Char('\n') + details;
    }

    QString message;
    QString details;
};

/// Either a value or an Error. Errors are values in Rewind: nothing throws.
template<typename T>
class [[nodiscard]] Result
{
public:
    Result(T value)
        : m_state(std::move(value))
    {
    }
    Result(Error error)
        : m_state(std::move(error))
    {
    }

    bool ok() const
    {
        return std::holds_alternative<T>(m_state);
    }
    explicit operator bool() const
    {
        return ok();
    }

    T &value()
    {
        return std::get<T>(m_state);
    }
    const T &value() const
    {
        return std::get<T>(m_state);
    }
    T &operator*()
    {
        return value();
    }
    const T &operator*() const
    {
        return value();
    }
    T *operator->()
    {
        return &value();
    }
    const T *operator->() const
    {
        return &value();
    }

    const Error &error() const
    {
        return std::get<Error>(m_state);
    }
    QString errorMessage() const
    {
        return ok() ? QString() : error().message;
    }

private:
    std::variant<T, Error> m_state;
};

/// Result of an operation that yields nothing but success or an Error.
template<>
class [[nodiscard]] Result<void>
{
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error))
    {
    }

    bool ok() const
    {
        return !m_error.has_value();
    }
    explicit operator bool() const
    {
        return ok();
    }
    const Error &error() const
    {
        return *m_error;
    }
    QString errorMessage() const
    {
        return ok() ? QString() : m_error->message;
    }

private:
    std::optional<Error> m_error;
};

} // namespace Rewind
