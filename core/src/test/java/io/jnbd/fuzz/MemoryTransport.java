package io.jnbd.fuzz;

import io.jnbd.internal.transport.Transport;

import java.nio.ByteBuffer;

/**
 * A server that says exactly the bytes it was given and nothing more: reads
 * past the end (or after close) see end of stream, and whatever the client
 * writes is dropped. Reads never block, so a fuzz input always runs to an end.
 */
final class MemoryTransport implements Transport {
    private final byte[] server;
    /** Largest read handed out at once; small values make every field straddle reads. */
    private final int maxRead;
    private int next;
    private boolean closed;

    MemoryTransport(byte[] server, int offset, int maxRead) {
        this.server = server;
        this.next = offset;
        this.maxRead = maxRead;
    }

    @Override
    public synchronized int read(ByteBuffer dst) {
        if (closed || next == server.length) {
            return -1;
        }
        int n = Math.min(Math.min(dst.remaining(), maxRead), server.length - next);
        dst.put(server, next, n);
        next += n;
        return n;
    }

    @Override
    public void write(ByteBuffer... srcs) {
        for (ByteBuffer b : srcs) {
            b.position(b.limit());
        }
    }

    @Override
    public void shutdownOutput() {
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
