package io.jnbd.internal.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;

/**
 * {@link TlsEngine} on the JDK's {@link SSLEngine}, for X.509. SSLEngine
 * allows one wrap and one unwrap at a time concurrently, which is exactly the
 * contract, so nothing is locked here.
 */
final class JsseEngine implements TlsEngine {
    private final SSLEngine engine;
    private final String likelyRefusal;

    JsseEngine(SSLEngine engine, String likelyRefusal) {
        this.engine = engine;
        this.likelyRefusal = likelyRefusal;
    }

    @Override
    public void beginHandshake() throws IOException {
        engine.beginHandshake();
    }

    @Override
    public boolean handshaking() {
        return status() != HandshakeStatus.NOT_HANDSHAKING;
    }

    @Override
    public boolean hasPendingOutput() {
        return status() == HandshakeStatus.NEED_WRAP;
    }

    /** The handshake status once the engine's delegated tasks (certificate checks, key agreement) have run. */
    private HandshakeStatus status() {
        HandshakeStatus s = engine.getHandshakeStatus();
        while (s == HandshakeStatus.NEED_TASK) {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                task.run();
            }
            s = engine.getHandshakeStatus();
        }
        return s;
    }

    @Override
    public void wrap(ByteBuffer[] srcs, ByteBuffer dst) throws IOException {
        SSLEngineResult r = engine.wrap(srcs, dst);
        if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
            throw new IllegalStateException("TLS record does not fit in " + dst.remaining() + " bytes");
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED && r.bytesProduced() == 0 && remaining(srcs)) {
            throw new IOException("TLS session is closed");
        }
        if (r.bytesProduced() == 0 && r.bytesConsumed() == 0 && remaining(srcs) && !hasPendingOutput()) {
            // Only a server-initiated TLS 1.2 renegotiation stalls sending; NBD servers never start one.
            throw new IOException("TLS session cannot send data (handshake status " + status() + ")");
        }
        status();
    }

    private static boolean remaining(ByteBuffer[] srcs) {
        for (ByteBuffer b : srcs) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Unwrapped unwrap(ByteBuffer src, ByteBuffer dst) throws IOException {
        SSLEngineResult r = engine.unwrap(src, dst);
        status();
        return switch (r.getStatus()) {
            case BUFFER_UNDERFLOW -> Unwrapped.NEED_INPUT;
            case BUFFER_OVERFLOW -> Unwrapped.NEED_ROOM;
            case CLOSED -> Unwrapped.CLOSED;
            case OK -> Unwrapped.OK;
        };
    }

    @Override
    public void closeOutbound() {
        engine.closeOutbound();
    }

    @Override
    public int packetSize() {
        return engine.getSession().getPacketBufferSize();
    }

    @Override
    public int plaintextSize() {
        return engine.getSession().getApplicationBufferSize();
    }

    @Override
    public String likelyRefusal() {
        return likelyRefusal;
    }

    @Override
    public String describe() {
        return engine.getSession().getProtocol() + " " + engine.getSession().getCipherSuite();
    }
}
