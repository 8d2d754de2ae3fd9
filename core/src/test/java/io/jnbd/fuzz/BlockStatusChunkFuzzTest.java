package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.BlockStatusChunk;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.ProtocolException;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Block status chunk payloads as the reply reader handles them: the length
 * checked first, then the payload decoded, then cooked into what an extent
 * callback may see (libnbd 1.22's rules, in {@link BlockStatusChunk#cook}).
 */
class BlockStatusChunkFuzzTest {

    /**
     * Input: a mode byte (bit 0 set for NBD_REPLY_TYPE_BLOCK_STATUS_EXT, else
     * the compact NBD_REPLY_TYPE_BLOCK_STATUS; bit 1 set for a 64-bit extent
     * callback, else a 32-bit one), 8 bytes of how much of the export lies
     * beyond the request's offset (its top bit ignored: an export is at most
     * 2^63-1 bytes), then the chunk payload.
     */
    @FuzzTest
    void chunk(byte[] data) {
        decode(data);
    }

    /** True if the payload was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        if (data.length < 1 + 8) {
            return false;
        }
        boolean extended = (data[0] & 1) != 0;
        boolean wide = (data[0] & 2) != 0;
        long cap = ByteBuffer.wrap(data, 1, 8).getLong() & Long.MAX_VALUE;
        ByteBuffer payload = ByteBuffer.wrap(data, 1 + 8, data.length - 1 - 8).slice();
        long[] raw;
        try {
            BlockStatusChunk.checkLength(payload.remaining(), extended);
            BlockStatusChunk.contextId(payload);
            raw = BlockStatusChunk.decode(payload, extended);
        } catch (ProtocolException e) {
            return false;
        }
        assertFalse(payload.hasRemaining(), "payload not consumed");
        assertTrue(raw.length >= 2 && raw.length % 2 == 0, raw.length + " raw values");

        BlockStatusChunk.Cooked cooked = BlockStatusChunk.cook(raw, wide, cap);
        long[] out = cooked.pairs();
        int error = cooked.error();
        assertTrue(error == 0 || error == Errno.EPROTO || error == Errno.EOVERFLOW, "error " + error);
        assertTrue(out.length >= 2 && out.length % 2 == 0 && out.length <= raw.length,
                out.length + " cooked values from " + raw.length);
        long total = 0;
        for (int i = 0; i < out.length; i += 2) {
            long length = out[i];
            long flags = out[i + 1];
            boolean last = i == out.length - 2;
            assertTrue(length >= 0, "extent longer than 2^63-1");
            assertTrue(length > 0 || (i == 0 && error != 0), "an empty extent passed as a real one");
            if (!wide) {
                assertTrue(length <= 0xFFFFFFFFL && flags >>> 32 == 0, "too wide for a 32-bit callback");
            }
            assertTrue(Long.compareUnsigned(length, raw[i]) <= 0, "extent grew");
            assertTrue(length == raw[i] || last, "an extent cut short is not the last one");
            assertTrue(flags == raw[i + 1] || (i == 0 && error == Errno.EOVERFLOW),
                    "flags changed without an EOVERFLOW");
            total += length;
            assertTrue(total >= 0 && total <= cap, "extents run past the export");
        }
        return true;
    }
}
