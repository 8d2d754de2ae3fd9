package io.jnbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * A decoded reply header (simple, structured or extended). Mutable so that
 * the reader reuses one per connection.
 */
public final class ReplyHeader {
    public static final int SIMPLE_SIZE = 16;
    public static final int STRUCTURED_SIZE = 20;
    public static final int EXTENDED_SIZE = 32;
    /** The largest chunk payload we accept: data up to the request maximum plus its chunk header. */
    public static final long MAX_CHUNK_LENGTH = Nbd.MAX_REQUEST_SIZE + 64L;

    public enum Kind { SIMPLE, STRUCTURED, EXTENDED }

    public Kind kind;
    /** Simple replies: the wire error. */
    public int error;
    /** Structured and extended: flags and chunk type (16 bits each). */
    public int flags;
    public int type;
    public long cookie;
    /** Extended only: the offset field. */
    public long offset;
    /** Structured and extended: payload length that follows. */
    public long length;

    /**
     * The size of the header that starts with {@code magic}, given what was
     * negotiated, or a protocol error for a magic that may not appear.
     */
    public static int sizeFor(int magic, boolean structured, boolean extended) throws ProtocolException {
        if (extended) {
            if (magic == Nbd.EXTENDED_REPLY_MAGIC) {
                return EXTENDED_SIZE;
            }
        } else if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            return SIMPLE_SIZE;
        } else if (magic == Nbd.STRUCTURED_REPLY_MAGIC && structured) {
            return STRUCTURED_SIZE;
        }
        throw new ProtocolException("invalid reply magic 0x" + Integer.toHexString(magic));
    }

    /** Decodes a whole header (magic included) of the size {@link #sizeFor} gave. */
    public void decode(ByteBuffer b) throws ProtocolException {
        int magic = b.getInt();
        switch (magic) {
            case Nbd.SIMPLE_REPLY_MAGIC -> {
                kind = Kind.SIMPLE;
                error = b.getInt();
                cookie = b.getLong();
                flags = type = 0;
                offset = length = 0;
            }
            case Nbd.STRUCTURED_REPLY_MAGIC -> {
                kind = Kind.STRUCTURED;
                error = 0;
                flags = Short.toUnsignedInt(b.getShort());
                type = Short.toUnsignedInt(b.getShort());
                cookie = b.getLong();
                offset = 0;
                length = Integer.toUnsignedLong(b.getInt());
            }
            case Nbd.EXTENDED_REPLY_MAGIC -> {
                kind = Kind.EXTENDED;
                error = 0;
                flags = Short.toUnsignedInt(b.getShort());
                type = Short.toUnsignedInt(b.getShort());
                cookie = b.getLong();
                offset = b.getLong();
                length = b.getLong();
            }
            default -> throw new ProtocolException("invalid reply magic 0x" + Integer.toHexString(magic));
        }
        if (kind != Kind.SIMPLE && (length < 0 || length > MAX_CHUNK_LENGTH)) {
            throw new ProtocolException("structured reply chunk length " + Long.toUnsignedString(length)
                    + " is too large");
        }
    }

    public boolean isDone() {
        return kind == Kind.SIMPLE || (flags & Nbd.REPLY_FLAG_DONE) != 0;
    }
}
