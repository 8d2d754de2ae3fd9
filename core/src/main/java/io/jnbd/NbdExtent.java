package io.jnbd;

/**
 * One extent of a 64-bit block status reply (libnbd's {@code nbd_extent}):
 * its length in bytes (at most {@link Long#MAX_VALUE}) and the meta context's
 * flags for it.
 */
public record NbdExtent(long length, long flags) {
}
