package io.jnbd;

/**
 * The {@code int *error} of libnbd's callbacks: the errno of the command so far
 * (0 if none), which a callback may read and replace.
 */
public final class ErrorHolder {
    private int errno;

    public ErrorHolder(int errno) {
        this.errno = errno;
    }

    public int get() {
        return errno;
    }

    public void set(int errno) {
        this.errno = errno;
    }
}
