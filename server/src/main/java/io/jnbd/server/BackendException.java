package io.jnbd.server;

import java.io.IOException;

/** A backend failure that the client sees as a chosen NBD error (one of the values the protocol names). */
public class BackendException extends IOException {
    private static final long serialVersionUID = 1L;

    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    private final int error;

    /**
     * @param error the NBD error ({@link #EIO}, {@link #ENOSPC}, ...); values the protocol
     *        does not name are sent as EINVAL
     */
    public BackendException(int error, String message) {
        super(message);
        this.error = error;
    }

    public int error() {
        return error;
    }
}
