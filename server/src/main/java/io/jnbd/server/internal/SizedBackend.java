package io.jnbd.server.internal;

import io.jnbd.server.Backend;

/** A backend whose size is fixed when it is made: the memory, null and pattern disks. */
abstract class SizedBackend implements Backend {
    private final long size;

    SizedBackend(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        this.size = size;
    }

    @Override
    public final long size() {
        return size;
    }
}
