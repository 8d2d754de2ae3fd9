package io.jnbd.internal.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A server's reply to an option: the 20-byte header, checked, and decoders of
 * the payloads. Every decoder checks lengths against the payload it was given
 * before it reads or allocates.
 */
public record OptionReply(int option, int type, int length) {
    public static final int HEADER_SIZE = 20;

    /**
     * Decodes and checks a reply header.
     *
     * @param expectedOption the option just sent: a reply to anything else is a protocol error
     */
    public static OptionReply decodeHeader(ByteBuffer b, int expectedOption) throws ProtocolException {
        long magic = b.getLong();
        int option = b.getInt();
        int type = b.getInt();
        int length = b.getInt();
        if (magic != Nbd.REPLY_MAGIC_OPT) {
            throw new ProtocolException("handshake: invalid option reply magic 0x" + Long.toHexString(magic));
        }
        if (option != expectedOption) {
            throw new ProtocolException("handshake: reply is for option " + Integer.toUnsignedString(option)
                    + ", expected " + Nbd.optionName(expectedOption));
        }
        if (length < 0 || length > Nbd.MAX_OPTION_REPLY) {
            throw new ProtocolException("handshake: invalid option reply length " + Integer.toUnsignedString(length));
        }
        if (type == Nbd.REP_ACK && length != 0) {
            throw new ProtocolException("handshake: invalid NBD_REP_ACK option reply length " + length);
        }
        if (isError(type) && length > Nbd.MAX_STRING) {
            throw new ProtocolException("handshake: option error string too long (" + length + " bytes)");
        }
        return new OptionReply(option, type, length);
    }

    public boolean isError() {
        return isError(type);
    }

    static boolean isError(int type) {
        return (type & Nbd.REP_FLAG_ERROR) != 0;
    }

    /** NBD_REP_SERVER: one export of NBD_OPT_LIST. */
    public record Server(String name, String description) {
    }

    public static Server decodeServer(ByteBuffer p) throws ProtocolException {
        if (p.remaining() < 4) {
            throw new ProtocolException("handshake: NBD_REP_SERVER reply too short");
        }
        int nameLength = p.getInt();
        if (nameLength < 0 || nameLength > p.remaining() || nameLength > Nbd.MAX_STRING) {
            throw new ProtocolException("handshake: invalid export name length in NBD_REP_SERVER");
        }
        String name = string(p, nameLength);
        if (p.remaining() > Nbd.MAX_STRING) {
            throw new ProtocolException("handshake: export description too long in NBD_REP_SERVER");
        }
        return new Server(name, string(p, p.remaining()));
    }

    /** NBD_REP_META_CONTEXT: a context id and its name. */
    public record MetaContext(int id, String name) {
    }

    public static MetaContext decodeMetaContext(ByteBuffer p) throws ProtocolException {
        if (p.remaining() < 5 || p.remaining() > 4 + Nbd.MAX_STRING) {
            throw new ProtocolException("handshake: invalid NBD_REP_META_CONTEXT reply length " + p.remaining());
        }
        int id = p.getInt();
        return new MetaContext(id, string(p, p.remaining()));
    }

    /**
     * Applies one NBD_REP_INFO payload to {@code info}. Unknown info types are
     * ignored, as the spec requires.
     */
    public static void decodeInfo(ByteBuffer p, ExportInfo info) throws ProtocolException {
        if (p.remaining() < 2) {
            throw new ProtocolException("handshake: NBD_REP_INFO reply length too small");
        }
        int infoType = Short.toUnsignedInt(p.getShort());
        switch (infoType) {
            case Nbd.INFO_EXPORT -> {
                expectLength(p, 10, "NBD_INFO_EXPORT");
                long size = p.getLong();
                int flags = Short.toUnsignedInt(p.getShort());
                checkExportFlags(flags);
                if (size < 0) {
                    throw new ProtocolException("handshake: export size " + Long.toUnsignedString(size)
                            + " is too large", Errno.EOVERFLOW);
                }
                info.size = size;
                info.flags = flags;
                info.haveExport = true;
            }
            case Nbd.INFO_NAME -> {
                if (p.remaining() > Nbd.MAX_STRING) {
                    throw new ProtocolException("handshake: incorrect NBD_INFO_NAME option reply length");
                }
                info.canonicalName = string(p, p.remaining());
            }
            case Nbd.INFO_DESCRIPTION -> {
                if (p.remaining() > Nbd.MAX_STRING) {
                    throw new ProtocolException("handshake: incorrect NBD_INFO_DESCRIPTION option reply length");
                }
                info.description = string(p, p.remaining());
            }
            case Nbd.INFO_BLOCK_SIZE -> {
                expectLength(p, 12, "NBD_INFO_BLOCK_SIZE");
                int min = p.getInt();
                int preferred = p.getInt();
                int max = p.getInt();
                // Like libnbd, ignore constraints that break the spec rather than fail.
                if (validBlockSizes(min, preferred, max)) {
                    info.blockMinimum = min;
                    info.blockPreferred = preferred;
                    info.blockMaximum = max;
                }
            }
            default -> p.position(p.limit());
        }
    }

    /** NBD_FLAG_HAS_FLAGS is always set, so flags of 0 mean a broken server (libnbd's check and message). */
    public static void checkExportFlags(int flags) throws ProtocolException {
        if (flags == 0) {
            throw new ProtocolException("handshake: invalid eflags == 0 from server", Errno.EINVAL);
        }
    }

    /** The spec's constraints: min a power of two up to 64 KiB, pref a power of two >= max(min, 512), max >= pref and a multiple of min. */
    static boolean validBlockSizes(int min, int preferred, int max) {
        return min > 0 && Integer.bitCount(min) == 1 && min <= 65536
                && preferred > 0 && Integer.bitCount(preferred) == 1 && preferred >= 512 && preferred >= min
                && Integer.compareUnsigned(max, preferred) >= 0
                && (max == -1 || Integer.remainderUnsigned(max, min) == 0);
    }

    private static void expectLength(ByteBuffer p, int n, String what) throws ProtocolException {
        if (p.remaining() != n) {
            throw new ProtocolException("handshake: incorrect " + what + " option reply length");
        }
    }

    /** The server's error message, if it sent one. */
    public static String decodeErrorMessage(ByteBuffer p) {
        return string(p, p.remaining());
    }

    static String string(ByteBuffer p, int n) {
        byte[] b = new byte[n];
        p.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
