package io.jnbd.internal.engine;

/**
 * An error inside the engine, before the handle names the public method it
 * surfaced in. {@code fatal} errors leave the connection dead; others (a
 * refused option in opt mode) leave it usable.
 */
public final class NbdError extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final boolean fatal;
    private boolean backToCreated;

    public NbdError(String message, int errno, boolean fatal) {
        super(message);
        this.errno = errno;
        this.fatal = fatal;
    }

    public NbdError(String message, int errno, boolean fatal, Throwable cause) {
        super(message, cause);
        this.errno = errno;
        this.fatal = fatal;
    }

    /**
     * A connect that failed before any connection existed, after which libnbd
     * returns the handle to the created state (a TCP name that does not
     * resolve, or every address refusing).
     */
    public NbdError backToCreated() {
        backToCreated = true;
        return this;
    }

    public boolean isBackToCreated() {
        return backToCreated;
    }

    public int errno() {
        return errno;
    }

    public boolean fatal() {
        return fatal;
    }
}
