package io.jnbd.server.fuzz;

import io.jnbd.internal.protocol.Nbd;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds what a client sends: options in the handshake, requests in transmission. */
final class ClientBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ClientBytes u8(int v) {
        out.write(v);
        return this;
    }

    ClientBytes u16(int v) {
        return u8(v >>> 8).u8(v);
    }

    ClientBytes u32(int v) {
        return u16(v >>> 16).u16(v);
    }

    ClientBytes u64(long v) {
        return u32((int) (v >>> 32)).u32((int) v);
    }

    ClientBytes bytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    ClientBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u32(b.length).bytes(b);
    }

    /** An option with its payload. */
    ClientBytes option(int option, ClientBytes payload) {
        byte[] p = payload.toByteArray();
        return u64(Nbd.IHAVEOPT).u32(option).u32(p.length).bytes(p);
    }

    ClientBytes option(int option) {
        return option(option, new ClientBytes());
    }

    /** NBD_OPT_INFO or NBD_OPT_GO for {@code name}, asking for the given information types. */
    ClientBytes infoOrGo(int option, String name, int... infos) {
        ClientBytes p = new ClientBytes().string(name).u16(infos.length);
        for (int i : infos) {
            p.u16(i);
        }
        return option(option, p);
    }

    /** NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT. */
    ClientBytes metaContext(int option, String export, String... queries) {
        ClientBytes p = new ClientBytes().string(export).u32(queries.length);
        for (String q : queries) {
            p.string(q);
        }
        return option(option, p);
    }

    /** A request with a simple (28 bytes) or extended (32 bytes) header. */
    ClientBytes request(boolean extended, int flags, int type, long cookie, long offset, long length) {
        u32(extended ? Nbd.EXTENDED_REQUEST_MAGIC : Nbd.REQUEST_MAGIC).u16(flags).u16(type).u64(cookie).u64(offset);
        return extended ? u64(length) : u32((int) length);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
