package io.jnbd.server;

import io.jnbd.server.internal.FileBackend;
import io.jnbd.server.internal.MemoryBackend;
import io.jnbd.server.internal.NullBackend;
import io.jnbd.server.internal.PatternBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The storage behind one export: what {@link NbdServer} reads, writes and
 * asks for allocation status. Implement it to serve your own data; the
 * built-in ones come from {@link #memory}, {@link #file}, {@link #nullDevice}
 * and {@link #pattern}.
 *
 * <p>Offsets and lengths reaching a backend are always inside
 * {@code [0, size())}; the server checks bounds, alignment, flags and the
 * read-only setting first. Methods may be called from several connections'
 * threads at once (one thread per connection), so an implementation must be
 * thread-safe. A failure is an {@link IOException}; a {@link BackendException}
 * chooses the NBD error the client sees, anything else is {@code EIO}.
 */
public interface Backend extends AutoCloseable {

    /** Receives the allocation status of consecutive ranges, in order, from {@link #extents}. */
    @FunctionalInterface
    interface ExtentSink {
        /** The hole flag of {@code base:allocation}: not allocated. */
        int HOLE = 1;
        /** The zero flag of {@code base:allocation}: reads as zeroes. */
        int ZERO = 2;

        /**
         * The next {@code length} bytes (positive) have {@code flags} ({@link #HOLE}, {@link #ZERO}).
         *
         * @return false once the server wants no more extents (the backend should stop)
         */
        boolean extent(long length, int flags);
    }

    /** The export's size in bytes. */
    long size();

    /** Fills {@code dst} from its position to its limit with the bytes at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Whether the backend accepts writes at all; the server can also make any export read-only. */
    default boolean isWritable() {
        return false;
    }

    /** Writes {@code src} (position to limit) at {@code offset}; with {@code fua}, durably before returning. */
    default void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        throw new BackendException(BackendException.EPERM, "the export is read-only");
    }

    /** Makes every completed write durable. */
    default void flush() throws IOException {
    }

    /** Whether {@link #trim} may actually discard data (advertised as NBD_FLAG_SEND_TRIM). */
    default boolean canTrim() {
        return false;
    }

    /** Discards the range if it can; afterwards its content is unspecified until written again. */
    default void trim(long offset, long length, boolean fua) throws IOException {
    }

    /**
     * Whether {@link #zero} is faster than writing zeroes (advertised as
     * NBD_FLAG_SEND_FAST_ZERO; a request with NBD_CMD_FLAG_FAST_ZERO fails
     * with ENOTSUP otherwise).
     */
    default boolean canFastZero() {
        return false;
    }

    /**
     * Makes the range read as zeroes; {@code mayTrim} allows punching a hole.
     * The default writes zeroes in 1 MiB pieces.
     */
    default void zero(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
        ByteBuffer zeroes = ByteBuffer.allocateDirect((int) Math.min(length, 1 << 20));
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(zeroes.capacity(), length - done);
            write(offset + done, zeroes.clear().limit(n), false);
            done += n;
        }
        if (fua) {
            flush();
        }
    }

    /**
     * Reports the allocation of {@code [offset, offset + length)} to {@code sink}
     * (at least one extent; the last may reach past the range). The default
     * says "data" for all of it.
     */
    default void extents(long offset, long length, ExtentSink sink) throws IOException {
        sink.extent(length, 0);
    }

    /**
     * Whether clients may use several connections at once with one flush
     * covering all of them (NBD_FLAG_CAN_MULTI_CONN): true when every
     * connection sees the same data, as for the built-in backends.
     */
    default boolean canMultiConn() {
        return true;
    }

    /** Releases what the backend holds; the server calls it once, when it closes. */
    @Override
    default void close() throws IOException {
    }

    /** A sparse RAM disk of {@code size} bytes: only written 64 KiB pages use memory, holes are reported. */
    static Backend memory(long size) {
        return new MemoryBackend(size);
    }

    /**
     * A file (or block device), at its current size; holes are found with
     * SEEK_DATA/SEEK_HOLE. Opened read-only if {@code readOnly}.
     */
    static Backend file(Path path, boolean readOnly) throws IOException {
        return FileBackend.open(path, readOnly);
    }

    /** Reads as zeroes, discards writes (nbdkit's null plugin). */
    static Backend nullDevice(long size) {
        return new NullBackend(size);
    }

    /**
     * Read-only, each 8-byte big-endian word holding its own offset (nbdkit's
     * pattern plugin), so every byte of it says where it came from.
     */
    static Backend pattern(long size) {
        return new PatternBackend(size);
    }

    /**
     * Parses a size as nbdkit does: a number with an optional suffix
     * {@code b}, {@code s} (512), {@code k}/{@code K}, {@code M}, {@code G},
     * {@code T}, {@code P}, {@code E} (powers of 1024), optionally followed
     * by {@code iB}/{@code B}.
     *
     * @throws IllegalArgumentException naming the text if it is not a size
     */
    static long parseSize(String text) {
        return io.jnbd.server.internal.Sizes.parse(text);
    }
}
