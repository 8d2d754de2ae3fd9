package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.ChunkCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.Extent64Callback;
import io.jnbd.ExtentCallback;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.internal.engine.Command;
import io.jnbd.internal.engine.NbdError;
import io.jnbd.internal.engine.Negotiated;
import io.jnbd.internal.engine.Transmission;
import io.jnbd.internal.engine.WireChannel;
import io.jnbd.internal.protocol.Nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The transmission phase against a server that answers with arbitrary bytes
 * while three commands are in flight: a read into a 64 KiB buffer (cookie 1),
 * a block status (cookie 2) and a flush (cookie 3). Allowed: each command
 * completes, successfully or with an error, and the connection may die on the
 * way. A finding is a command left incomplete (a hang), an unexpected
 * exception (the engine reports one as an "internal error" that kills the
 * connection), a callback shown something outside its request, a listener
 * told of the end other than once, or a reader thread that outlives its
 * connection.
 */
class TransmissionFuzzTest {
    static final long READ_OFFSET = 1 << 20;
    static final int READ_SIZE = 64 * 1024;
    static final long STATUS_OFFSET = 0;
    static final long STATUS_COUNT = 1 << 30;
    /** Large enough that the seeds' extents stay inside it: a block status reply may describe up to its end. */
    static final long EXPORT_SIZE = 1L << 40;
    static final int CONTEXT_ID = 1;
    static final String CONTEXT = "base:allocation";
    /** Far longer than any correct exchange takes: commands still pending then mean a hang. */
    private static final long PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final Watchdog WATCHDOG = new Watchdog();
    /** Reader threads are started by the fuzzing thread, so they count in its thread group. */
    private static final int THREADS_BEFORE = Thread.activeCount();
    private static final AtomicLong CONNECTIONS = new AtomicLong();

    /** The errno each command completed with (0 for success), and why the connection ended before the client did. */
    record Outcome(int read, int blockStatus, int flush, NbdError end) {
    }

    /**
     * Input: a mode byte, then everything the server sends. Mode bits: 0
     * structured replies negotiated, 1 extended headers negotiated (implies
     * structured replies), 2 the server's bytes arrive in reads of at most 7
     * bytes, 3 the read goes to a direct buffer, 4 the flush is asynchronous
     * (a CompletableFuture, so that the background reader takes part), 5
     * block status has a 64-bit extent callback (blockStatus64) rather than
     * a 32-bit one, 6 the commands go one at a time, each sent once the one
     * before has completed (a single-threaded synchronous caller).
     */
    @FuzzTest
    void replies(byte[] data) throws Throwable {
        run(data);
    }

    static Outcome run(byte[] data) throws Throwable {
        if (data.length < 1) {
            return null;
        }
        int mode = data[0];
        Negotiated negotiated = new Negotiated();
        negotiated.extendedHeaders = (mode & 2) != 0;
        negotiated.structuredReplies = (mode & 3) != 0;
        negotiated.export.size = EXPORT_SIZE;
        negotiated.metaContexts.add(new Negotiated.MetaContext(CONTEXT_ID, CONTEXT));
        int maxRead = (mode & 4) != 0 ? 7 : Integer.MAX_VALUE;
        ByteBuffer buffer = (mode & 8) != 0 ? ByteBuffer.allocateDirect(READ_SIZE) : ByteBuffer.allocate(READ_SIZE);
        boolean asyncFlush = (mode & 16) != 0;
        boolean wideExtents = (mode & 32) != 0;
        boolean oneAtATime = (mode & 64) != 0;

        Ends ends = new Ends();
        Transmission t = new Transmission(new WireChannel(new MemoryTransport(data, 1, maxRead)), negotiated,
                HandshakeFuzzTest.DISCARD, ends, "jnbd-fuzz-reader-" + CONNECTIONS.incrementAndGet());
        Callbacks callbacks = new Callbacks(wideExtents);
        WATCHDOG.watch(t);
        Outcome outcome;
        boolean overdue;
        try {
            outcome = exchange(t, buffer, callbacks, asyncFlush, oneAtATime, ends);
        } finally {
            overdue = WATCHDOG.release();
        }
        if (overdue) {
            throw new AssertionError("commands still incomplete after " + TimeUnit.NANOSECONDS.toSeconds(PATIENCE_NANOS)
                    + " s, when the watchdog closed the connection");
        }
        t.terminate("fuzz input done");

        rethrowInternalError(ends.cause.get());
        if (callbacks.violation.get() != null) {
            throw callbacks.violation.get();
        }
        assertEquals(1, ends.count.get(), "the listener must hear of the end exactly once");
        if (outcome.read() == 0) {
            assertEquals(READ_SIZE, callbacks.readBytes.get(), "a successful read showed its chunk callback "
                    + callbacks.readBytes.get() + " bytes");
        }
        assertTrue(Thread.activeCount() < THREADS_BEFORE + 50, "reader threads outlive their connections");
        return outcome;
    }

    /**
     * The client: submits the commands and waits for them, reading replies
     * itself as a synchronous caller does; then what became of them.
     */
    private static Outcome exchange(Transmission t, ByteBuffer buffer, Callbacks callbacks, boolean asyncFlush,
                                    boolean oneAtATime, Ends ends) throws InterruptedException {
        Command read = Command.of(Nbd.CMD_READ, 0, READ_OFFSET, READ_SIZE, buffer, callbacks, null).sync("pread");
        Command status = callbacks.wide
                ? Command.of(Nbd.CMD_BLOCK_STATUS, 0, STATUS_OFFSET, STATUS_COUNT, null, null, null)
                        .extent64(callbacks).sync("blockStatus64")
                : Command.of(Nbd.CMD_BLOCK_STATUS, 0, STATUS_OFFSET, STATUS_COUNT, null, null, callbacks)
                        .sync("blockStatus");
        CompletableFuture<Void> flushed = asyncFlush ? new CompletableFuture<>() : null;
        Command flush = Command.of(Nbd.CMD_FLUSH, 0, 0, 0, null, null, null);
        flush = asyncFlush ? flush.future("flush", flushed) : flush.sync("flush");

        int readError;
        int statusError;
        int flushError;
        if (oneAtATime) {
            readError = finish(t, read, submit(t, read), null);
            statusError = finish(t, status, submit(t, status), null);
            flushError = finish(t, flush, submit(t, flush), flushed);
        } else {
            int readRefused = submit(t, read);
            int statusRefused = submit(t, status);
            int flushRefused = submit(t, flush);
            readError = finish(t, read, readRefused, null);
            statusError = finish(t, status, statusRefused, null);
            flushError = finish(t, flush, flushRefused, flushed);
        }
        return new Outcome(readError, statusError, flushError, ends.cause.get());
    }

    /**
     * Waits for a submitted command, as its caller would: on {@code future}
     * if it has one, else with the engine's {@code await}. Returns 0, or the
     * errno it failed with or was {@code refused} with.
     */
    private static int finish(Transmission t, Command c, int refused, CompletableFuture<Void> future)
            throws InterruptedException {
        if (refused != 0) {
            return refused;
        }
        return future != null ? await(future) : await(t, c);
    }

    /** Sends {@code c}; 0 if it is in flight, else the errno it was refused with (the connection already ended). */
    private static int submit(Transmission t, Command c) {
        try {
            t.submit(c);
            return 0;
        } catch (NbdError e) {
            assertTrue(e.errno() != 0, "a refused command has errno 0");
            return e.errno();
        }
    }

    private static int await(Transmission t, Command c) {
        t.await(c);
        assertTrue(c.isDone(), "await returned before the command completed");
        return c.error();
    }

    private static int await(CompletableFuture<Void> f) throws InterruptedException {
        try {
            f.get();
            return 0;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof NbdException n) {
                assertTrue(n.getErrno() != 0, "a failed command has errno 0");
                return n.getErrno();
            }
            throw new AssertionError("a command failed with an unexpected exception", e.getCause());
        }
    }

    /** The engine turns an unexpected exception in the reader into an "internal error": to the fuzzer, the finding. */
    private static void rethrowInternalError(NbdError end) throws Throwable {
        if (end != null && (end.getCause() instanceof RuntimeException || end.getCause() instanceof Error)) {
            throw end.getCause();
        }
    }

    /**
     * The callbacks' checks. They run inside the reply reader, where an
     * AssertionError would leave the engine half way through a reply; so the
     * first one is kept here and thrown by the fuzz target afterwards.
     */
    private static final class Callbacks implements ChunkCallback, ExtentCallback, Extent64Callback {
        final AtomicLong readBytes = new AtomicLong();
        final AtomicReference<AssertionError> violation = new AtomicReference<>();
        /** Block status goes to the 64-bit callback. */
        final boolean wide;

        Callbacks(boolean wide) {
            this.wide = wide;
        }

        @Override
        public int call(ByteBuffer subbuf, long offset, int status, ErrorHolder error) {
            try {
                int n = subbuf.remaining();
                assertTrue(offset >= READ_OFFSET && offset - READ_OFFSET <= READ_SIZE - n,
                        "chunk at " + offset + " of " + n + " bytes lies outside the read");
                switch (status) {
                    case READ_DATA -> readBytes.addAndGet(n);
                    case READ_HOLE -> {
                        while (subbuf.hasRemaining()) {
                            assertEquals(0, subbuf.get(), "a hole reads as non-zero");
                        }
                        readBytes.addAndGet(n);
                    }
                    case READ_ERROR -> assertTrue(error.get() != 0, "an error chunk with errno 0");
                    default -> fail("chunk status " + status);
                }
            } catch (AssertionError e) {
                violation.compareAndSet(null, e);
            }
            return 0;
        }

        @Override
        public int call(String context, long offset, int[] entries, ErrorHolder error) {
            try {
                assertTrue(entries.length % 2 == 0, entries.length + " extent entries");
                long[] extents = new long[entries.length];
                for (int i = 0; i < entries.length; i++) {
                    extents[i] = Integer.toUnsignedLong(entries[i]);
                }
                checkExtents(context, offset, extents, error);
            } catch (AssertionError e) {
                violation.compareAndSet(null, e);
            }
            return 0;
        }

        @Override
        public int call(String context, long offset, NbdExtent[] entries, ErrorHolder error) {
            try {
                long[] extents = new long[2 * entries.length];
                for (int i = 0; i < entries.length; i++) {
                    extents[2 * i] = entries[i].length();
                    extents[2 * i + 1] = entries[i].flags();
                }
                checkExtents(context, offset, extents, error);
            } catch (AssertionError e) {
                violation.compareAndSet(null, e);
            }
            return 0;
        }

        /**
         * libnbd's promise to extent callbacks: at least one extent, none
         * empty unless the only one and marked with an error, together not
         * past the end of the export.
         */
        private static void checkExtents(String context, long offset, long[] extents, ErrorHolder error) {
            assertEquals(CONTEXT, context);
            assertEquals(STATUS_OFFSET, offset);
            assertTrue(extents.length >= 2, "no extents");
            long total = 0;
            for (int i = 0; i < extents.length; i += 2) {
                assertTrue(extents[i] > 0 || (extents.length == 2 && error.get() != 0), "an empty extent");
                total += extents[i];
                assertTrue(total >= 0 && total <= EXPORT_SIZE - STATUS_OFFSET, "extents run past the export");
            }
        }
    }

    /**
     * Ends an exchange that takes too long by closing its connection, which
     * completes every command still in flight and so frees a waiting client.
     * A thread of its own that looks now and then, so that a fuzz input costs
     * no thread hand-off.
     */
    private static final class Watchdog {
        private Transmission watched;
        private long since;
        private boolean fired;

        Watchdog() {
            Thread.ofPlatform().daemon().name("jnbd-fuzz-watchdog").start(this::patrol);
        }

        synchronized void watch(Transmission t) {
            watched = t;
            since = System.nanoTime();
            fired = false;
        }

        /** Stops watching; true if the watchdog had to close the connection. */
        synchronized boolean release() {
            watched = null;
            return fired;
        }

        private void patrol() {
            while (true) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
                Transmission overdue;
                synchronized (this) {
                    if (watched == null || System.nanoTime() - since < PATIENCE_NANOS) {
                        continue;
                    }
                    overdue = watched;
                    watched = null;
                    fired = true;
                }
                overdue.terminate("the fuzz target's watchdog: commands still incomplete");
            }
        }
    }

    /** The handle's side of the connection's end. */
    private static final class Ends implements Transmission.Listener {
        final AtomicInteger count = new AtomicInteger();
        final AtomicReference<NbdError> cause = new AtomicReference<>();

        @Override
        public void connectionEnded(NbdError cause) {
            count.incrementAndGet();
            this.cause.set(cause);
        }

        @Override
        public void progress() {
        }
    }
}
