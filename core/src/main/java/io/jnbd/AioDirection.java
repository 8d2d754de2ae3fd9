package io.jnbd;

/** What {@link NbdHandle#aioGetDirection()} reports ({@code LIBNBD_AIO_DIRECTION_*}, libnbd's values). */
public final class AioDirection {
    public static final int READ = 1;
    public static final int WRITE = 2;
    public static final int BOTH = 3;

    private AioDirection() {
    }
}
