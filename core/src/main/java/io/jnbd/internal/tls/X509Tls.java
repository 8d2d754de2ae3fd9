package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * X.509 credentials from libnbd's certificates directory, and the JSSE engine
 * that uses them.
 *
 * <p>The directory holds {@code ca-cert.pem} (the CAs the server's certificate
 * must chain to), optionally {@code client-cert.pem} with
 * {@code client-key.pem} (for servers that verify their clients) and
 * {@code ca-crl.pem} (revoked certificates). As in libnbd, a directory counts
 * only if its {@code ca-cert.pem} exists; without one (or without a directory
 * setting and none of libnbd's default directories) the system's trusted CAs
 * are used. Unlike libnbd, which skips a client certificate whose key it
 * cannot read, a half-present or unreadable client pair is an error: a
 * server that verifies clients would only refuse the handshake later, less
 * clearly.
 */
final class X509Tls {
    static final String CA_CERT = "ca-cert.pem";
    static final String CA_CRL = "ca-crl.pem";
    static final String CLIENT_CERT = "client-cert.pem";
    static final String CLIENT_KEY = "client-key.pem";
    /** Any password will do: the key store only lives in memory. */
    private static final char[] PASSWORD = "jnbd".toCharArray();

    private X509Tls() {
    }

    /** A client engine for {@code cfg}, with SNI and the server's certificate checked as it says. */
    static TlsEngine engine(TlsConfig cfg, Consumer<String> debug) throws TlsException {
        Path dir = certificatesDir(cfg.certificates(), debug);
        try {
            KeyManager[] keys = null;
            X509TrustManager pkix;
            String trustSource;
            if (dir != null) {
                Path caFile = dir.resolve(CA_CERT);
                List<X509Certificate> cas = Pem.certificates(caFile.toString(), read(caFile));
                List<X509CRL> crls = Files.exists(dir.resolve(CA_CRL))
                        ? Pem.crls(dir.resolve(CA_CRL).toString(), read(dir.resolve(CA_CRL))) : List.of();
                pkix = trustManager(cas, crls);
                keys = clientKeys(dir);
                trustSource = CA_CERT + " in " + dir;
                debug.accept("using the certificates in " + dir + (keys != null ? " (with a client certificate)" : "")
                        + (crls.isEmpty() ? "" : " and " + CA_CRL));
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init((KeyStore) null);
                pkix = x509(tmf.getTrustManagers());
                trustSource = cfg.certificates() == null ? "the system trust store (no " + CA_CERT
                        + " in libnbd's default directories)" : "the system trust store (no " + CA_CERT + " in "
                        + cfg.certificates() + ")";
                debug.accept("using " + trustSource);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, new TrustManager[] {
                new ServerCertificateCheck(pkix, cfg.verifyPeer(), cfg.hostname(), trustSource)}, null);
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(true);
            SSLParameters p = engine.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            p.setCipherSuites(preferAes128(p.getCipherSuites(), System.getProperty("jdk.tls.client.cipherSuites")));
            SNIHostName sni = sniName(cfg.hostname());
            if (sni != null) {
                p.setServerNames(List.of(sni));
            }
            engine.setSSLParameters(p);
            return new JsseEngine(engine, keys != null
                    ? "it probably did not accept the client certificate " + dir.resolve(CLIENT_CERT)
                            + " (is it signed by a CA the server trusts?)"
                    : "it probably requires a client certificate, and none was offered (no " + CLIENT_CERT + " and "
                            + CLIENT_KEY + " in " + (dir != null ? dir : "a certificates directory") + ")");
        } catch (GeneralSecurityException e) {
            throw new TlsException("cannot set up TLS: " + e.getMessage(), Errno.EINVAL, e);
        }
    }

    /**
     * The enabled suites with each AES-128-GCM suite moved just ahead of its
     * AES-256-GCM twin, the order Go and BoringSSL use: GnuTLS servers (nbdkit,
     * qemu-nbd) follow the client's order, and AES-128 takes 10 rounds a block
     * to AES-256's 14, some 12 % of a copy's throughput when decryption is
     * what bounds it (bench/tls.sh). An order the user set with
     * {@code jdk.tls.client.cipherSuites} ({@code userOrder}) is kept.
     */
    static String[] preferAes128(String[] suites, String userOrder) {
        if (userOrder != null && !userOrder.isBlank()) {
            return suites;
        }
        List<String> order = new ArrayList<>(List.of(suites));
        for (String suite : suites) {
            if (suite.endsWith("AES_256_GCM_SHA384")) {
                String faster = suite.replace("AES_256_GCM_SHA384", "AES_128_GCM_SHA256");
                int at = order.indexOf(suite);
                int was = order.indexOf(faster);
                if (was > at) {
                    order.remove(was);
                    order.add(at, faster);
                }
            }
        }
        return order.toArray(String[]::new);
    }

    /**
     * The directory to use: the one set, or libnbd's default for this user
     * ({@code $HOME/.pki/libnbd}, then {@code $HOME/.config/pki/libnbd}; for
     * root {@code /etc/pki/libnbd}); null if it has no {@code ca-cert.pem}.
     */
    private static Path certificatesDir(String set, Consumer<String> debug) throws TlsException {
        List<Path> candidates = new ArrayList<>();
        if (set != null) {
            candidates.add(Path.of(set));
        } else if (effectiveUid() != 0) {
            String home = System.getenv("HOME");
            if (home != null) {
                candidates.add(Path.of(home, ".pki", "libnbd"));
                candidates.add(Path.of(home, ".config", "pki", "libnbd"));
            }
        } else {
            candidates.add(Path.of("/etc/pki/libnbd"));
        }
        for (Path dir : candidates) {
            if (Files.exists(dir.resolve(CA_CERT))) {
                return dir;
            }
            debug.accept("no " + CA_CERT + " in " + dir);
        }
        return null;
    }

    /** The effective uid, from the owner of /proc/self (which is the process's euid). */
    private static int effectiveUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name")) ? 0 : -1;
        }
    }

    /** A PKIX trust manager for these CAs; with CRLs, revocation is checked against them (and only them). */
    private static X509TrustManager trustManager(List<X509Certificate> cas, List<X509CRL> crls)
            throws GeneralSecurityException {
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        try {
            anchors.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        for (int i = 0; i < cas.size(); i++) {
            anchors.setCertificateEntry("ca" + i, cas.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        if (crls.isEmpty()) {
            tmf.init(anchors);
        } else {
            PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls)));
            params.setRevocationEnabled(true);
            tmf.init(new CertPathTrustManagerParameters(params));
        }
        return x509(tmf.getTrustManagers());
    }

    private static X509TrustManager x509(TrustManager[] managers) throws GeneralSecurityException {
        for (TrustManager m : managers) {
            if (m instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager");
    }

    /** The client certificate and key, or null if the directory has neither. */
    private static KeyManager[] clientKeys(Path dir) throws TlsException, GeneralSecurityException {
        Path certFile = dir.resolve(CLIENT_CERT);
        Path keyFile = dir.resolve(CLIENT_KEY);
        boolean haveCert = Files.exists(certFile);
        boolean haveKey = Files.exists(keyFile);
        if (!haveCert && !haveKey) {
            return null;
        }
        if (haveCert != haveKey) {
            Path present = haveCert ? certFile : keyFile;
            Path missing = haveCert ? keyFile : certFile;
            throw new TlsException(present + " has no matching " + missing + ": a client certificate needs both",
                    Errno.ENOENT);
        }
        List<X509Certificate> chain = Pem.certificates(certFile.toString(), read(certFile));
        PrivateKey key = Pem.privateKey(keyFile.toString(), read(keyFile));
        if (!key.getAlgorithm().equals(chain.getFirst().getPublicKey().getAlgorithm())) {
            throw new TlsException(keyFile + " holds a " + key.getAlgorithm() + " key but " + certFile
                    + " certifies a " + chain.getFirst().getPublicKey().getAlgorithm() + " key", Errno.EINVAL);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        store.setKeyEntry("client", key, PASSWORD, chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("NewSunX509");
        kmf.init(store, PASSWORD);
        return kmf.getKeyManagers();
    }

    /** A file's content; a missing or unreadable file is an error naming it. */
    static byte[] read(Path file) throws TlsException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TlsException(file + ": No such file or directory", Errno.ENOENT, e);
        } catch (AccessDeniedException e) {
            throw new TlsException(file + ": Permission denied", Errno.EACCES, e);
        } catch (IOException e) {
            throw new TlsException(file + ": cannot read: " + e.getMessage(), Errno.EIO, e);
        }
    }

    /** SNI carries DNS names only (RFC 6066), never an IP address. */
    private static SNIHostName sniName(String host) {
        if (host == null || host.isEmpty() || Hostnames.isIpLiteral(host)) {
            return null;
        }
        try {
            return new SNIHostName(host);
        } catch (IllegalArgumentException notAHostName) {
            return null;
        }
    }
}
