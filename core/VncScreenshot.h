// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "Result.h"

#include <sys/types.h>

#include <QImage>
#include <QRect>
#include <QSize>
#include <QString>

#include <chrono>

namespace Rewind
{

/// Pictures of a session's screen, taken from its Xvnc through the VNC unix
/// socket (Xvnc -rfbunixpath PATH -rfbport -1 -SecurityTypes None).
class VncScreenshot
{
public:
    /// Connects to the VNC server listening on unixSocketPath, reads one
    /// complete framebuffer and disconnects. Symbolic links in the path are
    /// refused where the kernel can tell (openat2), at least in its last
    /// component, and the path must be a socket. Gives up after timeout.
    /// The encodings asked for are lossless, so the image is exact.
    ///
    /// The socket is opened here (as an O_PATH descriptor); the VNC protocol
    /// is spoken by the program rewind-screenshot, which inherits only that
    /// descriptor and writes the picture as raw pixels. This process reads
    /// no more than a picture of at most 8192x8192 pixels and decodes
    /// nothing: it checks the sizes and copies the pixels.
    static Result<QImage> grab(const QString &unixSocketPath, std::chrono::milliseconds timeout);
    /// The same for a socket inside a cell, at pathInCell below the root of
    /// the cell whose init is initPid; no symbolic link there is followed.
    /// rewind-screenshot runs as uid:gid, the display's owner (without
    /// supplementary groups and new privileges), so the owner's Xvnc never
    /// talks to a privileged process. A picture larger than expectedSize
    /// (when given) is refused.
    static Result<QImage>
    grabInCell(pid_t initPid, const QString &pathInCell, std::chrono::milliseconds timeout, uid_t uid = 0, gid_t gid = 0, QSize expectedSize = {});

    /// The image scaled smoothly to width pixels wide, keeping its aspect
    /// ratio; an image already that narrow or narrower is returned as is.
    static QImage thumbnail(const QImage &image, int width = 320);

    /// The fraction (0 to 1) of pixels whose colour differs between a and b,
    /// not counting those inside ignore. Images of different sizes differ
    /// entirely (1.0).
    static double differingFraction(const QImage &a, const QImage &b, const QRect &ignore = {});
};

} // namespace Rewind
