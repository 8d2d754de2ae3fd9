package io.jnbd.internal.posix;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * Owns one open file descriptor (in practice a socket).
 *
 * <p>Thread-safe: one thread may read while another writes, and {@link #close()}
 * may be called from any thread at any time. The descriptor number never
 * leaves this package, and it is released only once no thread is inside a
 * call on it, so it cannot be reused under a concurrent reader or writer.
 */
public final class Fd implements AutoCloseable {
    /** Further receptions are disallowed. */
    public static final int SHUT_RD = 0;
    /** Further transmissions are disallowed; the peer reads end of stream. */
    public static final int SHUT_WR = 1;
    /** Both directions. */
    public static final int SHUT_RDWR = 2;

    /** Bounds the native bounce memory used for heap buffers per thread and per call. */
    private static final int MAX_BOUNCE = 1 << 20;
    private static final int MIN_BOUNCE = 8 << 10;
    /** Linux's UIO_MAXIOV. */
    private static final int IOV_MAX = 1024;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int fd;
    /** Threads inside a call on {@link #fd}; guarded by this. */
    private int users;
    /** Guarded by this. */
    private boolean closed;
    /** Set once sendmsg says ENOTSOCK; such descriptors are written with writev. */
    private volatile boolean notSocket;

    Fd(int fd) {
        this.fd = fd;
    }

    /**
     * Pins the descriptor number for a call: until the matching
     * {@link #release()}, close() cannot release it.
     *
     * @param operation names the failed call if already closed
     * @return the descriptor number
     */
    int acquire(String operation) throws PosixException {
        synchronized (this) {
            if (closed) {
                throw new PosixException(operation, Libc.EBADF);
            }
            users++;
            return fd;
        }
    }

    void release() {
        synchronized (this) {
            if (--users > 0 || !closed) {
                return;
            }
        }
        Libc.close(fd);
    }

    /**
     * Reads into {@code dst} from its position to its limit, blocking until at
     * least one byte arrives, and advances its position.
     *
     * @return the number of bytes read, 0 if {@code dst} has no room, or -1 at end of stream
     *         (also when {@link #close()} woke this call)
     */
    public int read(ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int room = dst.remaining();
        if (room == 0) {
            return 0;
        }
        int n = acquire("read");
        try {
            long got;
            if (dst.isDirect()) {
                MemorySegment target = MemorySegment.ofBuffer(dst);
                do {
                    got = Libc.read(n, target, room);
                } while (got == -Libc.EINTR);
            } else {
                MemorySegment bounce = SCRATCH.get().bounce(Math.min(room, MAX_BOUNCE));
                do {
                    got = Libc.read(n, bounce, bounce.byteSize());
                } while (got == -Libc.EINTR);
                if (got > 0) {
                    MemorySegment.copy(bounce, 0, MemorySegment.ofBuffer(dst), 0, got);
                }
            }
            if (got < 0) {
                throw new PosixException("read", (int) -got);
            }
            if (got == 0) {
                return -1;
            }
            dst.position(dst.position() + (int) got);
            return (int) got;
        } finally {
            release();
        }
    }

    /**
     * Writes from {@code src}'s position towards its limit and advances its
     * position; may write only part.
     *
     * @return the number of bytes written
     */
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    /**
     * Gathering write of the buffers in order; may write only part. Each
     * buffer's position advances by what was taken from it.
     *
     * @return the number of bytes written
     */
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /**
     * Gathering write of {@code srcs[offset]} to {@code srcs[offset + length - 1]}, as
     * {@link #write(ByteBuffer[])}.
     *
     * @return the number of bytes written
     */
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        Scratch scratch = SCRATCH.get();
        long heapBytes = 0;
        for (int i = offset; i < offset + length && heapBytes < MAX_BOUNCE; i++) {
            if (!srcs[i].isDirect()) {
                heapBytes += srcs[i].remaining();
            }
        }
        MemorySegment bounce = scratch.bounce((int) Math.min(heapBytes, MAX_BOUNCE));
        MemorySegment iov = scratch.iov;
        int iovcnt = 0;
        long bounceUsed = 0;
        for (int i = offset; i < offset + length && iovcnt < IOV_MAX; i++) {
            ByteBuffer src = srcs[i];
            int len = src.remaining();
            if (len == 0) {
                continue;
            }
            MemorySegment base;
            if (src.isDirect()) {
                base = MemorySegment.ofBuffer(src);
            } else {
                len = (int) Math.min(len, bounce.byteSize() - bounceUsed);
                if (len == 0) {
                    break;
                }
                base = bounce.asSlice(bounceUsed, len);
                MemorySegment.copy(MemorySegment.ofBuffer(src), 0, base, 0, len);
                bounceUsed += len;
            }
            iov.set(ADDRESS, iovcnt * Libc.IOVEC_SIZE, base);
            iov.set(JAVA_LONG, iovcnt * Libc.IOVEC_SIZE + 8, len);
            iovcnt++;
            if (len < src.remaining()) {
                break;
            }
        }
        if (iovcnt == 0) {
            return 0;
        }
        long written;
        int n = acquire("write");
        try {
            written = gather(n, scratch, iovcnt);
        } finally {
            release();
            // The iovec holds raw addresses into the direct buffers.
            Reference.reachabilityFence(srcs);
        }
        if (written < 0) {
            throw new PosixException("write", (int) -written);
        }
        long left = written;
        for (int i = offset; i < offset + length && left > 0; i++) {
            int take = (int) Math.min(left, srcs[i].remaining());
            srcs[i].position(srcs[i].position() + take);
            left -= take;
        }
        return written;
    }

    /** sendmsg with MSG_NOSIGNAL so a closed peer gives EPIPE, never SIGPIPE; writev for non-sockets. */
    private long gather(int n, Scratch scratch, int iovcnt) {
        long r;
        if (!notSocket) {
            scratch.msg.set(JAVA_LONG, Libc.MSGHDR_IOVLEN_OFFSET, iovcnt);
            do {
                r = Libc.sendmsg(n, scratch.msg, Libc.MSG_NOSIGNAL);
            } while (r == -Libc.EINTR);
            if (r != -Libc.ENOTSOCK) {
                return r;
            }
            notSocket = true;
        }
        do {
            r = Libc.writev(n, scratch.iov, iovcnt);
        } while (r == -Libc.EINTR);
        return r;
    }

    /**
     * shutdown(2).
     *
     * @param how {@link #SHUT_RD}, {@link #SHUT_WR} or {@link #SHUT_RDWR}
     */
    public void shutdown(int how) throws IOException {
        int n = acquire("shutdown");
        try {
            int r = Libc.shutdown(n, how);
            if (r < 0) {
                throw new PosixException("shutdown", -r);
            }
        } finally {
            release();
        }
    }

    /**
     * lseek(SEEK_DATA): the first offset at or after {@code offset} that holds
     * data, or -1 if there is none before the end of the file (ENXIO).
     */
    public long seekData(long offset) throws IOException {
        return seek(offset, SEEK_DATA);
    }

    /** lseek(SEEK_HOLE): the first hole at or after {@code offset} (the end of the file counts as one), or -1 past it. */
    public long seekHole(long offset) throws IOException {
        return seek(offset, SEEK_HOLE);
    }

    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;

    private long seek(long offset, int whence) throws IOException {
        int n = acquire("lseek");
        try {
            long r = Libc.lseek(n, offset, whence);
            if (r == -Libc.ENXIO) {
                return -1;
            }
            if (r < 0) {
                throw new PosixException("lseek", (int) -r);
            }
            return r;
        } finally {
            release();
        }
    }

    /** False once {@link #close()} has been called. */
    public boolean isOpen() {
        synchronized (this) {
            return !closed;
        }
    }

    /**
     * Closes the descriptor; idempotent, callable from any thread. A thread
     * blocked in {@link #read} or {@link #write} on a socket is woken by
     * shutdown(SHUT_RDWR) (read sees end of stream, write fails with EPIPE);
     * the descriptor itself is released when the last such call returns.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (users > 0) {
                // Only when busy: a plain close must not end the connection for
                // a child process that holds a copy of this socket.
                Libc.shutdown(fd, SHUT_RDWR);
                return;
            }
        }
        Libc.close(fd);
    }

    /** Per-thread native memory for iovecs and for staging heap buffers. */
    private static final class Scratch {
        final MemorySegment iov;
        final MemorySegment msg;
        private MemorySegment bounce = MemorySegment.NULL;

        Scratch() {
            Arena arena = Arena.ofAuto();
            iov = arena.allocate(Libc.IOVEC_SIZE * IOV_MAX, 8);
            msg = arena.allocate(Libc.MSGHDR_SIZE, 8);
            msg.set(ADDRESS, Libc.MSGHDR_IOV_OFFSET, iov);
        }

        /** A native segment of exactly {@code size} bytes, valid until this thread's next call. */
        MemorySegment bounce(int size) {
            if (bounce.byteSize() < size) {
                int capacity = Math.max(MIN_BOUNCE, Integer.highestOneBit(size - 1) << 1);
                // Its own arena, so the smaller predecessor can be freed.
                bounce = Arena.ofAuto().allocate(capacity, 16);
            }
            return bounce.asSlice(0, size);
        }
    }
}
