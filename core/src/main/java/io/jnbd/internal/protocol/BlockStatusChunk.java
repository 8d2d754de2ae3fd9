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

    /** Decodes a whole payload (length already checked) into raw (length, flags) pairs, unsigned. */
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
            for (int i = 0; i < pairs.length; i++) {
                pairs[i] = payload.getLong();
            }
        } else {
            pairs = new long[payload.remaining() / 4];
            for (int i = 0; i < pairs.length; i++) {
                pairs[i] = Integer.toUnsignedLong(payload.getInt());
            }
        }
        return pairs;
    }

    /** Extents ready for a callback, and the error (0 if none) the command takes from them. */
    public record Cooked(long[] pairs, int error) {
        public int count() {
            return pairs.length / 2;
        }
    }

    /**
     * Turns raw extents into what a callback may see, as libnbd 1.22 does:
     * lengths never exceed 2^63-1 nor (for 32-bit callbacks, {@code wide}
     * false) 2^32-1, in which case the extent is cut to an aligned length and
     * the rest dropped; flags too wide for 32 bits end the list (an EOVERFLOW
     * error if that was the first extent); extents never run past the export
     * ({@code cap} bytes from the request's offset: cut there, EPROTO); a
     * zero-length extent ends the list (EPROTO if it was the first).
     */
    public static Cooked cook(long[] raw, boolean wide, long cap) {
        long[] out = new long[raw.length];
        int error = 0;
        long total = 0;
        int n = 0;
        boolean stop = false;
        for (int i = 0; i < raw.length && !stop; i += 2) {
            long len = raw[i];
            long flags = raw[i + 1];
            if (len < 0) {
                stop = true;
                len = Long.MAX_VALUE - Nbd.MAX_REQUEST_SIZE + 1;
            }
            if (!wide && Long.compareUnsigned(len, 0xFFFFFFFFL) > 0) {
                stop = true;
                len = 0x1_0000_0000L - Nbd.MAX_REQUEST_SIZE;
            }
            if (!wide && Long.compareUnsigned(flags, 0xFFFFFFFFL) > 0) {
                stop = true;
                if (i > 0) {
                    break;
                }
                error = error != 0 ? error : Errno.EOVERFLOW;
                flags &= 0xFFFFFFFFL;
            }
            if (Long.compareUnsigned(len, cap - total) > 0) {
                len = cap - total;
                stop = true;
                error = error != 0 ? error : Errno.EPROTO;
            }
            if (len == 0) {
                stop = true;
                if (i > 0) {
                    break;
                }
                error = error != 0 ? error : Errno.EPROTO;
            }
            total += len;
            out[n++] = len;
            out[n++] = flags;
        }
        return new Cooked(n == out.length ? out : java.util.Arrays.copyOf(out, n), error);
    }
}
