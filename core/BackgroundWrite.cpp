// SPDX-License-Identifier: GPL-2.0-or-later
#include "BackgroundWrite.h"

#include "FileWriting.h"

#include <QtConcurrentRun>

#include <fcntl.h>

namespace Rewind
{

BackgroundWrite::BackgroundWrite(int fd, WriteBack writeBack)
    : m_fd(fd)
    , m_writeBack(writeBack)
{
    m_writer.setMaxThreadCount(1);
}

BackgroundWrite::~BackgroundWrite()
{
    finish();
}

QByteArray &BackgroundWrite::buffer()
{
    return m_buffers[m_next];
}

QByteArray &BackgroundWrite::nextBuffer(qint64 size)
{
    QByteArray &filled = buffer();
    filled.resize(size);
    return filled;
}

qint64 BackgroundWrite::pendingBytes() const
{
    return m_buffers[m_next].size() + (m_writing ? m_buffers[m_next ^ 1].size() : 0);
}

int BackgroundWrite::start()
{
    if (const int error = finish(); error != 0) {
        return error;
    }
    const QByteArray *filled = &m_buffers[m_next];
    if (filled->isEmpty()) {
        return 0;
    }
    const off_t offset = off_t(m_written);
    m_written += filled->size();
    m_pending = QtConcurrent::run(&m_writer, [fd = m_fd, filled, offset, startWriteBack = m_writeBack == WriteBack::StartNow] {
        if (!writeAll(fd, filled->constData(), std::size_t(filled->size()))) {
            return errno;
        }
        if (startWriteBack) {
            ::sync_file_range(fd, offset, off_t(filled->size()), SYNC_FILE_RANGE_WRITE);
        }
        return 0;
    });
    m_writing = true;
    m_next ^= 1;
    m_buffers[m_next].resize(0); // keeps the capacity
    return 0;
}

int BackgroundWrite::finish()
{
    if (!m_writing) {
        return 0;
    }
    m_writing = false;
    return m_pending.result(); // waits
}

int BackgroundWrite::close()
{
    const int error = finish();
    m_buffers[0] = QByteArray();
    m_buffers[1] = QByteArray();
    return error;
}

} // namespace Rewind
