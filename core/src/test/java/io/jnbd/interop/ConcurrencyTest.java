package io.jnbd.interop;

import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The synchronous API is thread-safe: many threads on one handle, each gets its own replies. */
class ConcurrencyTest {
    static final int THREADS = 16;
    static final int REGION = 256 * 1024;

    @Test
    void platformAndVirtualThreadsShareOneHandle() throws Exception {
        try (NbdHandle h = new NbdHandle();
             ExecutorService platform = Executors.newFixedThreadPool(THREADS / 2);
             ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor()) {
            // The delay filter keeps many requests in flight at once.
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "--filter=delay",
                    "memory", Integer.toString(THREADS * REGION), "delay-read=1ms", "delay-write=1ms"));
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                ExecutorService ex = t % 2 == 0 ? platform : virtual;
                results.add(ex.submit(() -> writeAndVerify(h, id)));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertEquals(THREADS * 50, total);
        }
    }

    /** Writes and reads back random blocks of its own region; returns how many rounds it verified. */
    private static int writeAndVerify(NbdHandle h, int id) {
        Random r = new Random(id);
        long base = (long) id * REGION;
        byte[] expect = new byte[REGION];
        int rounds = 0;
        for (int i = 0; i < 50; i++) {
            int len = 512 * (1 + r.nextInt(64));
            int off = 512 * r.nextInt((REGION - len) / 512 + 1);
            byte[] data = new byte[len];
            r.nextBytes(data);
            if (i % 2 == 0) {
                h.pwrite(data, base + off);
            } else {
                h.pwrite(ByteBuffer.allocateDirect(len).put(data).flip(), base + off);
            }
            System.arraycopy(data, 0, expect, off, len);
            byte[] back = new byte[REGION];
            h.pread(back, base);
            assertArrayEquals(expect, back, "thread " + id + " round " + i);
            rounds++;
        }
        return rounds;
    }
}
