package io.jnbd.tools.copy;

import java.util.Arrays;

/** A reusable list of extents (offset, length, reads as zero), in order and contiguous. */
final class Extents {
    private long[] offsets = new long[16];
    private long[] lengths = new long[16];
    private boolean[] zero = new boolean[16];
    private int size;

    void clear() {
        size = 0;
    }

    void add(long offset, long length, boolean isZero) {
        if (size == offsets.length) {
            offsets = Arrays.copyOf(offsets, size * 2);
            lengths = Arrays.copyOf(lengths, size * 2);
            zero = Arrays.copyOf(zero, size * 2);
        }
        offsets[size] = offset;
        lengths[size] = length;
        zero[size] = isZero;
        size++;
    }

    int size() {
        return size;
    }

    long offset(int i) {
        return offsets[i];
    }

    long length(int i) {
        return lengths[i];
    }

    boolean isZero(int i) {
        return zero[i];
    }

    /** Shortens the last extent so that the list ends at {@code end}. */
    void clipTo(long end) {
        int last = size - 1;
        if (offsets[last] + lengths[last] > end) {
            lengths[last] = end - offsets[last];
        }
    }

    /**
     * Whether {@code [offset, offset + len)} lies only in zero extents.
     * {@code hint[0]} is an index at or before the extent holding
     * {@code offset}; it moves forward, so that a scan from the start of a
     * range to its end costs one pass.
     */
    boolean onlyZeroes(int[] hint, long offset, long len) {
        int i = hint[0];
        while (i + 1 < size && offsets[i + 1] <= offset) {
            i++;
        }
        hint[0] = i;
        for (int j = i; j < size && offsets[j] < offset + len; j++) {
            if (!zero[j]) {
                return false;
            }
        }
        return true;
    }
}
