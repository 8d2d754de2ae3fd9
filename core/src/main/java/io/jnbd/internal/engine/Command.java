package io.jnbd.internal.engine;

import io.jnbd.ChunkCallback;
import io.jnbd.ExtentCallback;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One NBD command from submission to completion.
 *
 * <p>The reply reader fills in the result; the submitting thread waits with
 * {@link #await()}. For reads, {@code buffer} is the caller's buffer (position
 * to limit) and the payload lands in it directly.
 */
public final class Command {
    public final int type;
    public final int flags;
    public final long offset;
    public final long count;
    /** Read destination or write source; null for other commands. */
    public final ByteBuffer buffer;
    public final ChunkCallback chunkCallback;
    public final ExtentCallback extentCallback;

    long cookie;
    /** Bytes of read data (or holes) the server has sent so far. */
    long dataSeen;
    /** First error (errno) of the command; 0 while successful. */
    int error;
    /** Why the command failed, when the failure came from jnbd rather than the server. */
    String errorMessage;
    private volatile boolean done;
    private volatile Thread waiter;

    public Command(int type, int flags, long offset, long count, ByteBuffer buffer,
                   ChunkCallback chunkCallback, ExtentCallback extentCallback) {
        this.type = type;
        this.flags = flags;
        this.offset = offset;
        this.count = count;
        this.buffer = buffer;
        this.chunkCallback = chunkCallback;
        this.extentCallback = extentCallback;
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

    void complete() {
        done = true;
        Thread w = waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Blocks until the command is done. Interruption is remembered and restored, not a way out. */
    public void await() {
        if (done) {
            return;
        }
        waiter = Thread.currentThread();
        boolean interrupted = false;
        while (!done) {
            LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
            if (Thread.interrupted()) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
