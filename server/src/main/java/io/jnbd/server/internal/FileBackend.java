package io.jnbd.server.internal;

import io.jnbd.internal.posix.Fd;
import io.jnbd.internal.posix.Posix;
import io.jnbd.server.Backend;
import io.jnbd.server.BackendException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A file or block device at the size it had when opened; holes from SEEK_DATA/SEEK_HOLE. */
public final class FileBackend implements Backend {
    private final FileChannel channel;
    private final long size;
    private final boolean writable;
    /** A second descriptor of the file for lseek; null where native calls are unavailable (all data then). */
    private final Fd seeker;

    private FileBackend(FileChannel channel, long size, boolean writable, Fd seeker) {
        this.channel = channel;
        this.size = size;
        this.writable = writable;
        this.seeker = seeker;
    }

    public static FileBackend open(Path path, boolean readOnly) throws IOException {
        if (Files.isDirectory(path)) {
            throw new IOException(path + ": is a directory");
        }
        FileChannel channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            // size() is 0 for a block device; its end is where a seek to the end lands.
            long size = Files.isRegularFile(path) ? channel.size() : channel.position(0).size();
            Fd seeker = Posix.isAvailable() && Files.isRegularFile(path) ? Posix.openReadOnly(path) : null;
            return new FileBackend(channel, size, !readOnly, seeker);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                // The file shrank under us: what is gone reads as zeroes.
                Zeroes.fill(dst);
                return;
            }
            pos += n;
        }
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        if (!writable) {
            throw new BackendException(BackendException.EPERM, "the file is open read-only");
        }
        long pos = offset;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
        if (fua) {
            flush();
        }
    }

    @Override
    public void flush() throws IOException {
        if (writable) {
            channel.force(false);
        }
    }

    @Override
    public void extents(long offset, long length, ExtentSink sink) throws IOException {
        if (seeker == null) {
            sink.extent(length, 0);
            return;
        }
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            long data = seeker.seekData(pos);
            if (data < 0 || data >= end) {
                sink.extent(end - pos, ExtentSink.HOLE | ExtentSink.ZERO);
                return;
            }
            if (data > pos) {
                if (!sink.extent(data - pos, ExtentSink.HOLE | ExtentSink.ZERO)) {
                    return;
                }
                pos = data;
            }
            long hole = seeker.seekHole(pos);
            long next = hole <= pos ? end : Math.min(end, hole);
            if (!sink.extent(next - pos, 0)) {
                return;
            }
            pos = next;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (seeker != null) {
                seeker.close();
            }
        }
    }
}
