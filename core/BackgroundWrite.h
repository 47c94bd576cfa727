// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QFuture>
#include <QThreadPool>

namespace Rewind
{

/// Writes a file's buffers from a thread of its own, one at a time, while
/// the caller fills the other of two buffers: reading, hashing or encoding
/// the next one overlaps writing this one. Errors are errno values, 0 for
/// none; a write's error comes back from the next call that waits for it.
class BackgroundWrite
{
public:
    enum class WriteBack {
        Later, ///< leave write-back to the kernel
        StartNow, ///< start it after each write, so that a later fdatasync() mostly waits for nothing
    };

    explicit BackgroundWrite(int fd, WriteBack writeBack = WriteBack::Later);
    ~BackgroundWrite(); ///< waits for the last write
    BackgroundWrite(const BackgroundWrite &) = delete;
    BackgroundWrite &operator=(const BackgroundWrite &) = delete;

    /// The buffer being filled, never the one being written.
    QByteArray &buffer();
    /// buffer(), size bytes long.
    QByteArray &nextBuffer(qint64 size);
    /// Bytes filled or being written, not yet in the file.
    qint64 pendingBytes() const;
    /// Writes buffer() once the write before is done, and gives an empty
    /// buffer to fill next. Returns the errno of the write before.
    int start();
    /// Waits for the last write. Returns its errno.
    int finish();
    /// finish(), then gives both buffers' memory back.
    int close();

private:
    int m_fd;
    WriteBack m_writeBack;
    QThreadPool m_writer;
    QByteArray m_buffers[2];
    int m_next = 0;
    qint64 m_written = 0; ///< bytes handed to the thread so far
    QFuture<int> m_pending;
    bool m_writing = false;
};

} // namespace Rewind
