package io.jnbd.server.internal;

import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.tls.TlsServer;
import io.jnbd.internal.transport.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The server's side of fixed newstyle negotiation: greets the client, answers
 * options until NBD_OPT_GO or NBD_OPT_EXPORT_NAME picks an export, and says
 * what was negotiated.
 */
final class Handshake {
    /** Larger option payloads end the connection (the longest legal one is a few strings of 4 KiB). */
    static final int MAX_OPTION_LENGTH = 1 << 20;
    /** Options per connection before we call it abuse and hang up. */
    private static final int MAX_OPTIONS = 4096;
    static final String BASE_ALLOCATION = "base:allocation";
    static final int BASE_ALLOCATION_ID = 1;

    /** The outcome: the export, and how replies are framed. */
    record Session(Export export, boolean structured, boolean extended, boolean baseAllocation,
            Transport transport, WireIn in) {
    }

    /** TLS credentials, and whether clients must use them (nbdkit's --tls=require) or may (--tls=on). */
    record Tls(TlsServer server, boolean required) {
    }

    /** The client broke the protocol in a way that leaves no reply to send. */
    static final class Violation extends IOException {
        private static final long serialVersionUID = 1L;

        Violation(String message) {
            super(message);
        }
    }

    private final Map<String, Export> exports;
    private final Limits limits;
    private final Tls tls;
    /** Replaced by their TLS counterparts after NBD_OPT_STARTTLS. */
    private Transport transport;
    private WireIn in;
    private boolean encrypted;

    private boolean structured;
    private boolean extended;
    /** The export name the last successful NBD_OPT_SET_META_CONTEXT selected base:allocation for, or null. */
    private String metaContextExport;

    Handshake(Transport transport, Map<String, Export> exports, Limits limits, Tls tls) {
        this.transport = transport;
        this.in = new WireIn(transport);
        this.exports = exports;
        this.limits = limits;
        this.tls = tls;
    }

    /** Runs the negotiation; null if the client aborted. */
    Session run() throws IOException {
        transport.write(ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip());
        int clientFlags = in.need(4).getInt();
        if ((clientFlags & ~(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)) != 0) {
            throw new Violation("unknown client flags 0x" + Integer.toHexString(clientFlags));
        }
        boolean noZeroes = (clientFlags & Nbd.FLAG_NO_ZEROES) != 0;
        for (int count = 0; count < MAX_OPTIONS; count++) {
            ByteBuffer h = in.need(16);
            long magic = h.getLong();
            int option = h.getInt();
            long length = Integer.toUnsignedLong(h.getInt());
            if (magic != Nbd.IHAVEOPT) {
                throw new Violation("bad option magic 0x" + Long.toHexString(magic));
            }
            if (length > MAX_OPTION_LENGTH) {
                throw new Violation(Nbd.optionName(option) + " of " + length + " bytes is too long");
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            in.readFully(data);
            data.flip();
            if (tls != null && tls.required() && !encrypted && option != Nbd.OPT_STARTTLS
                    && option != Nbd.OPT_ABORT) {
                if (option == Nbd.OPT_EXPORT_NAME) {
                    throw new Violation("NBD_OPT_EXPORT_NAME before TLS, which this server requires");
                }
                error(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: use NBD_OPT_STARTTLS first");
                continue;
            }
            switch (option) {
                case Nbd.OPT_EXPORT_NAME -> {
                    String name = string(data, data.remaining());
                    Export e = name == null ? null : exports.get(resolve(name));
                    if (e == null || extended) {
                        throw new Violation(e == null ? "NBD_OPT_EXPORT_NAME: no such export"
                                : "NBD_OPT_EXPORT_NAME after extended headers");
                    }
                    ByteBuffer r = ByteBuffer.allocate(noZeroes ? 10 : 134);
                    r.putLong(e.backend().size()).putShort((short) transmissionFlags(e));
                    transport.write(r.position(r.capacity()).flip());
                    return session(e);
                }
                case Nbd.OPT_ABORT -> {
                    reply(option, Nbd.REP_ACK, null);
                    return null;
                }
                case Nbd.OPT_LIST -> list(option, data);
                case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                    Export e = infoOrGo(option, data);
                    if (e != null && option == Nbd.OPT_GO) {
                        return session(e);
                    }
                }
                case Nbd.OPT_STRUCTURED_REPLY -> {
                    if (data.hasRemaining()) {
                        error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                    } else if (extended) {
                        error(option, Nbd.REP_ERR_EXT_HEADER_REQD, "extended headers are already negotiated");
                    } else if (structured) {
                        error(option, Nbd.REP_ERR_INVALID, "structured replies are already negotiated");
                    } else {
                        structured = true;
                        reply(option, Nbd.REP_ACK, null);
                    }
                }
                case Nbd.OPT_EXTENDED_HEADERS -> {
                    if (data.hasRemaining()) {
                        error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_EXTENDED_HEADERS takes no data");
                    } else if (extended) {
                        error(option, Nbd.REP_ERR_INVALID, "extended headers are already negotiated");
                    } else {
                        extended = true;
                        structured = true;
                        reply(option, Nbd.REP_ACK, null);
                    }
                }
                case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(option, data);
                case Nbd.OPT_STARTTLS -> startTls(option, data);
                default -> error(option, Nbd.REP_ERR_UNSUP, "unknown option " + Integer.toUnsignedString(option));
            }
        }
        throw new Violation("too many options");
    }

    private Session session(Export e) {
        return new Session(e, structured, extended, structured && e.name().equals(metaContextExport), transport, in);
    }

    /** The empty name is the default export, the first one configured. */
    private String resolve(String name) {
        if (name.isEmpty() && !exports.containsKey("")) {
            return exports.keySet().iterator().next();
        }
        return name;
    }

    private void startTls(int option, ByteBuffer data) throws IOException {
        if (tls == null) {
            error(option, Nbd.REP_ERR_UNSUP, "this server does not support TLS");
        } else if (data.hasRemaining()) {
            error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
        } else if (encrypted) {
            error(option, Nbd.REP_ERR_INVALID, "TLS is already negotiated");
        } else {
            reply(option, Nbd.REP_ACK, null);
            if (in.buffered() > 0) {
                throw new Violation("plaintext sent after NBD_OPT_STARTTLS before the TLS handshake");
            }
            transport = tls.server().accept(transport);
            in = new WireIn(transport);
            encrypted = true;
            // Nothing negotiated in plaintext survives (proto.md, NBD_OPT_STARTTLS).
            structured = false;
            extended = false;
            metaContextExport = null;
        }
    }

    int transmissionFlags(Export e) {
        int f = Nbd.TFLAG_HAS_FLAGS | Nbd.TFLAG_SEND_FLUSH | Nbd.TFLAG_SEND_CACHE;
        if (e.readOnly()) {
            f |= Nbd.TFLAG_READ_ONLY;
        } else {
            f |= Nbd.TFLAG_SEND_FUA | Nbd.TFLAG_SEND_WRITE_ZEROES;
            if (e.backend().canTrim()) {
                f |= Nbd.TFLAG_SEND_TRIM;
            }
            if (e.backend().canFastZero()) {
                f |= Nbd.TFLAG_SEND_FAST_ZERO;
            }
        }
        if (e.backend().canMultiConn()) {
            f |= Nbd.TFLAG_CAN_MULTI_CONN;
        }
        if (structured) {
            f |= Nbd.TFLAG_SEND_DF;
        }
        return f;
    }

    private void list(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
            return;
        }
        for (Export e : exports.values()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] description = e.description() == null ? new byte[0]
                    : e.description().getBytes(StandardCharsets.UTF_8);
            reply(option, Nbd.REP_SERVER, ByteBuffer.allocate(4 + name.length + description.length)
                    .putInt(name.length).put(name).put(description).flip());
        }
        reply(option, Nbd.REP_ACK, null);
    }

    /** NBD_OPT_INFO and NBD_OPT_GO; the export on success, null after an error reply. */
    private Export infoOrGo(int option, ByteBuffer data) throws IOException {
        if (data.remaining() < 6) {
            error(option, Nbd.REP_ERR_INVALID, "option too short");
            return null;
        }
        long nameLength = Integer.toUnsignedLong(data.getInt());
        if (nameLength > data.remaining() - 2 || nameLength > Nbd.MAX_STRING) {
            error(option, Nbd.REP_ERR_INVALID, "export name length out of range");
            return null;
        }
        String name = string(data, (int) nameLength);
        if (name == null) {
            error(option, Nbd.REP_ERR_INVALID, "export name is not UTF-8");
            return null;
        }
        int count = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * count) {
            error(option, Nbd.REP_ERR_INVALID, "information request count does not match the length");
            return null;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < count; i++) {
            switch (data.getShort()) {
                case Nbd.INFO_NAME -> wantName = true;
                case Nbd.INFO_DESCRIPTION -> wantDescription = true;
                default -> {
                    // NBD_INFO_BLOCK_SIZE is sent anyway; unknown requests are ignored.
                }
            }
        }
        Export e = exports.get(resolve(name));
        if (e == null) {
            error(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
        }
        if (wantName) {
            byte[] n = e.name().getBytes(StandardCharsets.UTF_8);
            reply(option, Nbd.REP_INFO, ByteBuffer.allocate(2 + n.length).putShort((short) Nbd.INFO_NAME).put(n)
                    .flip());
        }
        if (wantDescription && e.description() != null) {
            byte[] d = e.description().getBytes(StandardCharsets.UTF_8);
            reply(option, Nbd.REP_INFO, ByteBuffer.allocate(2 + d.length).putShort((short) Nbd.INFO_DESCRIPTION)
                    .put(d).flip());
        }
        reply(option, Nbd.REP_INFO, ByteBuffer.allocate(14).putShort((short) Nbd.INFO_BLOCK_SIZE)
                .putInt(limits.minimum()).putInt(limits.preferred()).putInt(limits.maximum()).flip());
        reply(option, Nbd.REP_INFO, ByteBuffer.allocate(12).putShort((short) Nbd.INFO_EXPORT)
                .putLong(e.backend().size()).putShort((short) transmissionFlags(e)).flip());
        reply(option, Nbd.REP_ACK, null);
        return e;
    }

    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        if (set) {
            // Replaces the previous selection even if it fails.
            metaContextExport = null;
            if (!structured) {
                error(option, Nbd.REP_ERR_INVALID, "negotiate structured replies first");
                return;
            }
        }
        String exportName = null;
        boolean match = false;
        boolean valid = data.remaining() >= 8;
        if (valid) {
            int nameLength = data.getInt();
            valid = nameLength >= 0 && nameLength <= Math.min(Nbd.MAX_STRING, data.remaining() - 4);
            if (valid) {
                exportName = string(data, nameLength);
                int queries = data.getInt();
                valid = exportName != null && queries >= 0;
                match = queries == 0 && !set;
                for (int i = 0; valid && i < queries; i++) {
                    int qLength = data.remaining() >= 4 ? data.getInt() : -1;
                    valid = qLength >= 0 && qLength <= Math.min(Nbd.MAX_STRING, data.remaining());
                    String q = valid ? string(data, qLength) : null;
                    valid = q != null;
                    if (valid) {
                        match |= q.equals(BASE_ALLOCATION) || (!set && q.equals("base:"));
                    }
                }
                valid &= !data.hasRemaining();
            }
        }
        if (!valid) {
            error(option, Nbd.REP_ERR_INVALID, "malformed " + Nbd.optionName(option));
            return;
        }
        if (!exports.containsKey(resolve(exportName))) {
            error(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + exportName + "'");
            return;
        }
        if (match) {
            byte[] n = BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
            reply(option, Nbd.REP_META_CONTEXT, ByteBuffer.allocate(4 + n.length)
                    .putInt(set ? BASE_ALLOCATION_ID : 0).put(n).flip());
            if (set) {
                metaContextExport = resolve(exportName);
            }
        }
        reply(option, Nbd.REP_ACK, null);
    }

    private static String string(ByteBuffer data, int length) {
        ByteBuffer slice = data.slice(data.position(), length);
        data.position(data.position() + length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private void error(int option, int type, String message) throws IOException {
        reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    private void reply(int option, int type, ByteBuffer payload) throws IOException {
        int length = payload == null ? 0 : payload.remaining();
        ByteBuffer h = ByteBuffer.allocate(20).putLong(Nbd.REPLY_MAGIC_OPT).putInt(option).putInt(type)
                .putInt(length).flip();
        if (payload == null) {
            transport.write(h);
        } else {
            transport.write(h, payload);
        }
    }
}
