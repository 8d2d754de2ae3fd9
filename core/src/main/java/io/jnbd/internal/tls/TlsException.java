package io.jnbd.internal.tls;

import java.io.IOException;

/**
 * Why TLS could not be set up or went wrong: the message says what (a file,
 * the server's certificate, the handshake) and {@link #errno()} is the Linux
 * errno the handle reports.
 */
public final class TlsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public TlsException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public TlsException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
