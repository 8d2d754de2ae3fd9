package io.jnbd.internal.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BlockStatusChunkTest {

    @Test
    void compactDescriptors() throws ProtocolException {
        ByteBuffer p = ByteBuffer.allocate(4 + 16).putInt(7).putInt(4096).putInt(3).putInt(-512).putInt(0).flip();
        BlockStatusChunk.checkLength(p.remaining(), false);
        assertEquals(7, BlockStatusChunk.contextId(p));
        assertArrayEquals(new long[]{4096, 3, 0xFFFFFE00L, 0}, BlockStatusChunk.decode(p, false));
    }

    @Test
    void extendedDescriptors() throws ProtocolException {
        ByteBuffer p = ByteBuffer.allocate(8 + 32).putInt(1).putInt(2)
                .putLong(1L << 40).putLong(1).putLong(512).putLong(2).flip();
        BlockStatusChunk.checkLength(p.remaining(), true);
        assertArrayEquals(new long[]{1L << 40, 1, 512, 2}, BlockStatusChunk.decode(p, true));
    }

    @Test
    void badLengthsAndCountsAreProtocolErrors() {
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.checkLength(8, false));
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.checkLength(13, false));
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.checkLength(20, true));
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.checkLength(1L << 32, false));
        ByteBuffer wrongCount = ByteBuffer.allocate(24).putInt(1).putInt(5).putLong(512).putLong(0).flip();
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.decode(wrongCount, true));
        ByteBuffer zeroLength = ByteBuffer.allocate(12).putInt(1).putInt(0).putInt(0).flip();
        assertThrows(ProtocolException.class, () -> BlockStatusChunk.decode(zeroLength, false));
    }

    @Test
    void longExtentsAreCutFor32BitCallbacks() {
        long[] pairs = {4096, 0, 8L << 30, 3, 4096, 1};
        // 8 GiB does not fit: cut to the largest multiple of 512 below 4 GiB, and stop there.
        assertArrayEquals(new int[]{4096, 0, (int) 0xFFFFFE00L, 3}, BlockStatusChunk.toEntries32(pairs, 512));
        assertArrayEquals(new int[]{4096, 0, 512, 1}, BlockStatusChunk.toEntries32(new long[]{4096, 0, 512, 1}, 0));
    }
}
