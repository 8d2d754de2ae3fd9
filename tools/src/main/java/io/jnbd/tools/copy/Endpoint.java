package io.jnbd.tools.copy;

import io.jnbd.CompletionCallback;
import io.jnbd.ErrorHolder;
import java.nio.ByteBuffer;

/**
 * One side of a copy (libnbd's {@code struct rw}): an NBD server, a file or
 * block device, a stream, or {@code null:}. The copying code sees only this.
 *
 * <p>{@code conn} picks the connection (multi-conn) for NBD; other kinds
 * ignore it. Failures throw {@link io.jnbd.tools.ToolException} with the
 * message the tool prints. The asynchronous forms call their {@link Op} once
 * when done, possibly before they return (local files complete at once).
 */
abstract class Endpoint {

    /** Work that completes later: a read, write or zero request in flight. */
    abstract static class Op implements CompletionCallback {
        @Override
        public final int call(ErrorHolder error) {
            complete(error.get());
            return 1; // retire the command: nothing waits for its cookie
        }

        /** Called once; {@code errno} is 0 on success. Must not throw. */
        abstract void complete(int errno);
    }

    /** Printed in messages: the URI, the server command's name, the file name, {@code -} or {@code null:}. */
    final String name;
    /** Size in bytes, or -1 for a stream (not known until its end). */
    long size = -1;
    /** Preferred request size: a power of 2. */
    long preferred = 4096;

    Endpoint(String name) {
        this.name = name;
    }

    /** What kind of endpoint this is, in libnbd's words for {@code --verbose}. */
    abstract String kind();

    boolean isReadOnly() {
        return false;
    }

    /** Whether {@link #extents} can tell holes and zeroes apart from data. */
    boolean canExtents() {
        return false;
    }

    boolean canMultiConn() {
        return false;
    }

    /** Opens connections 1 to {@code connections - 1} (connection 0 is open). */
    void startMultiConn(int connections) {
    }

    /**
     * Makes a destination file exactly {@code newSize} bytes, all zero and
     * sparse; returns whether it did (only regular files can).
     */
    boolean truncate(long newSize) {
        return false;
    }

    /** Makes what was written durable ({@code --flush}). */
    void flush() {
    }

    /** Closes the connections or file; a failure here fails the copy. */
    abstract void close();

    /** Closes after a failure, which is what gets reported: a further failure here is not. */
    void abort() {
        try {
            close();
        } catch (RuntimeException e) {
            // The copy's own failure is the one to report.
        }
    }

    /**
     * Reads up to {@code buf.remaining()} bytes at {@code offset} into {@code buf}
     * (its position advances); fewer only at the end of a stream or file.
     * Returns the number read, 0 at the end.
     */
    abstract int read(int conn, ByteBuffer buf, long offset);

    /** Writes all of {@code buf}'s remaining bytes at {@code offset}. */
    abstract void write(int conn, ByteBuffer buf, long offset);

    /**
     * Zeroes a range without writing zeroes: punching a hole unless
     * {@code allocate}. Returns false if this endpoint cannot.
     */
    boolean zero(int conn, long offset, long count, boolean allocate) {
        return false;
    }

    /** Starts reading {@code buf.remaining()} bytes at {@code offset}; {@code buf}'s position is left alone. */
    void readAsync(int conn, ByteBuffer buf, long offset, Op op) {
        ByteBuffer b = buf.duplicate();
        int want = b.remaining();
        if (read(conn, b, offset) != want) {
            throw new io.jnbd.tools.ToolException(1, name + ": unexpected end of file");
        }
        op.complete(0);
    }

    /** Starts writing {@code buf}'s remaining bytes at {@code offset}; its position is left alone. */
    void writeAsync(int conn, ByteBuffer buf, long offset, Op op) {
        write(conn, buf.duplicate(), offset);
        op.complete(0);
    }

    /** Starts zeroing as {@link #zero}; false (and {@code op} never called) if this endpoint cannot. */
    boolean zeroAsync(int conn, long offset, long count, boolean allocate, Op op) {
        if (!zero(conn, offset, count, allocate)) {
            return false;
        }
        op.complete(0);
        return true;
    }

    /** Commands of this endpoint's connection {@code conn} in flight. */
    int inFlight(int conn) {
        return 0;
    }

    /**
     * Describes {@code [offset, offset + count)} into {@code out} as data and
     * zero extents that cover it exactly. Without extent information it is
     * one data extent.
     */
    void extents(int conn, long offset, long count, Extents out) {
        out.clear();
        out.add(offset, count, false);
    }
}
