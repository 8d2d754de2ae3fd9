package io.jnbd.internal.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BlockStatusChunkTest {
    private static final long HUGE = Long.MAX_VALUE;

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
    }

    @Test
    void narrowCallbacksGetLongExtentsCutAndTheRestDropped() {
        long[] raw = {4096, 0, 8L << 30, 3, 4096, 1};
        BlockStatusChunk.Cooked c = BlockStatusChunk.cook(raw, false, HUGE);
        // 8 GiB does not fit 32 bits: cut to 4 GiB - 64 MiB, as libnbd, and no error.
        assertArrayEquals(new long[]{4096, 0, (1L << 32) - (64 << 20), 3}, c.pairs());
        assertEquals(0, c.error());
        assertArrayEquals(raw, BlockStatusChunk.cook(raw, true, HUGE).pairs(), "wide callbacks see it whole");
    }

    @Test
    void flagsTooWideForNarrowCallbacks() {
        BlockStatusChunk.Cooked first = BlockStatusChunk.cook(new long[]{512, 1L << 33, 512, 0}, false, HUGE);
        assertEquals(75, first.error(), "EOVERFLOW when no progress was made");
        assertArrayEquals(new long[]{512, 0}, first.pairs());
        BlockStatusChunk.Cooked later = BlockStatusChunk.cook(new long[]{512, 0, 512, 1L << 33}, false, HUGE);
        assertEquals(0, later.error(), "dropped silently after progress");
        assertArrayEquals(new long[]{512, 0}, later.pairs());
    }

    @Test
    void extentsNeverPassTheEndOfTheExport() {
        BlockStatusChunk.Cooked c = BlockStatusChunk.cook(new long[]{4096, 0, 4096, 1}, true, 6144);
        assertArrayEquals(new long[]{4096, 0, 2048, 1}, c.pairs());
        assertEquals(71, c.error());
    }

    @Test
    void zeroLengthExtents() {
        BlockStatusChunk.Cooked first = BlockStatusChunk.cook(new long[]{0, 0, 512, 0}, true, HUGE);
        assertEquals(71, first.error());
        assertArrayEquals(new long[]{0, 0}, first.pairs());
        BlockStatusChunk.Cooked later = BlockStatusChunk.cook(new long[]{512, 0, 0, 0}, true, HUGE);
        assertEquals(0, later.error());
        assertArrayEquals(new long[]{512, 0}, later.pairs());
    }

    @Test
    void lengthsBeyondSixtyThreeBits() {
        BlockStatusChunk.Cooked c = BlockStatusChunk.cook(new long[]{-1L, 0, 512, 0}, true, -1L >>> 1);
        assertEquals(1, c.count());
        assertEquals(Long.MAX_VALUE - (64 << 20) + 1, c.pairs()[0]);
    }
}
