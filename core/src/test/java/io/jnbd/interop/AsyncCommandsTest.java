package io.jnbd.interop;

import io.jnbd.ChunkCallback;
import io.jnbd.CompletionCallback;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

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
}
