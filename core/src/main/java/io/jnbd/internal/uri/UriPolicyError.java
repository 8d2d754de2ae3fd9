package io.jnbd.internal.uri;

/**
 * A well-formed NBD URI that the handle's URI security settings refuse
 * (see {@link UriPolicy#checkAllowed}).
 */
public final class UriPolicyError extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public UriPolicyError(String msg, int errno) {
        super(msg);
        this.errno = errno;
    }

    /** The Linux errno libnbd reports for this refusal ({@link UriPolicy#EPERM} so far). */
    public int getErrno() {
        return errno;
    }
}
