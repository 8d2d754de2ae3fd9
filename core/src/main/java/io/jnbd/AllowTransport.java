package io.jnbd;

/** Transport flags ({@code LIBNBD_ALLOW_TRANSPORT_*}) for {@link NbdHandle#setUriAllowTransports(int)}. */
public final class AllowTransport {
    public static final int TCP = 0x01;
    public static final int UNIX = 0x02;
    public static final int VSOCK = 0x04;
    /** Every transport: the default. */
    public static final int MASK = 0x07;

    private AllowTransport() {
    }
}
