package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Vector;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.BasicTlsPSKExternal;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.PRFAlgorithm;
import org.bouncycastle.tls.PSKTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.PskKeyExchangeMode;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * {@link TlsEngine} for TLS-PSK, on BouncyCastle's {@link TlsClientProtocol}
 * in non-blocking mode (bytes offered in, records read out), which has the
 * same shape as SSLEngine so that one pump serves both.
 *
 * <p>It offers what GnuTLS servers (nbdkit, qemu-nbd) accept: TLS 1.3 with the
 * key as an external PSK (identity = user name, SHA-256 binder), and TLS 1.2
 * with the PSK cipher suites, (EC)DHE first for forward secrecy. Cryptography
 * goes through the JDK's providers ({@link JcaTlsCryptoProvider}), whose AES-GCM
 * uses the CPU's AES instructions.
 *
 * <p>BouncyCastle's protocol object is not thread-safe, so every call holds
 * this object's lock; none of them does I/O, so the lock is held briefly.
 * This class is loaded only once {@link Psk#available()} has said that
 * BouncyCastle is there.
 */
final class BcPskEngine implements TlsEngine {
    /** Room for any record's overhead beyond its plaintext (header, IV, MAC or tag, padding). */
    private static final int RECORD_OVERHEAD = 1024;

    private static final int[] CIPHER_SUITES = {
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_DHE_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_DHE_PSK_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_DHE_PSK_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_PSK_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_PSK_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
    };

    private final TlsClientProtocol protocol = new TlsClientProtocol();
    private final Client client;
    private final TlsConfig cfg;
    private byte[] scratch = new byte[64 * 1024];
    private boolean handshakeDone;

    BcPskEngine(TlsConfig cfg, byte[] key) {
        TlsCrypto crypto = new JcaTlsCryptoProvider().create(new SecureRandom());
        this.client = new Client(crypto, cfg.username().getBytes(StandardCharsets.UTF_8), key);
        this.cfg = cfg;
    }

    private final class Client extends PSKTlsClient {
        private final byte[] identity;
        private final byte[] key;

        Client(TlsCrypto crypto, byte[] identity, byte[] key) {
            super(crypto, identity, key);
            this.identity = identity;
            this.key = key;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv13.downTo(ProtocolVersion.TLSv12);
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return TlsUtils.getSupportedCipherSuites(getCrypto(), CIPHER_SUITES);
        }

        @Override
        public Vector<BasicTlsPSKExternal> getExternalPSKs() {
            Vector<BasicTlsPSKExternal> psks = new Vector<>();
            psks.add(new BasicTlsPSKExternal(identity, getCrypto().createSecret(key),
                    PRFAlgorithm.tls13_hkdf_sha256));
            return psks;
        }

        @Override
        public short[] getPskKeyExchangeModes() {
            return new short[] {PskKeyExchangeMode.psk_dhe_ke, PskKeyExchangeMode.psk_ke};
        }

        /** qemu-nbd hangs up without close_notify; NBD's own framing already detects truncation. */
        @Override
        public boolean requiresCloseNotify() {
            return false;
        }

        String describe() {
            return "TLS-PSK " + context.getServerVersion() + " cipher suite 0x"
                    + Integer.toHexString(context.getSecurityParametersConnection().getCipherSuite());
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            handshakeDone = true;
        }
    }

    @Override
    public synchronized void beginHandshake() throws IOException {
        protocol.connect(client);
    }

    @Override
    public synchronized boolean handshaking() {
        return !handshakeDone;
    }

    @Override
    public synchronized boolean hasPendingOutput() {
        return protocol.getAvailableOutputBytes() > 0;
    }

    @Override
    public synchronized void wrap(ByteBuffer[] srcs, ByteBuffer dst) throws IOException {
        if (protocol.getAvailableOutputBytes() == 0) {
            int n = 0;
            int limit = Math.min(protocol.getApplicationDataLimit(), dst.remaining() - RECORD_OVERHEAD);
            for (ByteBuffer src : srcs) {
                int k = Math.min(src.remaining(), limit - n);
                src.get(scratch, n, k);
                n += k;
            }
            if (n > 0) {
                protocol.writeApplicationData(scratch, 0, n);
            }
        }
        protocol.readOutput(dst, Math.min(protocol.getAvailableOutputBytes(), dst.remaining()));
    }

    @Override
    public synchronized Unwrapped unwrap(ByteBuffer src, ByteBuffer dst) throws IOException {
        if (protocol.getAvailableInputBytes() == 0) {
            if (protocol.isClosed()) {
                return Unwrapped.CLOSED;
            }
            if (!src.hasRemaining()) {
                return Unwrapped.NEED_INPUT;
            }
            int n = src.remaining();
            if (n > scratch.length) {
                scratch = new byte[n];
            }
            src.get(scratch, 0, n);
            try {
                protocol.offerInput(scratch, 0, n);
            } catch (TlsFatalAlertReceived e) {
                throw rejected(e);
            }
        }
        int available = protocol.getAvailableInputBytes();
        if (available > 0 && !dst.hasRemaining()) {
            return Unwrapped.NEED_ROOM;
        }
        protocol.readInput(dst, Math.min(available, dst.remaining()));
        return Unwrapped.OK;
    }

    /** An alert from the server during the handshake: it did not accept our identity or key. */
    private IOException rejected(TlsFatalAlertReceived e) {
        if (handshakeDone) {
            return e;
        }
        return new TlsException(Psk.rejected(cfg, "it sent the alert "
                + AlertDescription.getText(e.getAlertDescription())), Errno.EACCES, e);
    }

    @Override
    public synchronized void closeOutbound() {
        try {
            protocol.close();
        } catch (IOException e) {
            // The session is already failed or closed: there is no close_notify left to send.
        }
    }

    @Override
    public synchronized int packetSize() {
        return protocol.getApplicationDataLimit() + RECORD_OVERHEAD;
    }

    @Override
    public synchronized int plaintextSize() {
        return protocol.getApplicationDataLimit();
    }

    @Override
    public String likelyRefusal() {
        return Psk.rejected(cfg, "it hung up");
    }

    @Override
    public synchronized String describe() {
        return client.describe();
    }
}
