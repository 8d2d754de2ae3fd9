package io.jnbd.tools.copy;

/**
 * How a copy runs, once the options have met the endpoints (nbdcopy's globals after its checks).
 *
 * @param allocated    write zeroes as allocated space, never holes (--allocated)
 * @param targetIsZero the destination reads as zeroes already: zero ranges are skipped
 * @param extents      ask the source where its data is (not --no-extents, and it can say)
 * @param requests     requests in flight per connection
 * @param queueSize    bytes of reads and writes in flight per connection
 * @param requestSize  largest read or write, a power of 2
 * @param sparseSize   block size for detecting zeroes in data, a power of 2; 0 for none
 * @param connections  connections to each NBD side, and copying threads
 */
record Plan(boolean allocated, boolean targetIsZero, boolean extents, int requests, long queueSize,
        int requestSize, long sparseSize, int connections) {
}
