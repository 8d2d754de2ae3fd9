package io.jnbd.internal.engine;

import io.jnbd.Tls;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.protocol.OptionReply;
import io.jnbd.internal.protocol.Options;
import io.jnbd.internal.protocol.ProtocolException;
import io.jnbd.internal.tls.Psk;
import io.jnbd.internal.tls.TlsConfig;
import io.jnbd.internal.tls.TlsException;
import io.jnbd.internal.tls.TlsTransport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The handshake: greeting, then one option exchange per call. Blocking, on
 * the calling thread; one call at a time (the handle's state guarantees it).
 *
 * <p>Errors: a server that breaks the protocol or a broken connection gives a
 * fatal {@link NbdError}; an option the server refuses gives a non-fatal one,
 * so that opt mode can go on.
 */
public final class Negotiator {
    private static final int OLDSTYLE_REST = 8 + 2 + 2 + 124;

    private final WireChannel ch;
    private final Negotiated result;
    private final Debug debug;
    private final TlsConfig tls;
    /** Server's handshake flags, masked by ours. */
    private int flags;
    /** From the TLS handshake until the server's first answer over TLS. */
    private boolean awaitingFirstTlsReply;

    public Negotiator(WireChannel ch, Negotiated result, Debug debug, TlsConfig tls) {
        this.ch = ch;
        this.result = result;
        this.debug = debug;
        this.tls = tls;
    }

    /** Where the greeting left us. */
    public enum Greeting { OLDSTYLE_READY, NEWSTYLE }

    /** Reads the server's greeting and sends our flags (newstyle). */
    public Greeting greet(HandshakeConfig cfg) throws NbdError {
        try {
            ByteBuffer b = ch.need(16);
            long magic = b.getLong();
            if (magic != Nbd.NBDMAGIC) {
                throw fatal("handshake: server did not send expected NBD magic", Errno.EPROTO);
            }
            long version = b.getLong();
            if (version == Nbd.OLDSTYLE_MAGIC) {
                if (tls.mode() == Tls.REQUIRE) {
                    // An oldstyle server cannot do TLS; going on would send everything in plaintext.
                    throw fatal("handshake: server is oldstyle, but handle TLS setting is 'require' (2)",
                            Errno.ENOTSUP);
                }
                return oldstyle(cfg);
            }
            if (version != Nbd.IHAVEOPT) {
                throw fatal("handshake: server is not either an oldstyle or fixed newstyle NBD server", Errno.EPROTO);
            }
            int gflags = Short.toUnsignedInt(ch.need(2).getShort());
            flags = gflags & cfg.handshakeFlags();
            if (!fixedNewstyle() && tls.mode() == Tls.REQUIRE) {
                // Without fixed newstyle there is no NBD_OPT_STARTTLS: refuse before saying anything.
                throw fatal("handshake: server is not using fixed newstyle, but handle TLS setting is 'require' (2)",
                        Errno.ENOTSUP);
            }
            result.handshakeFlags = flags;
            result.protocol = (flags & Nbd.FLAG_FIXED_NEWSTYLE) != 0 ? "newstyle-fixed" : "newstyle";
            debug.log("handshake", "server flags 0x" + Integer.toHexString(gflags) + ", using 0x"
                    + Integer.toHexString(flags) + " (" + result.protocol + ")");
            ch.write(ByteBuffer.allocate(4).putInt(flags).flip());
            return Greeting.NEWSTYLE;
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    private Greeting oldstyle(HandshakeConfig cfg) throws NbdError, IOException {
        ByteBuffer b = ch.need(OLDSTYLE_REST);
        long size = b.getLong();
        int gflags = Short.toUnsignedInt(b.getShort());
        int eflags = Short.toUnsignedInt(b.getShort());
        b.position(b.position() + 124);
        if (gflags != 0) {
            throw fatal("handshake: oldstyle server should not set gflags", Errno.EPROTO);
        }
        result.protocol = "oldstyle";
        setExport(size, eflags, cfg);
        return Greeting.OLDSTYLE_READY;
    }

    private boolean fixedNewstyle() {
        return (flags & Nbd.FLAG_FIXED_NEWSTYLE) != 0;
    }

    /**
     * The options sent before the caller gets control: NBD_OPT_STARTTLS unless
     * TLS is disabled, then extended headers, then structured replies unless
     * extended headers already imply them.
     */
    public void automaticOptions(HandshakeConfig cfg) throws NbdError {
        if (!fixedNewstyle()) {
            return;
        }
        if (tls.mode() != Tls.DISABLE) {
            starttls(false);
        }
        if (cfg.requestExtendedHeaders()) {
            extendedHeaders();
        }
        if (cfg.requestStructuredReplies() && !result.extendedHeaders) {
            structuredReply();
        }
    }

    /**
     * NBD_OPT_STARTTLS, then the TLS handshake, after which the connection
     * carries on over TLS; true if TLS was negotiated, false if the server
     * refused. {@code explicit} is {@code optStarttls}: a refusal is then the
     * caller's to judge. Otherwise this is the automatic request, and a
     * refusal with TLS required is fatal (after NBD_OPT_ABORT, as libnbd),
     * while with TLS allowed the connection goes on in plaintext.
     *
     * <p>Once the server accepts, the connection is TLS or nothing: a failed
     * handshake is fatal, never a fallback to plaintext. What the server said
     * before TLS is forgotten, as the server forgets it (the export, the
     * structured reply and extended header agreements, the meta contexts).
     */
    public boolean starttls(boolean explicit) throws NbdError {
        if (!fixedNewstyle()) {
            throw new NbdError("server is not using fixed newstyle protocol", Errno.ENOTSUP, false);
        }
        if (tls.pskFile() != null && !Psk.available()) {
            throw new NbdError("TLS: " + Psk.MISSING, Errno.ENOTSUP, !explicit);
        }
        int option = Nbd.OPT_STARTTLS;
        try {
            send(Options.empty(option));
            OptionReply r = readReply(option);
            ByteBuffer payload = readPayload(r);
            if (r.type() != Nbd.REP_ACK) {
                if (!r.isError()) {
                    throw fatal("handshake: unexpected reply type " + Integer.toUnsignedString(r.type()) + " to "
                            + Nbd.optionName(option), Errno.EPROTO);
                }
                debug.log("handshake", "server refused TLS: " + describe(r, payload));
                if (!explicit && tls.mode() == Tls.REQUIRE) {
                    abortQuietly();
                    throw fatal("handshake: server refused TLS, but handle TLS setting is 'require' (2)",
                            Errno.ENOTSUP);
                }
                if (!explicit) {
                    debug.log("handshake", "continuing with unencrypted connection");
                }
                return false;
            }
            if (result.tlsNegotiated) {
                throw fatal("handshake: unable to support server accepting TLS twice", Errno.EPROTO);
            }
            if (ch.buffered() > 0) {
                // Bytes that arrived with the ACK were sent in plaintext: taking them as TLS-protected
                // would let anyone on the path inject them.
                throw fatal("handshake: server sent " + ch.buffered() + " bytes after accepting NBD_OPT_STARTTLS, "
                        + "before the TLS handshake", Errno.EPROTO);
            }
        } catch (IOException e) {
            throw ioError(e);
        }
        result.export.reset();
        result.exportKnown = false;
        result.structuredReplies = false;
        result.extendedHeaders = false;
        result.metaContextsValid = false;
        try {
            ch.upgrade(TlsTransport.connect(ch.transport(), tls, m -> debug.log("tls", m)));
        } catch (TlsException e) {
            throw new NbdError("TLS: " + e.getMessage(), e.errno(), true, e);
        } catch (IOException e) {
            throw ioError(e);
        }
        result.tlsNegotiated = true;
        awaitingFirstTlsReply = true;
        return true;
    }

    /** NBD_OPT_ABORT before giving up on a server; it is going away either way, so errors do not matter. */
    private void abortQuietly() {
        try {
            send(Options.empty(Nbd.OPT_ABORT));
        } catch (IOException e) {
            debug.log("handshake", "NBD_OPT_ABORT: " + e.getMessage());
        }
    }

    /** NBD_OPT_EXTENDED_HEADERS; true if the server agreed. */
    public boolean extendedHeaders() throws NbdError {
        // Sent even when already negotiated, as libnbd does: the server's answer says whether the repeat was welcome.
        OptionReply r = simpleOption(Nbd.OPT_EXTENDED_HEADERS);
        if (r.type() == Nbd.REP_ACK) {
            result.extendedHeaders = true;
            result.structuredReplies = true;
            return true;
        }
        return false;
    }

    /** NBD_OPT_STRUCTURED_REPLY; true if the server agreed. */
    public boolean structuredReply() throws NbdError {
        // Sent even when already negotiated, as libnbd does: the server's answer says whether the repeat was welcome.
        OptionReply r = simpleOption(Nbd.OPT_STRUCTURED_REPLY);
        if (r.type() == Nbd.REP_ACK) {
            result.structuredReplies = true;
            return true;
        }
        return false;
    }

    /** Sends an option without payload that is answered by ACK or an error; returns the reply. */
    private OptionReply simpleOption(int option) throws NbdError {
        try {
            send(Options.empty(option));
            OptionReply r = readReply(option);
            ByteBuffer payload = readPayload(r);
            if (r.isError()) {
                debug.log("handshake", Nbd.optionName(option) + " refused: " + describe(r, payload));
            } else if (r.type() != Nbd.REP_ACK) {
                throw fatal("handshake: unexpected reply type " + Integer.toUnsignedString(r.type()) + " to "
                        + Nbd.optionName(option), Errno.EPROTO);
            }
            return r;
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    /**
     * NBD_OPT_GO or NBD_OPT_INFO for the configured export, preceded by
     * NBD_OPT_SET_META_CONTEXT when meta contexts are wanted. A server without
     * fixed newstyle, or one that does not know GO, gets NBD_OPT_EXPORT_NAME
     * (GO only: INFO has no fallback).
     */
    public void goOrInfo(HandshakeConfig cfg, boolean go) throws NbdError {
        int option = go ? Nbd.OPT_GO : Nbd.OPT_INFO;
        if (!fixedNewstyle()) {
            if (!go) {
                throw new NbdError("handshake: server is not using fixed newstyle", Errno.ENOTSUP, false);
            }
            exportName(cfg);
            return;
        }
        if (cfg.requestMetaContext()) {
            // libnbd: the automatic request starts from nothing, and is only made when it can succeed.
            result.setMetaContexts(List.of(), false);
            if (result.structuredReplies && !cfg.metaContexts().isEmpty()) {
                metaContext(Nbd.OPT_SET_META_CONTEXT, cfg.exportName(), cfg.metaContexts(), null, false);
            }
        }
        List<Integer> infos = new ArrayList<>();
        if (cfg.fullInfo()) {
            infos.add(Nbd.INFO_NAME);
            infos.add(Nbd.INFO_DESCRIPTION);
        }
        if (cfg.requestBlockSize()) {
            infos.add(Nbd.INFO_BLOCK_SIZE);
        }
        try {
            send(Options.infoOrGo(option, cfg.exportName(), infos.stream().mapToInt(Integer::intValue).toArray()));
            result.export.reset();
            result.exportKnown = false;
            while (true) {
                OptionReply r = readReply(option);
                ByteBuffer payload = readPayload(r);
                if (r.type() == Nbd.REP_INFO) {
                    OptionReply.decodeInfo(payload, result.export);
                    continue;
                }
                if (r.type() == Nbd.REP_ACK) {
                    if (!result.export.haveExport) {
                        throw fatal("handshake: server omitted NBD_INFO_EXPORT reply to " + Nbd.optionName(option),
                                Errno.EPROTO);
                    }
                    exportKnown(cfg);
                    return;
                }
                if (!r.isError()) {
                    throw fatal("handshake: unexpected reply type " + Integer.toUnsignedString(r.type()) + " to "
                            + Nbd.optionName(option), Errno.EPROTO);
                }
                String msg = OptionReply.decodeErrorMessage(payload);
                if (r.type() == Nbd.REP_ERR_UNSUP && go) {
                    debug.log("handshake", "server lacks NBD_OPT_GO, falling back to NBD_OPT_EXPORT_NAME");
                    exportName(cfg);
                    return;
                }
                result.export.reset();
                result.exportKnown = false;
                result.setMetaContexts(List.of(), false);
                throw goError(r.type(), option, cfg.exportName(), msg);
            }
        } catch (IOException e) {
            throw ioError(e);
        } catch (ProtocolException e) {
            throw fatal(e.getMessage(), e.errno());
        }
    }

    private static NbdError goError(int type, int option, String exportName, String serverMessage) {
        String opt = Nbd.optionName(option);
        String suffix = serverMessage.isEmpty() ? "" : " (server said: " + serverMessage + ")";
        return switch (type) {
            case Nbd.REP_ERR_UNSUP -> new NbdError("handshake: server lacks " + opt + " support" + suffix,
                    Errno.ENOTSUP, false);
            case Nbd.REP_ERR_POLICY, Nbd.REP_ERR_PLATFORM -> new NbdError("handshake: server policy prevents "
                    + opt + suffix, Errno.EPERM, false);
            case Nbd.REP_ERR_INVALID, Nbd.REP_ERR_TOO_BIG -> new NbdError("handshake: server rejected " + opt
                    + " as invalid" + suffix, Errno.EINVAL, false);
            case Nbd.REP_ERR_TLS_REQD -> new NbdError("handshake: server requires TLS encryption first" + suffix,
                    Errno.ENOTSUP, false);
            case Nbd.REP_ERR_UNKNOWN -> new NbdError("handshake: server has no export named '" + exportName + "'"
                    + suffix, Errno.ENOENT, false);
            case Nbd.REP_ERR_SHUTDOWN -> new NbdError("handshake: server is shutting down" + suffix,
                    Errno.ESHUTDOWN, false);
            case Nbd.REP_ERR_BLOCK_SIZE_REQD -> new NbdError("handshake: server requires specific block sizes"
                    + suffix, Errno.EINVAL, false);
            case Nbd.REP_ERR_EXT_HEADER_REQD -> new NbdError("handshake: server requires extended headers" + suffix,
                    Errno.ENOTSUP, false);
            default -> new NbdError("handshake: unknown reply from " + opt + ": 0x" + Integer.toHexString(type)
                    + suffix, Errno.EPROTO, false);
        };
    }

    /** NBD_OPT_EXPORT_NAME: ends the handshake; a server that rejects the name just hangs up. */
    private void exportName(HandshakeConfig cfg) throws NbdError {
        try {
            send(Options.exportName(cfg.exportName()));
            int n = 8 + 2 + ((flags & Nbd.FLAG_NO_ZEROES) != 0 ? 0 : 124);
            ByteBuffer b;
            try {
                b = ch.need(n);
            } catch (ConnectionClosedException e) {
                throw fatal("handshake: server closed the connection after NBD_OPT_EXPORT_NAME; is the export name '"
                        + cfg.exportName() + "' valid?", Errno.ENOENT);
            }
            long size = b.getLong();
            int eflags = Short.toUnsignedInt(b.getShort());
            b.position(b.position() + n - 10);
            result.export.reset();
            setExport(size, eflags, cfg);
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    private void setExport(long size, int eflags, HandshakeConfig cfg) throws NbdError {
        try {
            OptionReply.checkExportFlags(eflags);
        } catch (ProtocolException e) {
            throw fatal(e.getMessage(), e.errno());
        }
        if (size < 0) {
            throw fatal("handshake: export size " + Long.toUnsignedString(size) + " is too large", Errno.EOVERFLOW);
        }
        result.export.size = size;
        result.export.flags = eflags;
        result.export.haveExport = true;
        exportKnown(cfg);
    }

    /**
     * The export's details are complete. As libnbd: DF means nothing without
     * structured replies, nor fast zero without write zeroes; and when meta
     * contexts were wanted but could not be asked for, the (empty) answer is
     * known.
     */
    private void exportKnown(HandshakeConfig cfg) {
        if (!result.structuredReplies) {
            result.export.flags &= ~Nbd.TFLAG_SEND_DF;
        }
        if (!result.export.has(Nbd.TFLAG_SEND_WRITE_ZEROES)) {
            result.export.flags &= ~Nbd.TFLAG_SEND_FAST_ZERO;
        }
        if (cfg.requestMetaContext() && (!result.structuredReplies || cfg.metaContexts().isEmpty())) {
            result.setMetaContexts(List.of(), true);
        }
        result.exportKnown = true;
        debug.log("handshake", "export size " + result.export.size + ", flags 0x"
                + Integer.toHexString(result.export.flags));
    }

    /**
     * NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT for {@code exportName}
     * and {@code queries}; calls {@code each} per context the server names and
     * returns how many. SET replaces the negotiated contexts. A refusal is an
     * error only for an {@code explicit} request (opt mode); the automatic one
     * before NBD_OPT_GO goes on without contexts, as libnbd.
     */
    public int metaContext(int option, String exportName, List<String> queries, Consumer<String> each,
                           boolean explicit) throws NbdError {
        if (!fixedNewstyle()) {
            throw new NbdError("server is not using fixed newstyle protocol", Errno.ENOTSUP, false);
        }
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        if (set) {
            result.setMetaContexts(List.of(), false);
        }
        try {
            send(Options.metaContext(option, exportName, queries));
            List<Negotiated.MetaContext> agreed = new ArrayList<>();
            while (true) {
                OptionReply r = readReply(option);
                ByteBuffer payload = readPayload(r);
                if (r.type() == Nbd.REP_META_CONTEXT) {
                    if (payload.remaining() > 4 + Nbd.MAX_STRING) {
                        debug.log("handshake", "skipping too large meta context");
                        continue;
                    }
                    OptionReply.MetaContext m = OptionReply.decodeMetaContext(payload);
                    debug.log("handshake", "negotiated " + m.name() + " with context ID " + m.id());
                    if (each != null) {
                        each.accept(m.name());
                    }
                    agreed.add(new Negotiated.MetaContext(m.id(), m.name()));
                } else if (r.type() == Nbd.REP_ACK) {
                    if (set) {
                        result.setMetaContexts(agreed, true);
                    }
                    return agreed.size();
                } else if (r.isError()) {
                    debug.log("handshake", Nbd.optionName(option) + " refused: " + describe(r, payload));
                    if (explicit) {
                        throw new NbdError("unexpected response, possibly the server does not support meta contexts",
                                Errno.ENOTSUP, false);
                    }
                    return 0;
                } else {
                    throw fatal("handshake: unexpected reply type " + Integer.toUnsignedString(r.type())
                            + " to " + Nbd.optionName(option), Errno.EPROTO);
                }
            }
        } catch (IOException e) {
            throw ioError(e);
        } catch (ProtocolException e) {
            throw fatal(e.getMessage(), e.errno());
        }
    }

    /** NBD_OPT_LIST: calls {@code each} per export; returns how many. */
    public int list(BiConsumer<String, String> each) throws NbdError {
        if (!fixedNewstyle()) {
            throw new NbdError("handshake: server is not using fixed newstyle", Errno.ENOTSUP, false);
        }
        int option = Nbd.OPT_LIST;
        try {
            send(Options.empty(option));
            int count = 0;
            while (true) {
                OptionReply r = readReply(option);
                ByteBuffer payload = readPayload(r);
                if (r.type() == Nbd.REP_SERVER) {
                    OptionReply.Server s = OptionReply.decodeServer(payload);
                    each.accept(s.name(), s.description());
                    count++;
                } else if (r.type() == Nbd.REP_ACK) {
                    return count;
                } else if (r.isError()) {
                    int errno = r.type() == Nbd.REP_ERR_POLICY ? Errno.EPERM : Errno.ENOTSUP;
                    throw new NbdError("unexpected response, possibly the server does not support listing exports"
                            + (payload.hasRemaining() ? " (server said: " + describe(r, payload) + ")" : ""),
                            errno, false);
                } else {
                    throw fatal("handshake: unexpected reply type " + Integer.toUnsignedString(r.type())
                            + " to NBD_OPT_LIST", Errno.EPROTO);
                }
            }
        } catch (IOException e) {
            throw ioError(e);
        } catch (ProtocolException e) {
            throw fatal(e.getMessage(), e.errno());
        }
    }

    /**
     * NBD_OPT_ABORT: the server should ACK and hang up; either way we shut
     * down our side. Errors after sending are not the caller's concern.
     */
    public void abort() throws NbdError {
        if (!fixedNewstyle()) {
            throw fatal("handshake: server is not using fixed newstyle", Errno.ENOTSUP);
        }
        try {
            send(Options.empty(Nbd.OPT_ABORT));
            ch.transport().shutdownOutput();
        } catch (IOException e) {
            debug.log("handshake", "NBD_OPT_ABORT: " + e.getMessage());
        }
    }

    private void send(ByteBuffer option) throws IOException {
        try {
            ch.write(option);
        } catch (IOException e) {
            if (awaitingFirstTlsReply) {
                // The server hung up, and may have said why in an alert, which is waiting to be read.
                try {
                    ch.need(1);
                } catch (TlsException why) {
                    throw why;
                } catch (IOException ignored) {
                    throw refusedAfterTls();
                }
            }
            throw e;
        }
        ch.chunkSent();
    }

    /**
     * A TLS 1.3 server judges the client's credentials after the client's
     * side of the handshake is done, and GnuTLS servers then just hang up: a
     * server gone before its first answer over TLS most likely refused them.
     */
    private TlsException refusedAfterTls() {
        return ((TlsTransport) ch.transport()).refusedAfterHandshake();
    }

    private OptionReply readReply(int option) throws IOException, NbdError {
        try {
            ch.chunkReceived();
            ByteBuffer header;
            try {
                header = ch.need(OptionReply.HEADER_SIZE);
            } catch (TlsException e) {
                throw e;
            } catch (IOException e) {
                throw awaitingFirstTlsReply ? refusedAfterTls() : e;
            }
            awaitingFirstTlsReply = false;
            return OptionReply.decodeHeader(header, option);
        } catch (ProtocolException e) {
            throw fatal(e.getMessage(), e.errno());
        }
    }

    /** Reads a reply's payload; its length was bounded when the header was decoded. */
    private ByteBuffer readPayload(OptionReply r) throws IOException {
        ByteBuffer p = ByteBuffer.allocate(r.length());
        ch.readFully(p);
        return p.flip();
    }

    private static String describe(OptionReply r, ByteBuffer payload) {
        String msg = OptionReply.decodeErrorMessage(payload.duplicate());
        return "0x" + Integer.toHexString(r.type()) + (msg.isEmpty() ? "" : " " + msg);
    }

    private static NbdError fatal(String message, int errno) {
        return new NbdError(message, errno, true);
    }

    static NbdError ioError(IOException e) {
        if (e instanceof TlsException t) {
            return new NbdError("TLS: " + t.getMessage(), t.errno(), true, t);
        }
        int errno = e instanceof ConnectionClosedException ? Errno.ENOTCONN : errnoOf(e);
        return new NbdError(e.getMessage() == null ? e.toString() : e.getMessage(), errno, true, e);
    }

    /** The errno behind an I/O error; the JDK's socket errors carry only their strerror text. */
    static int errnoOf(IOException e) {
        if (e instanceof io.jnbd.internal.posix.PosixException p) {
            return p.errno();
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("Connection reset")) {
            return Errno.ECONNRESET;
        }
        if (m.contains("Broken pipe")) {
            return Errno.EPIPE;
        }
        if (e instanceof java.nio.channels.ClosedChannelException) {
            return Errno.ESHUTDOWN;
        }
        return Errno.EIO;
    }
}
