// SPDX-License-Identifier: GPL-2.0-or-later
//
// gzip [-d]: the gzip that CRIU's tar finds first in its PATH when Rewind
// runs CRIU (CriuCheckpointer).
//
// CRIU archives the contents of a cell's tmpfs mounts (its /tmp, which holds
// the session's home) with `tar --create --gzip` while the session is frozen,
// and restores them with `tar --extract --gzip`; tar runs "gzip" and
// "gzip -d". Compressing a home with Firefox's profile took 1.4 s of a 2.0 s
// freeze. This gzip stores instead (deflate blocks of level 0): the archive
// is written at the speed of a copy, the store compresses it with zstd after
// the thaw, and an archive that is not compressed shares the unchanged files'
// chunks with the previous snapshot's. Its output is standard gzip that any
// gzip reads; -d reads any gzip, including archives of older snapshots.
//
// Reads standard input, writes standard output; exits 0, or 1 with a
// message on standard error.

#include "FileWriting.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace
{

constexpr std::size_t bufferSize = 1 << 20;
std::array<unsigned char, bufferSize> input;
std::array<unsigned char, bufferSize> output;

int fail(const char *what)
{
    std::fprintf(stderr, "gzip (Rewind): %s\n", what);
    return 1;
}

/// Reads up to a buffer of standard input into the stream; the bytes read, 0 at its end, -1 on an error.
ssize_t refill(z_stream &stream)
{
    ssize_t got;
    do {
        got = ::read(STDIN_FILENO, input.data(), input.size());
    } while (got < 0 && errno == EINTR);
    stream.next_in = input.data();
    stream.avail_in = got > 0 ? uInt(got) : 0;
    return got;
}

/// Hands what the stream produced to standard output; false if it cannot be written.
bool drain(z_stream &stream)
{
    const bool written = Rewind::writeAll(STDOUT_FILENO, output.data(), output.size() - stream.avail_out);
    stream.next_out = output.data();
    stream.avail_out = uInt(output.size());
    return written;
}

int store()
{
    z_stream stream{};
    // 15 + 16: a gzip header and trailer around raw deflate.
    if (deflateInit2(&stream, Z_NO_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return fail("cannot start (out of memory)");
    }
    stream.next_out = output.data();
    stream.avail_out = uInt(output.size());
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        const ssize_t got = refill(stream);
        if (got < 0) {
            deflateEnd(&stream);
            return fail(std::strerror(errno));
        }
        const int flush = got == 0 ? Z_FINISH : Z_NO_FLUSH;
        do {
            status = deflate(&stream, flush);
            if (status == Z_STREAM_ERROR || (stream.avail_out == 0 && !drain(stream))) {
                deflateEnd(&stream);
                return fail("cannot write the archive");
            }
        } while (stream.avail_in > 0 || (flush == Z_FINISH && status != Z_STREAM_END));
    }
    const bool written = drain(stream);
    deflateEnd(&stream);
    return written ? 0 : fail("cannot write the archive");
}

int inflateAll()
{
    z_stream stream{};
    // 15 + 32: gzip or zlib, told by the header.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {
        return fail("cannot start (out of memory)");
    }
    stream.next_out = output.data();
    stream.avail_out = uInt(output.size());
    bool inMember = false;
    bool memberEnded = false;
    for (;;) {
        if (stream.avail_in == 0) {
            const ssize_t got = refill(stream);
            if (got < 0) {
                inflateEnd(&stream);
                return fail(std::strerror(errno));
            }
            if (got == 0) {
                break;
            }
        }
        // tar pads what gzip wrote to whole records with zeros, which gzip
        // ignores after a member.
        if (memberEnded && !inMember) {
            while (stream.avail_in > 0 && *stream.next_in == 0) {
                ++stream.next_in;
                --stream.avail_in;
            }
            if (stream.avail_in == 0) {
                continue;
            }
        }
        inMember = true;
        const int status = inflate(&stream, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
            inflateEnd(&stream);
            return fail("the archive is damaged");
        }
        if ((stream.avail_out == 0 || status == Z_STREAM_END) && !drain(stream)) {
            inflateEnd(&stream);
            return fail("cannot write the contents");
        }
        if (status == Z_STREAM_END) {
            // gzip reads members written one after another as one stream.
            inMember = false;
            memberEnded = true;
            inflateReset(&stream);
        }
    }
    inflateEnd(&stream);
    if (inMember) {
        return fail("the archive is truncated");
    }
    return drain(stream) ? 0 : fail("cannot write the contents");
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 1) {
        return store();
    }
    if (argc == 2 && (std::strcmp(argv[1], "-d") == 0 || std::strcmp(argv[1], "--decompress") == 0)) {
        return inflateAll();
    }
    std::fprintf(stderr, "usage: %s [-d] < input > output\n", argv[0]);
    return 2;
}
