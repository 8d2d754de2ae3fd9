package io.jnbd.internal.engine;

import io.jnbd.internal.transport.Transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A transport with a read-ahead buffer and a write lock.
 *
 * <p>Reads are for one thread at a time (the negotiator, then the reply
 * reader). Small reads (headers) are served from the read-ahead buffer so
 * that one system call brings many of them; large payloads are read straight
 * into the caller's buffer once the read-ahead is drained. Writes from many
 * threads are serialized whole, so each request leaves in one piece.
 */
public final class WireChannel implements AutoCloseable {
    private static final int READ_AHEAD = 64 * 1024;
    /** Payloads at least this large skip the read-ahead buffer. */
    private static final int DIRECT_READ_THRESHOLD = 16 * 1024;
    /**
     * How far a header read reaches while large payloads are arriving: the
     * longest reply header (32 bytes, extended) plus an offset, so that one
     * read brings a whole header and the payload after it lands in the
     * caller's buffer rather than being copied out of the read-ahead.
     */
    private static final int HEADER_READ = 40;

    /** Replaced once at most, by {@link #upgrade}, while no other thread uses the channel. */
    private volatile Transport transport;
    /** Unread bytes are between position and limit. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(READ_AHEAD).flip();
    /**
     * Whether the last payload read was large: replies then tend to come
     * with large payloads (a sequential copy), and header reads stop at
     * {@link #HEADER_READ} instead of filling the read-ahead buffer with
     * payload bytes that would have to be copied. Reader thread only.
     */
    private boolean largePayloads;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Guarded by writeLock: the gathering arrays of one- and two-part writes. */
    private final ByteBuffer[] one = new ByteBuffer[1];
    private final ByteBuffer[] pair = new ByteBuffer[2];
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder chunksSent = new LongAdder();
    private final LongAdder chunksReceived = new LongAdder();

    public WireChannel(Transport transport) {
        this.transport = transport;
    }

    public Transport transport() {
        return transport;
    }

    /** Bytes received and not yet consumed. */
    public int buffered() {
        return in.remaining();
    }

    /**
     * Carries on over {@code upgraded} (TLS over the current transport) after
     * NBD_OPT_STARTTLS. Called by the negotiating thread, the only one using
     * the channel then; nothing may be buffered, since those bytes came before
     * the upgrade.
     */
    public void upgrade(Transport upgraded) {
        if (in.hasRemaining()) {
            throw new IllegalStateException(in.remaining() + " bytes buffered across a transport upgrade");
        }
        transport = upgraded;
    }

    /**
     * Returns the read-ahead buffer with at least {@code n} unread bytes from its
     * position; the caller consumes them with relative gets.
     */
    public ByteBuffer need(int n) throws IOException {
        if (n > in.capacity()) {
            throw new IllegalArgumentException("read of " + n + " bytes exceeds the read-ahead buffer");
        }
        if (in.remaining() >= n) {
            return in;
        }
        in.compact();
        try {
            if (largePayloads) {
                in.limit(Math.max(n, HEADER_READ));
            }
            while (in.position() < n) {
                fill(in);
            }
        } finally {
            in.flip();
        }
        return in;
    }

    /** Reads exactly {@code dst.remaining()} bytes into {@code dst}. */
    public void readFully(ByteBuffer dst) throws IOException {
        largePayloads = dst.remaining() >= DIRECT_READ_THRESHOLD;
        int buffered = Math.min(in.remaining(), dst.remaining());
        if (buffered > 0) {
            int oldLimit = in.limit();
            in.limit(in.position() + buffered);
            dst.put(in);
            in.limit(oldLimit);
        }
        while (dst.hasRemaining()) {
            if (dst.remaining() >= DIRECT_READ_THRESHOLD) {
                fill(dst);
            } else {
                ByteBuffer b = need(dst.remaining());
                int oldLimit = b.limit();
                b.limit(b.position() + dst.remaining());
                dst.put(b);
                b.limit(oldLimit);
            }
        }
    }

    /** Reads and discards {@code n} bytes. */
    public void skip(long n) throws IOException {
        while (n > 0) {
            if (!in.hasRemaining()) {
                need(1);
            }
            int k = (int) Math.min(n, in.remaining());
            in.position(in.position() + k);
            n -= k;
        }
    }

    private void fill(ByteBuffer dst) throws IOException {
        int r = transport.read(dst);
        if (r < 0) {
            throw new ConnectionClosedException();
        }
        bytesReceived.add(r);
    }

    /** Writes {@code src} as one unit with respect to other writers. */
    public void write(ByteBuffer src) throws IOException {
        long total = src.remaining();
        writeLock.lock();
        try {
            one[0] = src;
            transport.write(one);
        } finally {
            one[0] = null;
            writeLock.unlock();
        }
        bytesSent.add(total);
    }

    /**
     * Writes {@code header} then {@code body}'s bytes from position to limit
     * as one unit, leaving {@code body}'s position where it was: the caller's
     * buffer is borrowed, not consumed, and no view of it is allocated.
     */
    public void write(ByteBuffer header, ByteBuffer body) throws IOException {
        int position = body.position();
        long total = header.remaining() + body.remaining();
        writeLock.lock();
        try {
            pair[0] = header;
            pair[1] = body;
            transport.write(pair);
        } finally {
            pair[0] = null;
            pair[1] = null;
            body.position(position);
            writeLock.unlock();
        }
        bytesSent.add(total);
    }

    /**
     * Reads exactly {@code length} bytes into {@code dst} at absolute
     * {@code index}, borrowing the buffer's position and limit and restoring
     * them after, so that no view of the caller's buffer is allocated.
     */
    public void readFully(ByteBuffer dst, int index, int length) throws IOException {
        int position = dst.position();
        int limit = dst.limit();
        try {
            dst.limit(index + length).position(index);
            readFully(dst);
        } finally {
            dst.limit(limit).position(position);
        }
    }

    /** Counts one protocol message sent (an option or a request), for libnbd's statistics. */
    public void chunkSent() {
        chunksSent.increment();
    }

    /** Counts one protocol message received (an option reply, a simple reply or a chunk). */
    public void chunkReceived() {
        chunksReceived.increment();
    }

    public long chunksSent() {
        return chunksSent.sum();
    }

    public long chunksReceived() {
        return chunksReceived.sum();
    }

    public long bytesSent() {
        return bytesSent.sum();
    }

    public long bytesReceived() {
        return bytesReceived.sum();
    }

    @Override
    public void close() {
        transport.close();
    }
}
