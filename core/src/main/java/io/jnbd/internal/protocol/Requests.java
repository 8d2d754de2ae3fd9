package io.jnbd.internal.protocol;

import java.nio.ByteBuffer;

/** Encoder of transmission-phase request headers (compact and extended). */
public final class Requests {
    public static final int COMPACT_SIZE = 28;
    public static final int EXTENDED_SIZE = 32;

    private Requests() {
    }

    /**
     * Writes one request header at {@code dst}'s position (big-endian).
     * In compact form the length must fit in 32 bits; the caller checks.
     */
    public static void encode(ByteBuffer dst, boolean extended, int flags, int type, long cookie, long offset,
                              long length) {
        dst.putInt(extended ? Nbd.EXTENDED_REQUEST_MAGIC : Nbd.REQUEST_MAGIC)
                .putShort((short) flags)
                .putShort((short) type)
                .putLong(cookie)
                .putLong(offset);
        if (extended) {
            dst.putLong(length);
        } else {
            dst.putInt((int) length);
        }
    }
}
