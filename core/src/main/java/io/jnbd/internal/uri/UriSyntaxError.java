package io.jnbd.internal.uri;

/**
 * An NBD URI that cannot be parsed or does not describe a usable connection.
 * libnbd reports every such case with errno {@code EINVAL}.
 */
public final class UriSyntaxError extends Exception {
    private static final long serialVersionUID = 1L;

    /** Linux {@code EINVAL}. */
    public static final int EINVAL = 22;

    public UriSyntaxError(String msg) {
        super(msg);
    }

    /** Always {@link #EINVAL}, the errno libnbd reports for a bad URI. */
    public int getErrno() {
        return EINVAL;
    }
}
