package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

/**
 * TLS-PSK, which needs BouncyCastle: the JDK's TLS has no external
 * pre-shared keys. BouncyCastle is an optional dependency ({@code requires
 * static} in the module descriptor), so its presence is checked before any
 * class that uses it is loaded.
 */
public final class Psk {
    /** What to tell a user who asks for TLS-PSK without BouncyCastle. */
    public static final String MISSING = "TLS-PSK (setTlsPskFile, tls-psk-file) needs BouncyCastle's TLS jars, which "
            + "are missing: put bctls-jdk18on, bcprov-jdk18on and bcutil-jdk18on on the class path (or on the "
            + "module path with --add-modules org.bouncycastle.tls)";
    /** The class whose presence means BouncyCastle's TLS API can be used. */
    private static final String PROBE = "org.bouncycastle.tls.TlsClientProtocol";

    private Psk() {
    }

    /**
     * True if BouncyCastle's TLS jars are there: on the class path, or as
     * modules that this one reads (on the module path, {@code requires static}
     * resolves them only if something else requires them or they are added
     * with {@code --add-modules org.bouncycastle.tls}).
     */
    public static boolean available() {
        try {
            Class<?> c = Class.forName(PROBE, false, Psk.class.getClassLoader());
            Class.forName("org.bouncycastle.crypto.Digest", false, Psk.class.getClassLoader());
            return Psk.class.getModule().canRead(c.getModule());
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** The message for a server that refused {@code cfg}'s PSK credentials, and how it showed it. */
    static String rejected(TlsConfig cfg, String how) {
        return "the server did not accept TLS-PSK user '" + cfg.username() + "' with the key from " + cfg.pskFile()
                + " (" + how + "): is that user in the server's PSK file, with the same key?";
    }

    /** An engine for {@code cfg}'s user and key, or an error saying what is missing. */
    static TlsEngine engine(TlsConfig cfg) throws TlsException {
        if (!available()) {
            throw new TlsException(MISSING, Errno.ENOTSUP);
        }
        byte[] key = PskFile.key(cfg.pskFile(), cfg.username());
        return new BcPskEngine(cfg, key);
    }
}
