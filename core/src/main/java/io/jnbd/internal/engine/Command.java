package io.jnbd.internal.engine;

import io.jnbd.ChunkCallback;
import io.jnbd.CompletionCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.Extent64Callback;
import io.jnbd.ExtentCallback;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One NBD command from submission to completion.
 *
 * <p>Whoever reads the reply fills in the result; completion then runs the
 * completion callback, completes the future and wakes a synchronous waiter,
 * always outside the engine's locks. For reads, {@code buffer} is the caller's
 * buffer (position to limit) and the payload lands in it directly.
 *
 * <p>Commands are pooled, so that the asynchronous path allocates next to
 * nothing per command: {@link #of} takes one, and it goes back once nothing
 * can refer to it any more (its waiter has read the result; its completion
 * retired it; aioCommandCompleted retired it).
 */
public final class Command {
    private static final CommandPool POOL = new CommandPool(4096);

    public int type;
    public int flags;
    public long offset;
    public long count;
    /** Read destination or write source; null for other commands. */
    public ByteBuffer buffer;
    public ChunkCallback chunkCallback;
    public ExtentCallback extentCallback;
    /** The 64-bit extent callback (blockStatus64, blockStatusFilter); replaces {@link #extentCallback}. */
    Extent64Callback extent64Callback;
    /** Bytes sent after the header besides a write's buffer: block status filter ids. */
    ByteBuffer payload;
    /** Set by the aio API; called once on completion. */
    CompletionCallback completion;
    /** Set by the future API; completed once on completion. */
    CompletableFuture<Void> future;
    /** Synchronous commands are waited for by their caller and never listed as completed. */
    boolean sync;
    /** The public method that issued it, for error messages. */
    String method;
    /** Handed to callbacks as their {@code error}: one per command, reused with it. */
    final ErrorHolder errorHolder = new ErrorHolder(0);

    long cookie;
    /** Bytes of read data (or holes) the server has sent so far. */
    long dataSeen;
    /** First error (errno) of the command; 0 while successful. */
    int error;
    /** Why the command failed, when jnbd rather than the server's errno says more. */
    String errorMessage;
    /**
     * A read whose buffer libnbd's pread_initialize wants zeroed and that is
     * not yet: jnbd zeroes at the first reply chunk that leaves part of the
     * buffer uncovered, or at completion if no data arrived, and not at all
     * when the data covers the buffer, the usual case. Reader role only.
     */
    boolean zeroPending;
    volatile Thread waiter;
    private volatile boolean done;
    /** In the pool: a second recycle would let two callers share this command (checked with -ea, as in tests). */
    private boolean pooled;

    Command() {
    }

    /** A command from the pool, set up afresh. */
    public static Command of(int type, int flags, long offset, long count, ByteBuffer buffer,
                             ChunkCallback chunkCallback, ExtentCallback extentCallback) {
        Command c = POOL.take();
        c.type = type;
        c.flags = flags;
        c.offset = offset;
        c.count = count;
        c.buffer = buffer;
        c.chunkCallback = chunkCallback;
        c.extentCallback = extentCallback;
        return c;
    }

    /** Drops the caller's buffers and callbacks: a completed command is only ever asked for its status. */
    void release() {
        buffer = null;
        chunkCallback = null;
        extentCallback = null;
        extent64Callback = null;
        payload = null;
        completion = null;
        future = null;
    }

    /** Has the read's buffer zeroed before the caller sees it, unless the server's data covers all of it. */
    public Command initialize() {
        this.zeroPending = true;
        return this;
    }

    /**
     * Zeroes now a read's buffer that was to be zeroed and is not yet: for a
     * read refused before sending (as libnbd would have), or one that
     * completes without data covering the buffer.
     */
    public void zeroIfPending() {
        if (zeroPending) {
            zeroBuffer();
        }
    }

    /** Zeroes the read's buffer (its {@code count} bytes from its position) now. */
    void zeroBuffer() {
        zeroPending = false;
        zero(buffer.slice(buffer.position(), (int) count));
    }

    /** Zeroes {@code b} from position to limit. */
    public static void zero(ByteBuffer b) {
        if (b.hasArray()) {
            Arrays.fill(b.array(), b.arrayOffset() + b.position(), b.arrayOffset() + b.limit(), (byte) 0);
        } else {
            MemorySegment.ofBuffer(b).fill((byte) 0);
        }
    }

    /** Back to the pool, holding on to nothing of the caller's. */
    public void recycle() {
        release();
        zeroPending = false;
        sync = false;
        method = null;
        cookie = 0;
        dataSeen = 0;
        error = 0;
        errorMessage = null;
        waiter = null;
        done = false;
        POOL.give(this);
    }

    public Command extent64(Extent64Callback cb) {
        this.extent64Callback = cb;
        return this;
    }

    public Command payload(ByteBuffer p) {
        this.payload = p;
        return this;
    }

    /** A synchronous command of {@code method}: its caller waits with {@link Transmission#await}. */
    public Command sync(String method) {
        this.sync = true;
        this.method = method;
        return this;
    }

    /** An aio command of {@code method}, with an optional completion callback. */
    public Command aio(String method, CompletionCallback cb) {
        this.method = method;
        this.completion = cb;
        return this;
    }

    /** A command of {@code method} whose result is {@code f}. */
    public Command future(String method, CompletableFuture<Void> f) {
        this.method = method;
        this.future = f;
        return this;
    }

    public long cookie() {
        return cookie;
    }

    public boolean isDone() {
        return done;
    }

    /** The errno the command finished with; valid once done. */
    public int error() {
        return error;
    }

    public String errorMessage() {
        return errorMessage;
    }

    /** Records the first error only, as libnbd does. */
    void fail(int errno, String message) {
        if (error == 0) {
            error = errno;
            errorMessage = message;
        }
    }

    void markDone() {
        done = true;
    }

    /** A bounded stack of idle commands; beyond its capacity they are left to the garbage collector. */
    private static final class CommandPool {
        private final Command[] idle;
        private int size;

        CommandPool(int capacity) {
            idle = new Command[capacity];
        }

        synchronized Command take() {
            if (size == 0) {
                return new Command();
            }
            Command c = idle[--size];
            idle[size] = null;
            c.pooled = false;
            return c;
        }

        synchronized void give(Command c) {
            assert !c.pooled : "command recycled twice";
            c.pooled = true;
            if (size < idle.length) {
                idle[size++] = c;
            }
        }
    }
}
