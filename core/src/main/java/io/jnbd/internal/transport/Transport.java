package io.jnbd.internal.transport;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A connected byte stream to an NBD server.
 *
 * <p>Blocking. One thread may read while another writes. {@link #close()} may
 * be called from any thread at any time: it makes a blocked {@code read} or
 * {@code write} in another thread return (with -1 or an {@link IOException})
 * promptly, and never lets a descriptor number be reused while another thread
 * still uses it.
 */
public interface Transport extends AutoCloseable {

    /**
     * Reads at least one byte into {@code dst} (position to limit), blocking
     * until some arrive.
     *
     * @return the number of bytes read, or -1 at end of stream
     */
    int read(ByteBuffer dst) throws IOException;

    /** Writes every remaining byte of every buffer, in order, blocking as needed. */
    void write(ByteBuffer... srcs) throws IOException;

    /** Signals end of stream to the peer (shutdown(SHUT_WR)); reading still works. */
    void shutdownOutput() throws IOException;

    /** Closes the connection; idempotent. */
    @Override
    void close();
}
