package io.jnbd.server.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/** One shared block of zeroes, handed out as read-only views. */
final class Zeroes {
    static final int SIZE = 1 << 20;
    static final MemorySegment SEGMENT = Arena.global().allocate(SIZE, 4096);
    private static final ByteBuffer BUFFER = SEGMENT.asByteBuffer().asReadOnlyBuffer();

    private Zeroes() {
    }

    /** Appends read-only zero buffers that add up to {@code length}. */
    static void slices(long length, List<ByteBuffer> out) {
        while (length > 0) {
            int n = (int) Math.min(SIZE, length);
            out.add(BUFFER.slice(0, n));
            length -= n;
        }
    }

    static void fill(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            int n = Math.min(SIZE, dst.remaining());
            dst.put(BUFFER.slice(0, n));
        }
    }
}
