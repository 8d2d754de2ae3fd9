package io.jnbd;

/** Strictness flags ({@code LIBNBD_STRICT_*}) for {@link NbdHandle#setStrictMode(int)}. */
public final class Strict {
    /** Reject commands the server did not advertise (a write to a read-only export, FUA without can_fua...). */
    public static final int COMMANDS = 0x01;
    /** Reject unknown command flags and flags that don't belong to the command. */
    public static final int FLAGS = 0x02;
    /** Reject requests past the end of the export. */
    public static final int BOUNDS = 0x04;
    /** Reject requests of length 0. */
    public static final int ZERO_SIZE = 0x08;
    /** Reject requests not aligned to the server's minimum block size. */
    public static final int ALIGN = 0x10;
    /** Reject writes larger than the payload maximum. */
    public static final int PAYLOAD = 0x20;
    /** Set {@link CmdFlag#PAYLOAD_LEN} automatically where extended headers need it. */
    public static final int AUTO_FLAG = 0x40;
    /** Every flag: the default of a new handle. */
    public static final int MASK = 0x7f;

    private Strict() {
    }
}
