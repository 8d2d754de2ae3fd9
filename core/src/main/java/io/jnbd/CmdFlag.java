package io.jnbd;

/** Command flags ({@code LIBNBD_CMD_FLAG_*}), with libnbd's values. */
public final class CmdFlag {
    /** Force unit access: the data reaches stable storage before the reply. */
    public static final int FUA = 0x01;
    /** Zero without punching holes. */
    public static final int NO_HOLE = 0x02;
    /** Don't fragment: the read arrives in one data chunk. */
    public static final int DF = 0x04;
    /** Block status: one extent is enough. */
    public static final int REQ_ONE = 0x08;
    /** Zero only if it is faster than writing zeroes. */
    public static final int FAST_ZERO = 0x10;
    /** The request carries a payload length (extended headers). */
    public static final int PAYLOAD_LEN = 0x20;
    /** Every flag libnbd 1.22 knows. */
    public static final int MASK = 0x3f;

    private CmdFlag() {
    }
}
