package io.jnbd;

/** Flags ({@code LIBNBD_SHUTDOWN_*}) for {@link NbdHandle#shutdown(int)}. */
public final class Shutdown {
    /** Abandon commands not yet sent instead of sending them before NBD_CMD_DISC. */
    public static final int ABANDON_PENDING = 0x10000;
    public static final int MASK = 0x10000;

    private Shutdown() {
    }
}
