// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QImage>
#include <QString>

/// The text on a picture of a screen, as tesseract reads it.
class ScreenText
{
public:
    /// Reads image; on failure text() is empty and error() says why.
    explicit ScreenText(const QImage &image);

    QString text() const
    {
        return m_text;
    }
    QString error() const
    {
        return m_error;
    }
    /// Whether word was read, as a word of its own or part of one, in any case.
    bool contains(const QString &word) const;

    /// Whether tesseract and its English data are there.
    static bool available();

private:
    QString m_text;
    QString m_error;
};
