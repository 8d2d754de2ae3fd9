package io.jnbd.server.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** nbdkit's pattern plugin: read-only, each 8-byte big-endian word holds its own offset. */
public final class PatternBackend extends SizedBackend {
    private static final ValueLayout.OfLong WORD =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);


    public PatternBackend(long size) {
        super(size);
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        ByteBuffer b = dst.slice().order(ByteOrder.BIG_ENDIAN);
        long pos = offset;
        // Head up to the next word boundary, byte by byte.
        while ((pos & 7) != 0 && b.hasRemaining()) {
            b.put(byteAt(pos++));
        }
        int words = b.remaining() >>> 3;
        if (words > 0) {
            // An indexed loop over a segment, which the JIT unrolls and vectorizes.
            MemorySegment seg = b.isDirect() ? MemorySegment.ofBuffer(b) : MemorySegment.ofArray(new byte[0]);
            if (b.isDirect()) {
                for (int i = 0; i < words; i++) {
                    seg.set(WORD, (long) i << 3, pos + ((long) i << 3));
                }
                b.position(b.position() + (words << 3));
                pos += (long) words << 3;
            } else {
                while (b.remaining() >= 8) {
                    b.putLong(pos);
                    pos += 8;
                }
            }
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
