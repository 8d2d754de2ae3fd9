package io.jnbd;

/** Block size kinds ({@code LIBNBD_SIZE_*}) for {@link NbdHandle#getBlockSize(BlockSize)}; the ordinal is libnbd's value. */
public enum BlockSize {
    MINIMUM,
    PREFERRED,
    MAXIMUM,
    /** The largest write payload the client will send. */
    PAYLOAD
}
