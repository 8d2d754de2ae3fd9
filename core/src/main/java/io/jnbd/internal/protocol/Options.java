package io.jnbd.internal.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encoders of the client's side of option haggling: each returns a buffer ready to send. */
public final class Options {
    private static final int HEADER = 16;

    private Options() {
    }

    /** An option with no payload (NBD_OPT_ABORT, LIST, STARTTLS, STRUCTURED_REPLY, EXTENDED_HEADERS). */
    public static ByteBuffer empty(int option) {
        return header(option, 0).flip();
    }

    /** NBD_OPT_EXPORT_NAME: the payload is the bare name. */
    public static ByteBuffer exportName(String name) {
        byte[] n = utf8(name, "export name");
        return header(Nbd.OPT_EXPORT_NAME, n.length).put(n).flip();
    }

    /** NBD_OPT_INFO or NBD_OPT_GO: name, then the NBD_INFO_* requests. */
    public static ByteBuffer infoOrGo(int option, String name, int... infos) {
        byte[] n = utf8(name, "export name");
        ByteBuffer b = header(option, 4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int info : infos) {
            b.putShort((short) info);
        }
        return b.flip();
    }

    /** NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT. */
    public static ByteBuffer metaContext(int option, String exportName, List<String> queries) {
        byte[] n = utf8(exportName, "export name");
        byte[][] q = new byte[queries.size()][];
        int len = 4 + n.length + 4;
        for (int i = 0; i < q.length; i++) {
            q[i] = utf8(queries.get(i), "meta context");
            len += 4 + q[i].length;
        }
        ByteBuffer b = header(option, len);
        b.putInt(n.length).put(n).putInt(q.length);
        for (byte[] s : q) {
            b.putInt(s.length).put(s);
        }
        return b.flip();
    }

    private static ByteBuffer header(int option, int payloadLength) {
        return ByteBuffer.allocate(HEADER + payloadLength)
                .putLong(Nbd.IHAVEOPT).putInt(option).putInt(payloadLength);
    }

    /** UTF-8 bytes of a protocol string, refusing what the spec does not allow (over 4096 bytes). */
    public static byte[] utf8(String s, String what) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > Nbd.MAX_STRING) {
            throw new IllegalArgumentException(what + " is too long (" + b.length + " bytes, the limit is "
                    + Nbd.MAX_STRING + ")");
        }
        return b;
    }
}
