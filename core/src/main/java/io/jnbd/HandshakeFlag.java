package io.jnbd;

/** Handshake flags ({@code LIBNBD_HANDSHAKE_FLAG_*}) for {@link NbdHandle#setHandshakeFlags(int)}. */
public final class HandshakeFlag {
    /** Use the fixed newstyle handshake if the server offers it. */
    public static final int FIXED_NEWSTYLE = 0x01;
    /** Ask the server to omit the 124 padding zeroes after NBD_OPT_EXPORT_NAME. */
    public static final int NO_ZEROES = 0x02;
    /** Both flags: the default. */
    public static final int MASK = 0x03;

    private HandshakeFlag() {
    }
}
