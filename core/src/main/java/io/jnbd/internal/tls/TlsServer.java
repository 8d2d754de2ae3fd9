package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.transport.Transport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * TLS for the embedded server (module io.jnbd.server): X.509 credentials
 * from a directory laid out as nbdkit's {@code --tls-certificates}
 * ({@code server-cert.pem}, {@code server-key.pem}), and the server's side of
 * the handshake after NBD_OPT_STARTTLS.
 */
public final class TlsServer {
    public static final String SERVER_CERT = "server-cert.pem";
    public static final String SERVER_KEY = "server-key.pem";
    private static final char[] PASSWORD = "jnbd".toCharArray();

    private final SSLContext context;

    private TlsServer(SSLContext context) {
        this.context = context;
    }

    /** Reads the server's certificate chain and key from {@code dir}. */
    public static TlsServer fromDirectory(Path dir) throws IOException {
        Path certFile = dir.resolve(SERVER_CERT);
        Path keyFile = dir.resolve(SERVER_KEY);
        try {
            List<X509Certificate> chain = Pem.certificates(certFile.toString(), Files.readAllBytes(certFile));
            PrivateKey key = Pem.privateKey(keyFile.toString(), Files.readAllBytes(keyFile));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("server", key, PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, PASSWORD);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return new TlsServer(context);
        } catch (GeneralSecurityException e) {
            throw new TlsException("cannot set up TLS with " + certFile + " and " + keyFile + ": " + e.getMessage(),
                    Errno.EINVAL, e);
        }
    }

    /** Runs the server's side of the handshake over {@code inner} and returns the encrypted transport. */
    public Transport accept(Transport inner) throws IOException {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        engine.setSSLParameters(p);
        return TlsTransport.accept(inner, new JsseEngine(engine, "the client refused the server's certificate"));
    }
}
