package io.jnbd.internal.tls;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The client side of one TLS session as {@link TlsTransport} drives it: the
 * part of {@link javax.net.ssl.SSLEngine} it needs, so that JSSE (X.509) and
 * BouncyCastle (PSK, which JSSE lacks) sit behind one pump. No I/O happens
 * here; the transport moves the bytes.
 *
 * <p>Thread safety: {@link #wrap} and {@link #unwrap} may run at the same time
 * in two threads (a writer and the reader), each called by one thread at a
 * time; the other methods may be called from either.
 */
interface TlsEngine {

    /** What an {@link #unwrap} achieved. */
    enum Unwrapped {
        /** Some bytes were consumed or produced; call again. */
        OK,
        /** {@code src} does not hold a whole record: read more. */
        NEED_INPUT,
        /** The next record's plaintext does not fit in {@code dst}. */
        NEED_ROOM,
        /** The peer sent close_notify: end of stream. */
        CLOSED
    }

    /** Starts the handshake; the ClientHello is then {@linkplain #hasPendingOutput() pending}. */
    void beginHandshake() throws IOException;

    /** True until the handshake has completed. */
    boolean handshaking();

    /**
     * Records are waiting to be sent that no application data asked for: the
     * handshake's, a TLS 1.3 key update's answer, close_notify.
     */
    boolean hasPendingOutput();

    /**
     * Puts pending output, then records of the remaining bytes of {@code srcs}, into
     * {@code dst}, which must have room for {@link #packetSize()} bytes.
     */
    void wrap(ByteBuffer[] srcs, ByteBuffer dst) throws IOException;

    /** Decrypts records from {@code src} into {@code dst}, advancing both. */
    Unwrapped unwrap(ByteBuffer src, ByteBuffer dst) throws IOException;

    /** Queues close_notify; no application data may follow. */
    void closeOutbound();

    /** The largest record on the wire. */
    int packetSize();

    /** The most plaintext one record carries. */
    int plaintextSize();

    /** The negotiated protocol and cipher suite, for debug messages. */
    String describe();

    /** What the server most likely refused if it hangs up after the handshake: our credentials, named. */
    String likelyRefusal();
}
