package io.jnbd.internal.protocol;

/** The server broke the protocol: the connection cannot continue. */
public final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public ProtocolException(String message) {
        this(message, Errno.EPROTO);
    }

    public ProtocolException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
