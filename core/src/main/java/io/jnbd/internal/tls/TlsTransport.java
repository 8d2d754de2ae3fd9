package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.transport.Transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;

/**
 * A {@link Transport} that speaks TLS over another one, which it owns.
 *
 * <p>{@link #connect} runs the handshake, blocking, on the caller's thread.
 * Afterwards, as the {@link Transport} contract says, one thread at a time
 * reads while any number write (whole writes are serialized here); a
 * {@link #close()} from any thread closes the inner transport, which makes a
 * blocked read or write return.
 *
 * <p>The ciphertext buffers are heap buffers on purpose: the JDK's AES-GCM
 * runs about twice as fast on arrays as on direct buffers, and JSSE decrypts
 * a record in place in the ciphertext buffer before copying the plaintext
 * out, so a direct buffer would save no copy. Reads hand the caller's buffer
 * to the engine when it has room for a whole record; only a record that
 * straddles the end of the caller's buffer goes through a record-sized buffer
 * here. Writes encrypt up to {@link #WRITE_RECORDS} records into one buffer
 * and send them with one call.
 *
 * <p>Records must reach the wire in the order the engine made them, and the
 * reader sometimes has to send one (the answer to a TLS 1.3 key update). So
 * every encrypt-and-send happens under {@link #writeLock}; but the reader
 * never waits for it, because a writer blocked on a full socket may be
 * waiting for the server, which may be waiting for us to read. If the lock is
 * busy the reader leaves the record queued in the engine, and whoever holds
 * the lock sends it on the way out ({@link #flushPending}).
 */
public final class TlsTransport implements Transport {
    /** Records encrypted into one buffer before a write to the inner transport. */
    private static final int WRITE_RECORDS = 4;
    /** Ciphertext read from the inner transport at a time, in records. */
    private static final int READ_RECORDS = 16;

    private final Transport inner;
    private final TlsEngine engine;
    private final TlsConfig cfg;
    private final ReentrantLock writeLock = new ReentrantLock();

    // Read side: used by one thread at a time, as Transport.read requires.
    /** Ciphertext read and not yet decrypted, between position and limit. */
    private ByteBuffer netIn;
    /** Plaintext of a record that did not fit in the caller's buffer, between position and limit. */
    private ByteBuffer appIn;

    // Write side: guarded by writeLock.
    private ByteBuffer netOut;

    private TlsTransport(Transport inner, TlsEngine engine, TlsConfig cfg) {
        this.inner = inner;
        this.engine = engine;
        this.cfg = cfg;
        int packet = engine.packetSize();
        netIn = ByteBuffer.allocate(READ_RECORDS * packet).flip();
        appIn = ByteBuffer.allocate(engine.plaintextSize()).flip();
        netOut = ByteBuffer.allocate(WRITE_RECORDS * packet);
    }

    /**
     * Runs the TLS handshake over {@code inner}, which must have nothing
     * buffered above it: with a PSK file, TLS-PSK; otherwise X.509 with the
     * certificates directory. On failure {@code inner} is left open for the
     * caller to close.
     *
     * @param debug receives one-line notes on what was used and negotiated
     * @throws TlsException saying what failed: the credentials, the server's
     *         certificate, the server's refusal, or a server that does not speak TLS
     */
    public static TlsTransport connect(Transport inner, TlsConfig cfg, Consumer<String> debug) throws IOException {
        TlsEngine engine = cfg.pskFile() != null ? Psk.engine(cfg) : X509Tls.engine(cfg, debug);
        TlsTransport t = new TlsTransport(inner, engine, cfg);
        t.handshake();
        debug.accept("connection is using " + engine.describe());
        return t;
    }

    /**
     * The server's side: runs the handshake with {@code engine} (in server
     * mode) over {@code inner}, which must have nothing buffered above it.
     */
    static TlsTransport accept(Transport inner, TlsEngine engine) throws IOException {
        TlsTransport t = new TlsTransport(inner, engine, null);
        t.handshake();
        return t;
    }

    private void handshake() throws IOException {
        boolean firstRead = true;
        try {
            engine.beginHandshake();
            while (engine.handshaking()) {
                if (engine.hasPendingOutput()) {
                    writeLock.lock();
                    try {
                        send(new ByteBuffer[0]);
                    } finally {
                        writeLock.unlock();
                    }
                    continue;
                }
                appIn.compact();
                TlsEngine.Unwrapped u;
                try {
                    u = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
                if (u == TlsEngine.Unwrapped.CLOSED) {
                    throw new TlsException("the server closed the TLS session during the handshake", Errno.EPROTO);
                }
                if (u == TlsEngine.Unwrapped.NEED_ROOM) {
                    // NBD servers speak only when asked; data before our Finished is not an NBD server's.
                    throw new TlsException("the server sent application data during the TLS handshake", Errno.EPROTO);
                }
                if (u == TlsEngine.Unwrapped.NEED_INPUT) {
                    if (fill() < 0) {
                        // GnuTLS hangs up without an alert when a PSK binder does not verify.
                        throw cfg != null && cfg.pskFile() != null
                                ? new TlsException(Psk.rejected(cfg, "it hung up during the handshake"), Errno.EACCES)
                                : new TlsException("the server closed the connection during the TLS handshake",
                                        Errno.ECONNRESET);
                    }
                    if (firstRead) {
                        firstRead = false;
                        checkLooksLikeTls();
                    }
                }
            }
            flushPending();
        } catch (TlsException e) {
            throw e;
        } catch (SSLException e) {
            throw explain(e, true);
        } catch (IOException e) {
            throw new TlsException("handshake failed: " + e.getMessage(), Errno.EPROTO, e);
        }
    }

    /**
     * The first bytes after the server accepted STARTTLS must be a TLS record
     * (handshake or alert). Anything else is a server, or someone in the
     * middle, carrying on in plaintext: the downgrade of CVE-2019-14842.
     */
    private void checkLooksLikeTls() throws TlsException {
        int type = netIn.get(netIn.position()) & 0xff;
        boolean tls = (type == 22 || type == 21) && (netIn.remaining() < 2 || netIn.get(netIn.position() + 1) == 3);
        if (!tls) {
            throw new TlsException("the server accepted NBD_OPT_STARTTLS but did not answer in TLS (first byte 0x"
                    + Integer.toHexString(type) + "): refusing to go on in plaintext", Errno.EPROTO);
        }
    }

    /**
     * A JSSE failure, told apart: our check of the server, the server's refusal
     * of us, or else. A TLS 1.3 server judges the client's certificate after the
     * client's side of the handshake is done, so its refusal may come later, as
     * the answer to the first read.
     */
    private TlsException explain(SSLException e, boolean handshaking) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ServerCertificateCheck.Rejected r) {
                return r.reason;
            }
        }
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("Received fatal alert: ")) {
            String alert = m.substring("Received fatal alert: ".length());
            boolean aboutUs = alert.contains("certificate") || alert.equals("unknown_ca")
                    || alert.equals("access_denied");
            if (handshaking || aboutUs) {
                return new TlsException("the server refused the TLS handshake with the alert " + alert
                        + (aboutUs ? ": does it require a client certificate? (" + X509Tls.CLIENT_CERT + " and "
                        + X509Tls.CLIENT_KEY + " in " + (cfg != null && cfg.certificates() != null ? cfg.certificates()
                        : "the certificates directory") + ")" : ""), Errno.EACCES, e);
            }
            return new TlsException("the server ended the TLS session with the alert " + alert, Errno.EPROTO, e);
        }
        return new TlsException((handshaking ? "handshake failed: " : "") + m, Errno.EPROTO, e);
    }

    /** The error for a server that hung up after the handshake without a word: what it probably refused. */
    public TlsException refusedAfterHandshake() {
        return new TlsException("the server hung up right after the TLS handshake, before answering: "
                + engine.likelyRefusal(), Errno.EACCES);
    }

    // ------------------------------------------------------------------ reading

    @Override
    public int read(ByteBuffer dst) throws IOException {
        try {
            return decrypt(dst);
        } catch (SSLException e) {
            throw explain(e, false);
        }
    }

    private int decrypt(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        if (appIn.hasRemaining()) {
            return drainAppIn(dst);
        }
        int start = dst.position();
        boolean viaAppIn = false;
        while (true) {
            boolean direct = !viaAppIn && dst.remaining() >= engine.plaintextSize();
            TlsEngine.Unwrapped u;
            if (direct) {
                u = engine.unwrap(netIn, dst);
            } else {
                appIn.clear();
                try {
                    u = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
            }
            if (engine.hasPendingOutput()) {
                flushPending();
            }
            if (!direct && appIn.hasRemaining()) {
                return dst.position() - start + drainAppIn(dst);
            }
            int got = dst.position() - start;
            switch (u) {
                case OK -> {
                    // Another whole record may already be buffered: decrypt it too, but never wait for one.
                }
                case NEED_ROOM -> {
                    if (got > 0) {
                        return got;
                    }
                    if (!direct) {
                        // A record larger than the engine said records could be (a peer's large fragment).
                        appIn = ByteBuffer.allocate(Math.max(2 * appIn.capacity(), engine.plaintextSize()))
                                .flip();
                    }
                    viaAppIn = true;
                }
                case NEED_INPUT -> {
                    if (got > 0) {
                        return got;
                    }
                    if (fill() < 0) {
                        return -1;
                    }
                }
                case CLOSED -> {
                    return got > 0 ? got : -1;
                }
            }
        }
    }

    private int drainAppIn(ByteBuffer dst) {
        int n = Math.min(appIn.remaining(), dst.remaining());
        int limit = appIn.limit();
        appIn.limit(appIn.position() + n);
        dst.put(appIn);
        appIn.limit(limit);
        return n;
    }

    /** Reads more ciphertext from the inner transport, growing the buffer if a record does not fit. */
    private int fill() throws IOException {
        netIn.compact();
        try {
            if (!netIn.hasRemaining()) {
                ByteBuffer bigger = ByteBuffer.allocate(netIn.capacity() + engine.packetSize());
                netIn.flip();
                bigger.put(netIn);
                netIn = bigger;
            }
            return inner.read(netIn);
        } finally {
            netIn.flip();
        }
    }

    // ------------------------------------------------------------------ writing

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        writeLock.lock();
        try {
            send(srcs);
        } finally {
            writeLock.unlock();
        }
        if (engine.hasPendingOutput()) {
            flushPending();
        }
    }

    /** Encrypts and sends pending records, then all of {@code srcs}; the caller holds the write lock. */
    private void send(ByteBuffer[] srcs) throws IOException {
        while (engine.hasPendingOutput() || remaining(srcs)) {
            netOut.clear();
            int packet = engine.packetSize();
            if (netOut.capacity() < packet) {
                netOut = ByteBuffer.allocate(WRITE_RECORDS * packet);
            }
            while (netOut.remaining() >= packet && (engine.hasPendingOutput() || remaining(srcs))) {
                engine.wrap(srcs, netOut);
            }
            netOut.flip();
            inner.write(netOut);
        }
    }

    private static boolean remaining(ByteBuffer[] srcs) {
        for (ByteBuffer b : srcs) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sends records the engine queued on its own, if no writer is busy; a busy
     * writer sends them itself before it lets go of the lock, and checks again
     * after (see the class comment), so none is left behind.
     */
    private void flushPending() throws IOException {
        while (engine.hasPendingOutput() && writeLock.tryLock()) {
            try {
                send(new ByteBuffer[0]);
            } finally {
                writeLock.unlock();
            }
        }
    }

    // ------------------------------------------------------------------ ending

    /** Sends close_notify, then shuts down the inner transport's output. */
    @Override
    public void shutdownOutput() throws IOException {
        writeLock.lock();
        try {
            engine.closeOutbound();
            send(new ByteBuffer[0]);
        } finally {
            writeLock.unlock();
        }
        inner.shutdownOutput();
    }

    /** Closes the inner transport, waking a blocked read or write; no close_notify (the connection is over). */
    @Override
    public void close() {
        inner.close();
    }
}
