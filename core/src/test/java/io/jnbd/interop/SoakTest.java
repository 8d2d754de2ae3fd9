package io.jnbd.interop;

import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;

import static io.jnbd.testing.Leaks.jnbdThreads;
import static io.jnbd.testing.Leaks.openDescriptors;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long-running load on one handle: sync, aio and future calls from 16
 * threads against nbdkit's memory plugin with the delay filter, every byte
 * verified; and a server dying under 64 commands in flight leaks nothing.
 */
class SoakTest {
    static final int THREADS = 16;
    static final int REGION = 1 << 20;
    static final long SECONDS = Long.getLong("jnbd.soakSeconds", 60);

    @Test
    void sixteenThreadsMixingSyncAndAsyncForAMinute() throws Exception {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "--filter=delay",
                    "memory", Integer.toString(THREADS * REGION), "delay-read=1ms", "delay-write=1ms"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
            AtomicLong verified = new AtomicLong();
            List<Throwable> failures = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                Runnable work = () -> {
                    try {
                        exercise(h, id, deadline, verified);
                    } catch (Throwable e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                    }
                };
                threads.add(t % 2 == 0 ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(SECONDS + 60));
                assertTrue(!t.isAlive(), "a worker is stuck: deadlock?");
            }
            assertEquals(List.of(), failures);
            assertTrue(verified.get() > THREADS * 10L, "rounds verified: " + verified.get());
        }
    }

    /** Writes random blocks of its own region by rotating forms, and checks each read against a shadow copy. */
    private static void exercise(NbdHandle h, int id, long deadline, AtomicLong verified) throws Exception {
        Random r = new Random(id);
        long base = (long) id * REGION;
        byte[] shadow = new byte[REGION];
        for (int round = 0; System.nanoTime() < deadline; round++) {
            int len = 512 * (1 + r.nextInt(128));
            int off = 512 * r.nextInt((REGION - len) / 512 + 1);
            byte[] data = new byte[len];
            r.nextBytes(data);
            switch (round % 3) {
                case 0 -> h.pwrite(data, base + off);
                case 1 -> h.pwriteAsync(ByteBuffer.wrap(data), base + off).get(30, TimeUnit.SECONDS);
                default -> {
                    CountDownLatch done = new CountDownLatch(1);
                    AtomicInteger err = new AtomicInteger();
                    h.aioPwrite(ByteBuffer.wrap(data), base + off, e -> {
                        err.set(e.get());
                        done.countDown();
                        return 1;
                    });
                    assertTrue(done.await(30, TimeUnit.SECONDS));
                    assertEquals(0, err.get());
                }
            }
            System.arraycopy(data, 0, shadow, off, len);
            byte[] back = new byte[REGION];
            if (round % 2 == 0) {
                h.pread(back, base);
            } else {
                // Four reads in flight at once over the region.
                List<CompletableFuture<Void>> parts = new ArrayList<>();
                for (int q = 0; q < 4; q++) {
                    parts.add(h.preadAsync(ByteBuffer.wrap(back, q * REGION / 4, REGION / 4), base + q * REGION / 4));
                }
                CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            }
            assertArrayEquals(shadow, back, "thread " + id + " round " + round);
            verified.incrementAndGet();
        }
    }

    @Test
    void serverDeathUnderLoadLeaksNoThreadsOrDescriptors() throws Exception {
        String nbdkit = Servers.require("nbdkit");
        deathUnderLoad(nbdkit);
        long fds = openDescriptors();
        long threads = jnbdThreads();
        for (int i = 0; i < 5; i++) {
            deathUnderLoad(nbdkit);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((jnbdThreads() > threads || openDescriptors() > fds + 2) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(threads, jnbdThreads(), "jnbd threads");
        assertTrue(openDescriptors() <= fds + 2, "descriptors before " + fds + ", after " + openDescriptors());
    }

    private static void deathUnderLoad(String nbdkit) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(List.of(nbdkit, "-s", "--exit-with-parent", "--filter=delay", "memory", "1M",
                    "delay-read=2"));
            for (int i = 0; i < 64; i++) {
                h.aioPread(ByteBuffer.allocateDirect(4096), 4096L * (i % 256), err -> {
                    calls.incrementAndGet();
                    return 1;
                });
            }
            h.killSubprocess(9);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (calls.get() < 64 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(h.aioIsDead());
        }
        assertEquals(64, calls.get(), "each callback exactly once");
    }
}
