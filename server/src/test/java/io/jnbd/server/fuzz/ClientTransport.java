package io.jnbd.server.fuzz;

import io.jnbd.internal.transport.Transport;
import java.nio.ByteBuffer;

/**
 * A client that says exactly the bytes it was given and nothing more: reads
 * past the end (or after close) see end of stream, so the server never
 * blocks. What the server writes goes to a {@link Sink}, which checks it.
 */
final class ClientTransport implements Transport {
    /** Receives the server's bytes, in order. */
    interface Sink {
        void accept(ByteBuffer b);
    }

    private final byte[] client;
    /** Largest read handed out at once; small values make every field straddle reads. */
    private final int maxRead;
    private final Sink sink;
    private int next;
    private boolean closed;

    ClientTransport(byte[] client, int offset, int maxRead, Sink sink) {
        this.client = client;
        this.next = offset;
        this.maxRead = maxRead;
        this.sink = sink;
    }

    @Override
    public synchronized int read(ByteBuffer dst) {
        if (closed || next == client.length) {
            return -1;
        }
        int n = Math.min(Math.min(dst.remaining(), maxRead), client.length - next);
        dst.put(client, next, n);
        next += n;
        return n;
    }

    @Override
    public synchronized void write(ByteBuffer... srcs) {
        for (ByteBuffer b : srcs) {
            sink.accept(b);
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
