package io.jnbd.server.internal;

import io.jnbd.server.Backend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** nbdkit's pattern plugin: read-only, each 8-byte big-endian word holds its own offset. */
public final class PatternBackend implements Backend {
    private final long size;

    public PatternBackend(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        ByteBuffer b = dst.slice().order(ByteOrder.BIG_ENDIAN);
        long pos = offset;
        // Head up to the next word boundary, byte by byte.
        while ((pos & 7) != 0 && b.hasRemaining()) {
            b.put(byteAt(pos++));
        }
        while (b.remaining() >= 8) {
            b.putLong(pos);
            pos += 8;
        }
        while (b.hasRemaining()) {
            b.put(byteAt(pos++));
        }
        dst.position(dst.limit());
    }

    private static byte byteAt(long pos) {
        long word = pos & ~7L;
        return (byte) (word >>> (56 - 8 * (pos & 7)));
    }
}
