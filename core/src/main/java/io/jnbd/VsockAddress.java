package io.jnbd;

import java.io.Serial;
import java.net.SocketAddress;

/**
 * An AF_VSOCK address for {@link NbdHandle#aioConnect(SocketAddress)}: a context
 * id and a port, both unsigned 32-bit numbers held in an {@code int}.
 */
public final class VsockAddress extends SocketAddress {
    @Serial
    private static final long serialVersionUID = 1L;

    private final int cid;
    private final int port;

    public VsockAddress(int cid, int port) {
        this.cid = cid;
        this.port = port;
    }

    /** The context id; read it with {@link Integer#toUnsignedLong(int)}. */
    public int cid() {
        return cid;
    }

    /** The port; read it with {@link Integer#toUnsignedLong(int)}. */
    public int port() {
        return port;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VsockAddress v && v.cid == cid && v.port == port;
    }

    @Override
    public int hashCode() {
        return 31 * cid + port;
    }

    @Override
    public String toString() {
        return "vsock:" + Integer.toUnsignedString(cid) + ":" + Integer.toUnsignedString(port);
    }
}
