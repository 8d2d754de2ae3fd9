package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

import java.net.Socket;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Checks the server's certificate, one question at a time so that a failure
 * says which: is it within its validity period, does it chain to a trusted CA
 * (and is it not revoked), does it name the host. The chain check is the
 * JDK's PKIX trust manager (path building, key usage, algorithm constraints);
 * the name check is {@link Hostnames}, done here rather than by JSSE's
 * endpoint identification so that its failure is told apart.
 *
 * <p>As libnbd, with verification off nothing is checked. Unlike libnbd, which
 * checks nothing at all when it has no host name (a Unix socket without
 * {@code tls-hostname}), the chain is still checked then: only the name check
 * needs a name.
 */
final class ServerCertificateCheck extends X509ExtendedTrustManager {
    private final X509TrustManager pkix;
    private final boolean verify;
    private final String host;
    private final String trustSource;

    ServerCertificateCheck(X509TrustManager pkix, boolean verify, String host, String trustSource) {
        this.pkix = pkix;
        this.verify = verify;
        this.host = host;
        this.trustSource = trustSource;
    }

    /** A certificate the client rejected; JSSE wraps it into its handshake exception, TlsTransport unwraps it. */
    static final class Rejected extends CertificateException {
        private static final long serialVersionUID = 1L;

        final transient TlsException reason;

        Rejected(TlsException reason) {
            super(reason.getMessage(), reason);
            this.reason = reason;
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        if (!verify) {
            return;
        }
        X509Certificate leaf = chain[0];
        try {
            leaf.checkValidity();
        } catch (CertificateExpiredException e) {
            throw reject("the server's certificate expired on " + leaf.getNotAfter().toInstant(), Errno.EKEYEXPIRED);
        } catch (CertificateNotYetValidException e) {
            throw reject("the server's certificate is not valid before " + leaf.getNotBefore().toInstant(),
                    Errno.EKEYEXPIRED);
        }
        try {
            pkix.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            throw reject(chainProblem(e), Errno.EPERM);
        }
        if (host != null && !host.isEmpty() && !Hostnames.matches(leaf, host)) {
            throw reject("the server's certificate is for " + Hostnames.describe(leaf) + ", not for '" + host
                    + "' (set the expected name with setTlsHostname or tls-hostname)", Errno.EPERM);
        }
    }

    private String chainProblem(CertificateException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertPathValidatorException v) {
                if (v.getReason() == CertPathValidatorException.BasicReason.REVOKED) {
                    return "the server's certificate has been revoked (" + X509Tls.CA_CRL + ")";
                }
                if (v.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                        || v.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return "a certificate in the server's chain is outside its validity period: " + v.getMessage();
                }
                if (v.getReason() == PKIXReason.NO_TRUST_ANCHOR) {
                    break;
                }
            }
        }
        return "the server's certificate is not signed by a trusted CA (trusted: " + trustSource + "): "
                + e.getMessage();
    }

    private static Rejected reject(String message, int errno) {
        return new Rejected(new TlsException(message, errno));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkServerTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServerTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("jnbd is a TLS client only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("jnbd is a TLS client only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("jnbd is a TLS client only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
