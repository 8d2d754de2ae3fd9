package io.jnbd.interop;

import io.jnbd.ChunkCallback;
import io.jnbd.CmdFlag;
import io.jnbd.CompletionCallback;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Shutdown;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** libnbd's aio commands and jnbd's CompletableFuture forms, against nbdkit. */
class AsyncCommandsTest {

    private static NbdHandle connect(String... pluginArgs) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(pluginArgs));
        NbdHandle h = new NbdHandle();
        h.connectCommand(cmd);
        return h;
    }

    @Test
    void theLibnbdWayPollUntilEachCookieCompletes() {
        try (NbdHandle h = connect("memory", "1M")) {
            byte[] data = new byte[65536];
            new Random(3).nextBytes(data);
            long w = h.aioPwrite(ByteBuffer.wrap(data), 0, null);
            while (!h.aioCommandCompleted(w)) {
                h.poll(-1);
            }
            ByteBuffer back = ByteBuffer.allocateDirect(data.length);
            long r = h.aioPread(back, 0, null);
            assertTrue(r > w, "cookies grow");
            while (!h.aioCommandCompleted(r)) {
                h.poll(-1);
            }
            assertEquals(0, back.position(), "aio leaves the buffer's position alone");
            byte[] got = new byte[data.length];
            back.get(got);
            assertArrayEquals(data, got);
            assertFalse(h.aioCommandCompleted(r), "a retired cookie is not completed again");
            assertEquals(0, h.aioInFlight());
            assertEquals(22, assertThrows(NbdException.class, h::aioPeekCommandCompleted).getErrno());
        }
    }

    @Test
    void sixtyFourInFlightWithCallbacksThatRetire() throws Exception {
        try (NbdHandle h = connect("--filter=delay", "memory", "64M", "delay-read=5ms")) {
            int n = 64;
            CountDownLatch done = new CountDownLatch(n);
            Set<Long> cookies = ConcurrentHashMap.newKeySet();
            AtomicInteger calls = new AtomicInteger();
            for (int i = 0; i < n; i++) {
                ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
                long cookie = h.aioPread(buf, (long) i * buf.capacity(), err -> {
                    calls.incrementAndGet();
                    assertEquals(0, err.get());
                    done.countDown();
                    return 1;
                });
                assertTrue(cookies.add(cookie), "unique cookie");
            }
            assertTrue(h.aioInFlight() > 0);
            assertTrue(done.await(20, TimeUnit.SECONDS));
            assertEquals(n, calls.get());
            for (long c : cookies) {
                assertFalse(h.aioCommandCompleted(c), "retired by its callback");
            }
        }
    }

    @Test
    void peekFindsCompletedCommandsInOrder() {
        try (NbdHandle h = connect("memory", "1M")) {
            long a = h.aioFlush();
            long b = h.aioFlush();
            while (h.aioInFlight() > 0) {
                h.poll(-1);
            }
            Set<Long> seen = new HashSet<>();
            long c;
            while ((c = h.aioPeekCommandCompleted()) > 0 || h.aioInFlight() > 0) {
                if (c > 0) {
                    assertTrue(h.aioCommandCompleted(c));
                    seen.add(c);
                }
                if (seen.size() == 2) {
                    break;
                }
            }
            assertEquals(Set.of(a, b), seen);
        }
    }

    @Test
    void failedCommandsReportTheirErrno() {
        try (NbdHandle h = connect("--filter=error", "memory", "1M", "error-pread=EIO", "error-pread-rate=100%")) {
            AtomicInteger seenErrno = new AtomicInteger(-1);
            long c = h.aioPread(ByteBuffer.allocate(512), 0, err -> {
                seenErrno.set(err.get());
                return 0;
            });
            while (!isDone(h, c)) {
                h.poll(-1);
            }
            assertEquals(5, seenErrno.get());
            assertTrue(h.aioIsReady(), "a command error leaves the connection up");
        }
    }

    private static boolean isDone(NbdHandle h, long cookie) {
        try {
            return h.aioCommandCompleted(cookie);
        } catch (NbdException e) {
            assertEquals(5, e.getErrno());
            assertTrue(e.getMessage().startsWith("aioCommandCompleted: "), e.getMessage());
            return true;
        }
    }

    @Test
    void completionCallbackCanReplaceTheError() {
        try (NbdHandle h = connect("memory", "1M")) {
            CompletionCallback fail = err -> {
                err.set(71);
                return -1;
            };
            long c = h.aioFlush(fail);
            NbdException e = assertThrows(NbdException.class, () -> {
                while (!h.aioCommandCompleted(c)) {
                    h.poll(-1);
                }
            });
            assertEquals(71, e.getErrno());
        }
    }

    @Test
    void futuresCompleteAndChain() throws Exception {
        try (NbdHandle h = connect("memory", "4M")) {
            byte[] data = "jnbd futures".getBytes();
            ByteBuffer back = ByteBuffer.allocate(data.length);
            // A dependent stage may issue further commands on the same handle.
            CompletableFuture<Void> chain = h.pwriteAsync(ByteBuffer.wrap(data), 4096)
                    .thenCompose(v -> h.flushAsync())
                    .thenCompose(v -> h.preadAsync(back, 4096));
            chain.get(10, TimeUnit.SECONDS);
            assertArrayEquals(data, back.array());
            h.zeroAsync(4096, 0).get(10, TimeUnit.SECONDS);
            h.trimAsync(4096, 8192).get(10, TimeUnit.SECONDS);
            h.cacheAsync(4096, 0).get(10, TimeUnit.SECONDS);
            List<String> contexts = new ArrayList<>();
            assertThrows(Exception.class, () -> h.blockStatusAsync(4096, 0, (ctx, off, e, err) -> 0).join(),
                    "no meta context was requested");
            assertTrue(contexts.isEmpty());
        }
    }

    @Test
    void failedFuturesCarryTheNbdException() {
        try (NbdHandle h = connect("--filter=error", "memory", "1M", "error-pwrite=ENOSPC",
                "error-pwrite-rate=100%")) {
            CompletionException e = assertThrows(CompletionException.class,
                    () -> h.pwriteAsync(ByteBuffer.allocate(512), 0).join());
            NbdException cause = assertInstanceOf(NbdException.class, e.getCause());
            assertEquals(28, cause.getErrno());
            assertTrue(cause.getMessage().startsWith("pwriteAsync: "), cause.getMessage());
            // What libnbd refuses before sending (state, arguments, strict mode) throws at once instead.
            NbdException refused = assertThrows(NbdException.class,
                    () -> h.preadAsync(ByteBuffer.allocate(512), 1L << 40));
            assertTrue(refused.getMessage().startsWith("preadAsync: request out of bounds"), refused.getMessage());
        }
    }

    @Test
    void serverDeathCompletesEveryCommandOnce() {
        try (NbdHandle h = connect("--filter=delay", "memory", "1M", "delay-read=3")) {
            int n = 64;
            AtomicInteger callbacks = new AtomicInteger();
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (i % 2 == 0) {
                    h.aioPread(ByteBuffer.allocate(512), 512L * i, err -> {
                        callbacks.incrementAndGet();
                        assertTrue(err.get() != 0);
                        return 1;
                    });
                } else {
                    futures.add(h.preadAsync(ByteBuffer.allocate(512), 512L * i));
                }
            }
            h.killSubprocess(9);
            assertTimeoutPreemptively(java.time.Duration.ofSeconds(5), () -> {
                for (CompletableFuture<Void> f : futures) {
                    assertInstanceOf(NbdException.class,
                            assertThrows(CompletionException.class, f::join).getCause());
                }
                while (callbacks.get() < n / 2) {
                    Thread.sleep(5);
                }
            });
            assertEquals(n / 2, callbacks.get(), "each callback ran exactly once");
            assertTrue(h.aioIsDead());
            assertEquals(0, h.aioInFlight());
        }
    }

    @Test
    void syncCallsFromAChunkCallbackAreRefused() {
        try (NbdHandle h = connect("memory", "1M")) {
            List<NbdException> refused = new ArrayList<>();
            ChunkCallback nested = (subbuf, offset, status, err) -> {
                try {
                    h.pread(new byte[512], 0);
                } catch (NbdException e) {
                    refused.add(e);
                }
                return 0;
            };
            h.preadStructured(new byte[4096], 0, nested);
            assertEquals(1, refused.size());
            assertEquals(35, refused.get(0).getErrno());
            h.pread(new byte[512], 0);
        }
    }

    @Test
    void aioDisconnectThenPollUntilClosed() {
        try (NbdHandle h = connect("memory", "1M")) {
            h.aioFlush();
            h.aioDisconnect();
            assertEquals(22, assertThrows(NbdException.class, () -> h.aioFlush()).getErrno());
            while (!h.aioIsClosed()) {
                h.poll(1000);
            }
            assertFalse(h.aioIsDead());
        }
    }

    @Test
    void pollNoticesAnIdleServerDying() {
        try (NbdHandle h = connect("memory", "1M")) {
            h.killSubprocess(9);
            assertTimeoutPreemptively(java.time.Duration.ofSeconds(5), () -> {
                while (h.aioIsReady()) {
                    try {
                        h.poll(-1);
                    } catch (NbdException death) {
                        assertEquals("poll: ", death.getMessage().substring(0, 6));
                    }
                }
            });
            assertTrue(h.aioIsDead());
        }
    }

    @Test
    void statisticsCountWhatCrossesTheWire() {
        try (NbdHandle h = new NbdHandle()) {
            assertEquals(0, h.statsBytesSent());
            assertEquals(0, h.statsChunksReceived());
            h.setRequestExtendedHeaders(false);
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            long bytesSent = h.statsBytesSent();
            long chunksSent = h.statsChunksSent();
            long bytesReceived = h.statsBytesReceived();
            long chunksReceived = h.statsChunksReceived();
            assertTrue(bytesSent > 0 && chunksSent > 0 && bytesReceived > 0 && chunksReceived > 0);
            h.flush();
            // A compact request header out, a simple reply in.
            assertEquals(bytesSent + 28, h.statsBytesSent());
            assertEquals(chunksSent + 1, h.statsChunksSent());
            assertEquals(bytesReceived + 16, h.statsBytesReceived());
            assertEquals(chunksReceived + 1, h.statsChunksReceived());
            h.shutdown();
            assertEquals(bytesSent + 56, h.statsBytesSent(), "NBD_CMD_DISC counts too, and the stats survive");
        }
    }

    @Test
    void syncAndAsyncFromManyThreads() throws Exception {
        try (NbdHandle h = connect("--filter=delay", "memory", "16M", "delay-read=1ms", "delay-write=1ms")) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                Runnable work = () -> {
                    try {
                        Random r = new Random(id);
                        for (int i = 0; i < 40; i++) {
                            byte[] data = new byte[4096];
                            r.nextBytes(data);
                            long off = (long) id * (1 << 20) + 4096L * i;
                            if ((i + id) % 2 == 0) {
                                h.pwrite(data, off);
                            } else {
                                h.pwriteAsync(ByteBuffer.wrap(data), off).join();
                            }
                            ByteBuffer back = ByteBuffer.allocate(4096);
                            if (i % 3 == 0) {
                                h.preadAsync(back, off).join();
                            } else {
                                h.pread(back, off);
                            }
                            assertArrayEquals(data, back.array());
                        }
                    } catch (Throwable e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                    }
                };
                threads.add(id % 2 == 0 ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
            }
            for (Thread t : threads) {
                t.join(60_000);
            }
            assertEquals(List.of(), failures);
        }
    }

    /** libnbd's errors-bad-cookie.c. */
    @Test
    void cookieZeroIsInvalid() {
        try (NbdHandle h = connect("memory", "1M")) {
            NbdException e = assertThrows(NbdException.class, () -> h.aioCommandCompleted(0));
            assertEquals(22, e.getErrno());
            assertEquals("aioCommandCompleted: invalid aio cookie 0", e.getMessage());
        }
    }

    /**
     * libnbd's errors-multiple-disconnects.c: a server error on a read, two
     * writes the server is slow to take, then a second disconnect is refused,
     * the queue drains, and nothing more may be sent.
     */
    @Test
    void secondDisconnectIsRefusedAndQueuedWritesDrain() {
        try (NbdHandle h = connect("--filter=error", "--filter=delay", "memory", "128M", "error-pread=ENOMEM",
                "error-pread-rate=100%", "delay-write=1")) {
            assertEquals(12, assertThrows(NbdException.class, () -> h.pread(new byte[512], 0)).getErrno());
            ByteBuffer buf = ByteBuffer.allocate(2 << 20);
            h.aioPwrite(buf.duplicate(), 0, null);
            h.aioPwrite(buf.duplicate(), 0, null);
            assertEquals(2, h.aioInFlight());
            h.aioDisconnect();
            NbdException again = assertThrows(NbdException.class, h::aioDisconnect);
            assertEquals(22, again.getErrno(), again.getMessage());
            try {
                h.shutdown();
            } catch (NbdException racingTheServersExit) {
                // libnbd's test does not mind either: the server may hang up before answering.
            }
            assertEquals(0, h.aioInFlight());
            NbdException late = assertThrows(NbdException.class, () -> h.pread(new byte[512], 0));
            assertEquals(22, late.getErrno(), late.getMessage());
        }
    }

    /**
     * libnbd's shutdown-flags.c: after shutdown(ABANDON_PENDING) nothing is in
     * flight, a callback has retired its command and the other waits to be
     * retired. jnbd sends every aio command before returning, so there is never
     * a queued command for ABANDON_PENDING to drop: both writes complete.
     */
    @Test
    void shutdownAbandonPendingLeavesNothingInFlight() {
        try (NbdHandle h = connect("--filter=delay", "memory", "2M", "delay-write=200ms")) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long first = h.aioPwrite(buf.duplicate(), 0, null);
            AtomicInteger retired = new AtomicInteger();
            h.aioPwrite(buf.duplicate(), 1 << 20, err -> {
                retired.incrementAndGet();
                return 1;
            });
            assertEquals(0, h.aioPeekCommandCompleted());
            assertFalse(h.aioCommandCompleted(first));
            h.shutdown(Shutdown.ABANDON_PENDING);
            assertEquals(0, h.aioInFlight());
            assertEquals(first, h.aioPeekCommandCompleted());
            try {
                assertTrue(h.aioCommandCompleted(first));
            } catch (NbdException serverCutItShort) {
                // As in libnbd's test, the write's own status is the server's business: it is retired either way.
            }
            assertEquals(1, retired.get());
            NbdException none = assertThrows(NbdException.class, h::aioPeekCommandCompleted);
            assertEquals(22, none.getErrno());
        }
    }

    /** libnbd's errors-pread-structured.c: a refused aioPreadStructured never calls its callbacks. */
    @Test
    void refusedStructuredReadCallsNoCallback() {
        try (NbdHandle h = connect("memory", "1M")) {
            AtomicInteger calls = new AtomicInteger();
            long sent = h.statsBytesSent();
            NbdException e = assertThrows(NbdException.class, () -> h.aioPreadStructured(ByteBuffer.allocate(512), -1,
                    (subbuf, offset, status, err) -> calls.incrementAndGet(), err -> calls.incrementAndGet()));
            assertEquals(22, e.getErrno(), e.getMessage());
            assertEquals(0, calls.get());
            assertEquals(sent, h.statsBytesSent());
            assertTrue(h.aioIsReady());
        }
    }

    /** nbdkit's pattern plugin: each 8 bytes hold their own offset, big-endian. */
    private static ByteBuffer pattern(int size) {
        ByteBuffer b = ByteBuffer.allocate(size);
        for (long off = 0; off < size; off += 8) {
            b.putLong(off);
        }
        return b.flip();
    }

    /**
     * A chunk callback for 512 bytes of the pattern: checks what it is given,
     * sets EPROTO, and fails (-1) only if {@code fail}: the error counts only then.
     */
    private static ChunkCallback checkedChunk(boolean fail, AtomicInteger calls) {
        return (subbuf, offset, status, err) -> {
            calls.incrementAndGet();
            assertEquals(0, err.get());
            assertEquals(pattern(512), subbuf);
            assertTrue(subbuf.isReadOnly());
            assertEquals(0, offset);
            assertEquals(ChunkCallback.READ_DATA, status);
            err.set(71);
            return fail ? -1 : 0;
        };
    }

    /** libnbd's 405-pread-structured.py: chunk arguments, and the chunk callback's error. */
    @Test
    void preadStructuredChunkSeesTheDataAndCanFailTheRead() {
        try (NbdHandle h = connect("pattern", "size=512")) {
            for (int flags : new int[]{0, CmdFlag.DF}) {
                AtomicInteger calls = new AtomicInteger();
                ByteBuffer buf = ByteBuffer.allocate(512);
                h.preadStructured(buf, 0, checkedChunk(false, calls), flags);
                assertEquals(pattern(512), buf.flip());
                assertEquals(1, calls.get());
            }
            NbdException e = assertThrows(NbdException.class,
                    () -> h.preadStructured(new byte[512], 0, checkedChunk(true, new AtomicInteger()), CmdFlag.DF));
            assertEquals(71, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsReady());
        }
    }

    /**
     * libnbd's 505-aio-pread-callback.py: the completion callback sees the
     * chunk callback's error, and its own -1 replaces it.
     */
    @Test
    void aioPreadStructuredCompletionSeesTheChunkError() {
        try (NbdHandle h = connect("pattern", "size=512")) {
            // {chunk fails, completion fails, errno aioCommandCompleted reports (0: success)}
            int[][] cases = {{0, 0, 0}, {0, 1, 12}, {1, 1, 12}, {1, 0, 71}};
            for (int[] c : cases) {
                boolean chunkFails = c[0] == 1;
                boolean completionFails = c[1] == 1;
                AtomicInteger chunks = new AtomicInteger();
                AtomicInteger completions = new AtomicInteger();
                ByteBuffer buf = ByteBuffer.allocate(512);
                long cookie = h.aioPreadStructured(buf, 0, checkedChunk(chunkFails, chunks), err -> {
                    completions.incrementAndGet();
                    assertEquals(1, chunks.get(), "chunks come before the completion");
                    assertEquals(chunkFails ? 71 : 0, err.get());
                    err.set(12);
                    return completionFails ? -1 : 0;
                });
                if (c[2] == 0) {
                    while (!h.aioCommandCompleted(cookie)) {
                        h.poll(-1);
                    }
                    assertEquals(pattern(512), buf);
                } else {
                    NbdException e = assertThrows(NbdException.class, () -> {
                        while (!h.aioCommandCompleted(cookie)) {
                            h.poll(-1);
                        }
                    });
                    assertEquals(c[2], e.getErrno(), e.getMessage());
                }
                assertEquals(1, completions.get());
            }
        }
    }

    /** True once the garbage collector has cleared every one of {@code refs}. */
    private static boolean collected(List<WeakReference<?>> refs) throws InterruptedException {
        for (int i = 0; i < 50 && refs.stream().anyMatch(r -> r.get() != null); i++) {
            System.gc();
            Thread.sleep(20);
        }
        return refs.stream().allMatch(r -> r.get() == null);
    }

    /** Starts a structured read whose callbacks count into {@code calls}; returns weak references to them. */
    private static List<WeakReference<?>> structuredRead(NbdHandle h, AtomicInteger calls, long[] cookie) {
        ChunkCallback chunk = (subbuf, offset, status, err) -> {
            calls.incrementAndGet();
            return 0;
        };
        CompletionCallback completion = err -> {
            calls.addAndGet(100);
            return 0;
        };
        cookie[0] = h.aioPreadStructured(ByteBuffer.allocate(512), 0, chunk, completion);
        return List.of(new WeakReference<>(chunk), new WeakReference<>(completion));
    }

    /**
     * libnbd's closure-lifetimes.c, where Java has no free callbacks: a
     * replaced debug callback, and a command's callbacks once it is retired or
     * its handle closed, are called as often as they should be and then not
     * kept (the garbage collector can take them).
     */
    @Test
    void callbacksAreNotKeptOnceTheyAreDone() throws Exception {
        List<WeakReference<?>> debugRefs = new ArrayList<>();
        try (NbdHandle h = new NbdHandle()) {
            // Capturing, so that it is a new object: a lambda capturing nothing is a cached singleton.
            Object owner = new Object();
            io.jnbd.DebugCallback first = (context, msg) -> owner.hashCode() & 0;
            debugRefs.add(new WeakReference<>(first));
            h.setDebugCallback(first);
            first = null;
            h.setDebugCallback((context, msg) -> 0);
            assertTrue(collected(debugRefs), "the replaced debug callback is not kept");
        }

        try (NbdHandle h = connect("memory", "1M")) {
            AtomicInteger calls = new AtomicInteger();
            long[] cookie = new long[1];
            List<WeakReference<?>> refs = structuredRead(h, calls, cookie);
            while (!h.aioCommandCompleted(cookie[0])) {
                h.poll(-1);
            }
            assertEquals(101, calls.get(), "one chunk, one completion");
            assertTrue(collected(refs), "a retired command keeps no callback");
        }

        AtomicInteger calls = new AtomicInteger();
        List<WeakReference<?>> refs;
        NbdHandle h = connect("--filter=delay", "memory", "1M", "delay-read=10");
        try {
            refs = structuredRead(h, calls, new long[1]);
            h.killSubprocess(0);
        } finally {
            h.close();
        }
        assertEquals(1, calls.get() / 100, "the completion ran once");
        assertTrue(collected(refs), "a closed handle's commands keep no callback");
        // Still reachable here, so that only what the handle holds can keep the callbacks alive.
        assertFalse(h.aioIsReady());
    }

    /**
     * libnbd's 590-aio-copy.py: a copy between two handles, up to 16 reads in
     * flight, each finished read's callback queueing its write.
     */
    @Test
    void aioCopyBetweenTwoHandles() throws Exception {
        int size = 64 << 20;
        int bs = 65536;
        try (NbdHandle src = connect("pattern", "size=" + size); NbdHandle dst = connect("memory", "size=" + size)) {
            record Done(ByteBuffer buf, long offset) {
            }
            LinkedBlockingQueue<Done> reads = new LinkedBlockingQueue<>();
            AtomicInteger writesDone = new AtomicInteger();
            long soff = 0;
            int writes = 0;
            while (soff < size || src.aioInFlight() > 0 || dst.aioInFlight() > 0 || !reads.isEmpty()) {
                if (soff < size && src.aioInFlight() < 16) {
                    ByteBuffer buf = ByteBuffer.allocate(bs);
                    long off = soff;
                    src.aioPread(buf, off, err -> {
                        assertEquals(0, err.get());
                        reads.add(new Done(buf, off));
                        return 1;
                    });
                    soff += bs;
                    continue;
                }
                Done d = reads.poll(10, TimeUnit.MILLISECONDS);
                if (d != null) {
                    dst.aioPwrite(d.buf(), d.offset(), err -> {
                        assertEquals(0, err.get());
                        writesDone.incrementAndGet();
                        return 1;
                    });
                    writes++;
                }
            }
            assertEquals(size / bs, writes);
            assertEquals(writes, writesDone.get());
            ByteBuffer all = ByteBuffer.allocate(size);
            dst.pread(all, 0);
            all.flip();
            for (long off = 0; off < size; off += 8) {
                assertEquals(off, all.getLong(), "at " + off);
            }
        }
    }
}
