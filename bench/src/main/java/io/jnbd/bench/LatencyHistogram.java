package io.jnbd.bench;

/**
 * Log-linear histogram of nanosecond latencies: 32 linear buckets per power of
 * two, so a percentile is within 1/64 (1.6%) of the true value, in fixed
 * memory and without allocating while recording. Not thread-safe: each
 * request slot keeps its own and they are merged at the end.
 */
final class LatencyHistogram {
    private static final int SUB_BITS = 5;
    private static final int SUB = 1 << SUB_BITS;
    /** Largest recordable latency is 2^40 ns (18 minutes); longer ones count as that. */
    private static final int MAX_BITS = 40;
    private static final long MAX = (1L << MAX_BITS) - 1;

    private final long[] counts = new long[index(MAX) + 1];
    private long total;
    private long sum;

    void record(long nanos) {
        long v = Math.min(Math.max(nanos, 0), MAX);
        counts[index(v)]++;
        total++;
        sum += v;
    }

    void add(LatencyHistogram other) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
        total += other.total;
        sum += other.sum;
    }

    long count() {
        return total;
    }

    double meanNanos() {
        return total == 0 ? 0 : (double) sum / total;
    }

    /** The latency that {@code p} (0..1) of the recorded ones do not exceed, as its bucket's midpoint. */
    double percentileNanos(double p) {
        long rank = Math.max(1, (long) Math.ceil(p * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return midpoint(i);
            }
        }
        return 0;
    }

    /**
     * Values below 2 * SUB map to themselves; above, a value whose top bit is
     * bit {@code SUB_BITS + s} keeps its top SUB_BITS + 1 bits, and the
     * buckets of consecutive {@code s} follow each other without gaps.
     */
    private static int index(long v) {
        int shift = Math.max(0, 63 - Long.numberOfLeadingZeros(v) - SUB_BITS);
        return (shift << SUB_BITS) + (int) (v >>> shift);
    }

    private static double midpoint(int index) {
        int shift = Math.max(0, (index >>> SUB_BITS) - 1);
        long low = (long) (index - (shift << SUB_BITS)) << shift;
        return low + ((1L << shift) - 1) / 2.0;
    }
}
