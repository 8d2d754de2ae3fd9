package io.jnbd.server.internal;

/**
 * Block size constraints advertised in NBD_INFO_BLOCK_SIZE and enforced on
 * every request (proto.md "Size constraints").
 */
public record Limits(int minimum, int preferred, int maximum) {
    /** The protocol's defaults: byte granularity, 4 KiB preferred, 32 MiB payloads. */
    public static final Limits DEFAULT = new Limits(1, 4096, 32 << 20);

    public Limits {
        if (Integer.bitCount(minimum) != 1 || minimum > 65536) {
            throw new IllegalArgumentException("minimum block size must be a power of 2 up to 64 KiB: " + minimum);
        }
        if (Integer.bitCount(preferred) != 1 || preferred < Math.max(512, minimum)) {
            throw new IllegalArgumentException("preferred block size must be a power of 2, at least 512 and the"
                    + " minimum: " + preferred);
        }
        if (maximum < preferred || maximum % minimum != 0 || maximum > (64 << 20)) {
            throw new IllegalArgumentException("maximum payload must be a multiple of the minimum block size,"
                    + " at least the preferred size and at most 64 MiB: " + maximum);
        }
    }
}
