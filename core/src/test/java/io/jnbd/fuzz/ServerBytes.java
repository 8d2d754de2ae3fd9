package io.jnbd.fuzz;

import io.jnbd.internal.protocol.Nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Builds what a server sends, big-endian, for the seed corpus. */
final class ServerBytes {
    private ByteBuffer b = ByteBuffer.allocate(256);

    ServerBytes u8(int v) {
        room(1).put((byte) v);
        return this;
    }

    ServerBytes u16(int v) {
        room(2).putShort((short) v);
        return this;
    }

    ServerBytes u32(long v) {
        room(4).putInt((int) v);
        return this;
    }

    ServerBytes u64(long v) {
        room(8).putLong(v);
        return this;
    }

    ServerBytes bytes(byte[] v) {
        room(v.length).put(v);
        return this;
    }

    ServerBytes string(String s) {
        return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    ServerBytes zeroes(int n) {
        return bytes(new byte[n]);
    }

    /** A fixed newstyle greeting with these handshake flags. */
    ServerBytes newstyle(int handshakeFlags) {
        return u64(Nbd.NBDMAGIC).u64(Nbd.IHAVEOPT).u16(handshakeFlags);
    }

    ServerBytes oldstyle(long size, int exportFlags) {
        return u64(Nbd.NBDMAGIC).u64(Nbd.OLDSTYLE_MAGIC).u64(size).u16(0).u16(exportFlags).zeroes(124);
    }

    ServerBytes optionReply(int option, int type, byte[] payload) {
        return u64(Nbd.REPLY_MAGIC_OPT).u32(option).u32(type).u32(payload.length).bytes(payload);
    }

    ServerBytes ack(int option) {
        return optionReply(option, Nbd.REP_ACK, new byte[0]);
    }

    ServerBytes optionError(int option, int type, String message) {
        return optionReply(option, type, message.getBytes(StandardCharsets.UTF_8));
    }

    ServerBytes server(String name, String description) {
        return optionReply(Nbd.OPT_LIST, Nbd.REP_SERVER, serverPayload(name, description));
    }

    /** A context named in reply to NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT. */
    ServerBytes metaContext(int option, int id, String name) {
        return optionReply(option, Nbd.REP_META_CONTEXT, metaContextPayload(id, name));
    }

    ServerBytes info(int option, byte[] infoPayload) {
        return optionReply(option, Nbd.REP_INFO, infoPayload);
    }

    /** The reply to NBD_OPT_EXPORT_NAME: size, flags, and 124 zero bytes unless NBD_FLAG_NO_ZEROES was agreed. */
    ServerBytes exportNameReply(long size, int exportFlags, boolean zeroes) {
        return u64(size).u16(exportFlags).zeroes(zeroes ? 124 : 0);
    }

    ServerBytes simpleReply(int error, long cookie, byte[] data) {
        return u32(Nbd.SIMPLE_REPLY_MAGIC).u32(error).u64(cookie).bytes(data);
    }

    /**
     * A chunk with a structured header, or an extended one if {@code extended}
     * (whose offset field echoes the request's offset).
     */
    ServerBytes chunk(boolean extended, int flags, int type, long cookie, long requestOffset, byte[] payload) {
        if (extended) {
            return u32(Nbd.EXTENDED_REPLY_MAGIC).u16(flags).u16(type).u64(cookie).u64(requestOffset)
                    .u64(payload.length).bytes(payload);
        }
        return u32(Nbd.STRUCTURED_REPLY_MAGIC).u16(flags).u16(type).u64(cookie).u32(payload.length).bytes(payload);
    }

    byte[] toByteArray() {
        return Arrays.copyOf(b.array(), b.position());
    }

    static byte[] serverPayload(String name, String description) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return new ServerBytes().u32(n.length).bytes(n).string(description).toByteArray();
    }

    static byte[] metaContextPayload(int id, String name) {
        return new ServerBytes().u32(id).string(name).toByteArray();
    }

    static byte[] infoExport(long size, int exportFlags) {
        return new ServerBytes().u16(Nbd.INFO_EXPORT).u64(size).u16(exportFlags).toByteArray();
    }

    static byte[] infoString(int infoType, String s) {
        return new ServerBytes().u16(infoType).string(s).toByteArray();
    }

    static byte[] infoBlockSize(int minimum, int preferred, int maximum) {
        return new ServerBytes().u16(Nbd.INFO_BLOCK_SIZE).u32(minimum).u32(preferred).u32(maximum).toByteArray();
    }

    static byte[] offsetData(long offset, byte[] data) {
        return new ServerBytes().u64(offset).bytes(data).toByteArray();
    }

    static byte[] offsetHole(long offset, int length) {
        return new ServerBytes().u64(offset).u32(length).toByteArray();
    }

    static byte[] errorPayload(int error, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        return new ServerBytes().u32(error).u16(m.length).bytes(m).toByteArray();
    }

    static byte[] errorOffsetPayload(int error, String message, long offset) {
        return new ServerBytes().bytes(errorPayload(error, message)).u64(offset).toByteArray();
    }

    /** Compact descriptors: (length, flags) pairs of 32 bits each. */
    static byte[] blockStatus(int contextId, long... pairs) {
        ServerBytes s = new ServerBytes().u32(contextId);
        for (long v : pairs) {
            s.u32(v);
        }
        return s.toByteArray();
    }

    /** Extended descriptors: a count, then (length, flags) pairs of 64 bits each. */
    static byte[] blockStatusExt(int contextId, long... pairs) {
        ServerBytes s = new ServerBytes().u32(contextId).u32(pairs.length / 2);
        for (long v : pairs) {
            s.u64(v);
        }
        return s.toByteArray();
    }

    private ByteBuffer room(int n) {
        if (b.remaining() < n) {
            b = ByteBuffer.allocate(Math.max(2 * b.capacity(), b.position() + n)).put(b.flip());
        }
        return b;
    }
}
