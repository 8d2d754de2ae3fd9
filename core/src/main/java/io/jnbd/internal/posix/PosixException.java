package io.jnbd.internal.posix;

import java.io.IOException;

/** A failed system call, carrying the Linux errno; the message reads like {@code "connect: Connection refused"}. */
public final class PosixException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    /**
     * @param operation what failed, which starts the message
     * @param errno the Linux errno; its strerror text ends the message
     */
    public PosixException(String operation, int errno) {
        super(operation + ": " + describe(errno));
        this.errno = errno;
    }

    /** The Linux errno number, for example 111 for ECONNREFUSED. */
    public int errno() {
        return errno;
    }

    private static String describe(int errno) {
        return Posix.isAvailable() ? Libc.strerror(errno) : "errno " + errno;
    }
}
