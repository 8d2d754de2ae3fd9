package io.jnbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * Decoder of block status chunk payloads: NBD_REPLY_TYPE_BLOCK_STATUS (32-bit
 * descriptors) and NBD_REPLY_TYPE_BLOCK_STATUS_EXT (64-bit, extended headers).
 * Extents come out as pairs (length, flags) in a {@code long[]}.
 */
public final class BlockStatusChunk {
    /** Bound on one chunk: a million 64-bit extents. */
    public static final long MAX_LENGTH = 8 + 16L * 1024 * 1024;

    private BlockStatusChunk() {
    }

    /** Checks a chunk's length before its payload is read; returns nothing, throws on nonsense. */
    public static void checkLength(long length, boolean extended) throws ProtocolException {
        boolean ok = extended
                ? length >= 8 + 16 && (length - 8) % 16 == 0
                : length >= 4 + 8 && (length - 4) % 8 == 0;
        if (!ok || length > MAX_LENGTH) {
            throw new ProtocolException((extended ? "NBD_REPLY_TYPE_BLOCK_STATUS_EXT" : "NBD_REPLY_TYPE_BLOCK_STATUS")
                    + " chunk has invalid length " + length);
        }
    }

    /** The context id of a payload (its first 4 bytes), without consuming it. */
    public static int contextId(ByteBuffer payload) {
        return payload.getInt(payload.position());
    }

    /** Decodes a whole payload (length already checked) into (length, flags) pairs. */
    public static long[] decode(ByteBuffer payload, boolean extended) throws ProtocolException {
        payload.getInt();
        long[] pairs;
        if (extended) {
            long count = Integer.toUnsignedLong(payload.getInt());
            if (count * 16 != payload.remaining()) {
                throw new ProtocolException("NBD_REPLY_TYPE_BLOCK_STATUS_EXT descriptor count " + count
                        + " does not match the chunk length");
            }
            pairs = new long[(int) count * 2];
            for (int i = 0; i < pairs.length; i += 2) {
                pairs[i] = payload.getLong();
                pairs[i + 1] = payload.getLong();
                if (pairs[i] <= 0) {
                    throw new ProtocolException("block status extent of length " + Long.toUnsignedString(pairs[i]));
                }
            }
        } else {
            pairs = new long[payload.remaining() / 4];
            for (int i = 0; i < pairs.length; i += 2) {
                pairs[i] = Integer.toUnsignedLong(payload.getInt());
                pairs[i + 1] = Integer.toUnsignedLong(payload.getInt());
                if (pairs[i] == 0) {
                    throw new ProtocolException("block status extent of length 0");
                }
            }
        }
        return pairs;
    }

    /**
     * The 32-bit form libnbd's nbd_block_status callback gets: an extent longer
     * than 32 bits is cut to the largest multiple of {@code align} that fits,
     * and the extents after it are dropped (the caller asks again from there).
     */
    public static int[] toEntries32(long[] pairs, long align) {
        long max = 0xFFFFFFFFL / Math.max(align, 1) * Math.max(align, 1);
        int n = 0;
        while (n < pairs.length && Long.compareUnsigned(pairs[n], max) <= 0) {
            n += 2;
        }
        boolean cut = n < pairs.length;
        int[] entries = new int[cut ? n + 2 : n];
        for (int i = 0; i < n; i++) {
            entries[i] = (int) pairs[i];
        }
        if (cut) {
            entries[n] = (int) max;
            entries[n + 1] = (int) pairs[n + 1];
        }
        return entries;
    }
}
