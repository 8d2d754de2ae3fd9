package io.jnbd.server.internal;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A backend whose bytes already sit in memory: a read is answered by
 * writing views of that memory to the socket, with no copy.
 */
public interface SliceSource {
    /** Appends buffers (to be written in order, not modified) holding the {@code length} bytes at {@code offset}. */
    void slices(long offset, int length, List<ByteBuffer> out);
}
