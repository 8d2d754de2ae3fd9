package io.jnbd.server.internal;

import io.jnbd.internal.transport.Transport;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads a client's bytes through a 64 KiB read-ahead buffer; big payloads go straight to their destination. */
final class WireIn {
    private static final int CAPACITY = 64 << 10;
    private static final int DIRECT_READ = 16 << 10;

    private final Transport transport;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(CAPACITY).flip();

    WireIn(Transport transport) {
        this.transport = transport;
    }

    /**
     * Makes {@code n} bytes (at most 64 KiB) available and returns the buffer
     * positioned at them; the caller consumes exactly {@code n} with get calls.
     */
    ByteBuffer need(int n) throws IOException {
        if (buf.remaining() < n) {
            buf.compact();
            while (buf.position() < n) {
                if (transport.read(buf) < 0) {
                    boolean clean = buf.position() == 0;
                    buf.flip();
                    throw clean ? new EndOfStream() : new EOFException("the client closed the connection mid-message");
                }
            }
            buf.flip();
        }
        return buf;
    }

    /** Bytes read ahead and not consumed yet. */
    int buffered() {
        return buf.remaining();
    }

    /** Fills {@code dst} (position to limit). */
    void readFully(ByteBuffer dst) throws IOException {
        int take = Math.min(buf.remaining(), dst.remaining());
        dst.put(dst.position(), buf, buf.position(), take);
        dst.position(dst.position() + take);
        buf.position(buf.position() + take);
        while (dst.hasRemaining()) {
            if (dst.remaining() >= DIRECT_READ) {
                if (transport.read(dst) < 0) {
                    throw new EOFException("the client closed the connection mid-payload");
                }
            } else {
                need(dst.remaining());
                readFully(dst);
            }
        }
    }

    /** Reads and drops {@code n} bytes. */
    void skip(long n) throws IOException {
        while (n > 0) {
            int step = (int) Math.min(n, CAPACITY);
            ByteBuffer b = need(step);
            b.position(b.position() + step);
            n -= step;
        }
    }

    /** End of stream between two messages: the client simply went away. */
    static final class EndOfStream extends EOFException {
        private static final long serialVersionUID = 1L;

        EndOfStream() {
            super("the client closed the connection");
        }
    }
}
