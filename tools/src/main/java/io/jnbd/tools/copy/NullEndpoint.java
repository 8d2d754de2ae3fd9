package io.jnbd.tools.copy;

import java.nio.ByteBuffer;

/** {@code null:}: a destination that discards writes and zeroes instantly, for benchmarks and tests. */
final class NullEndpoint extends Endpoint {
    NullEndpoint() {
        super("null:");
        size = Long.MAX_VALUE;
    }

    @Override
    String kind() {
        return "null_ops";
    }

    @Override
    boolean canMultiConn() {
        return true;
    }

    @Override
    void close() {
    }

    @Override
    int read(int conn, ByteBuffer buf, long offset) {
        throw new UnsupportedOperationException("null: is only a destination");
    }

    @Override
    void write(int conn, ByteBuffer buf, long offset) {
        buf.position(buf.limit());
    }

    @Override
    boolean zero(int conn, long offset, long count, boolean allocate) {
        return true;
    }

    @Override
    void writeAsync(int conn, ByteBuffer buf, long offset, Op op) {
        op.complete(0);
    }
}
