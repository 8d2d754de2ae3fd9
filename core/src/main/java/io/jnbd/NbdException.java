package io.jnbd;

/**
 * The error of a failed libnbd call.
 *
 * <p>The message starts with the name of the Java method that failed (for
 * example {@code "pread: invalid state: START: the handle must be connected
 * with the server"}), as libnbd's error strings start with the C name.
 * {@link #getErrno()} is the Linux errno libnbd would report, or 0 when
 * libnbd reports none.
 */
public class NbdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public NbdException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public NbdException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** The Linux errno number (for example 22 for EINVAL), or 0 if none. */
    public int getErrno() {
        return errno;
    }
}
