package io.jnbd.interop;

import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The synchronous API is thread-safe: many threads on one handle, each gets
 * its own replies; and many connections to one server at once, in the clear
 * or over TLS-PSK, each with its own data.
 */
class ConcurrencyTest {
    static final int THREADS = 16;
    static final int REGION = 256 * 1024;
    static final int CONNECTIONS = 8;
    static final int IN_FLIGHT = 64;
    static final int SLOT = 16 * 1024;
    static final int CONNECTION_REGION = IN_FLIGHT * SLOT;

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
                results.add(ex.submit(() -> writeAndVerify(h, id, REGION)));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertEquals(THREADS * 50, total);
        }
    }

    /** Writes and reads back random blocks of its own region; returns how many rounds it verified. */
    private static int writeAndVerify(NbdHandle h, int id, int region) {
        Random r = new Random(id);
        long base = (long) id * region;
        byte[] expect = new byte[region];
        int rounds = 0;
        for (int i = 0; i < 50; i++) {
            int len = 512 * (1 + r.nextInt(64));
            int off = 512 * r.nextInt((region - len) / 512 + 1);
            byte[] data = new byte[len];
            r.nextBytes(data);
            if (i % 2 == 0) {
                h.pwrite(data, base + off);
            } else {
                h.pwrite(ByteBuffer.allocateDirect(len).put(data).flip(), base + off);
            }
            System.arraycopy(data, 0, expect, off, len);
            byte[] back = new byte[region];
            h.pread(back, base);
            assertArrayEquals(expect, back, "thread " + id + " round " + i);
            rounds++;
        }
        return rounds;
    }

    /** nbdkit's memory plugin (multi-conn) on a Unix socket for {@link #CONNECTIONS} regions, maybe TLS-PSK only. */
    private static Servers.Running sharedServer(Path dir, boolean tls) throws Exception {
        List<String> args = new ArrayList<>();
        if (tls) {
            args.addAll(List.of("--tls=require", "--tls-psk=" + psk(dir)));
        }
        args.addAll(List.of("--filter=delay", "memory", Integer.toString(CONNECTIONS * CONNECTION_REGION),
                "delay-read=1ms", "delay-write=1ms"));
        Path serverDir = Files.createDirectory(dir.resolve("server"));
        return Servers.nbdkitUnix(serverDir, args.toArray(String[]::new));
    }

    private static Path psk(Path dir) throws Exception {
        Path psk = dir.resolve("keys.psk");
        if (!Files.exists(psk)) {
            Files.writeString(psk, "alice:" + "5e".repeat(32) + "\n");
        }
        return psk;
    }

    private static NbdHandle connect(Servers.Running server, Path dir, boolean tls) throws Exception {
        NbdHandle h = new NbdHandle();
        if (tls) {
            h.setTls(Tls.REQUIRE);
            h.setTlsPskFile(psk(dir).toString());
            h.setTlsUsername("alice");
        }
        h.connectUnix(server.socket.toString());
        assertEquals(tls, h.getTlsNegotiated());
        return h;
    }

    /**
     * libnbd's synch-parallel.sh and synch-parallel-tls.sh: threads, each with
     * its own connection to one server, write and read back their regions.
     */
    @ParameterizedTest(name = "tls {0}")
    @ValueSource(booleans = {false, true})
    void synchronousThreadsEachWithItsOwnConnection(boolean tls) throws Exception {
        Path dir = Servers.tempDir();
        try (Servers.Running server = sharedServer(dir, tls); ExecutorService threads = Executors.newFixedThreadPool(
                CONNECTIONS)) {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < CONNECTIONS; t++) {
                int id = t;
                results.add(threads.submit(() -> {
                    try (NbdHandle h = connect(server, dir, tls)) {
                        return writeAndVerify(h, id, CONNECTION_REGION);
                    }
                }));
            }
            for (Future<Integer> f : results) {
                assertEquals(50, f.get());
            }
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    /**
     * libnbd's aio-parallel.sh, aio-parallel-load.sh and their -tls forms:
     * {@link #CONNECTIONS} connections to one multi-conn server, each with
     * {@link #IN_FLIGHT} aio commands in flight at a time, every byte checked,
     * then each connection reads another's region after a flush.
     */
    @ParameterizedTest(name = "tls {0}")
    @ValueSource(booleans = {false, true})
    void aioCommandsInFlightOnEightConnections(boolean tls) throws Exception {
        Path dir = Servers.tempDir();
        List<NbdHandle> handles = new ArrayList<>();
        try (Servers.Running server = sharedServer(dir, tls); ExecutorService threads = Executors.newFixedThreadPool(
                CONNECTIONS)) {
            for (int i = 0; i < CONNECTIONS; i++) {
                handles.add(connect(server, dir, tls));
            }
            assertTrue(handles.getFirst().canMultiConn());
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                NbdHandle h = handles.get(i);
                long base = (long) i * CONNECTION_REGION;
                int seed = i;
                results.add(threads.submit(() -> aioRounds(h, base, seed)));
            }
            List<byte[]> regions = new ArrayList<>();
            for (Future<byte[]> f : results) {
                regions.add(f.get());
            }
            for (NbdHandle h : handles) {
                h.flush();
            }
            // With multi-conn, what one connection flushed every other one sees.
            for (int i = 0; i < CONNECTIONS; i++) {
                int other = (i + 1) % CONNECTIONS;
                byte[] back = new byte[CONNECTION_REGION];
                handles.get(i).pread(back, (long) other * CONNECTION_REGION);
                assertArrayEquals(regions.get(other), back, "connection " + i + " reading region " + other);
            }
        } finally {
            handles.forEach(NbdHandle::close);
            MoreServers.deleteTree(dir);
        }
    }

    /**
     * Rounds of {@link #IN_FLIGHT} aio writes to distinct slots, then as many
     * aio reads, all in flight together; returns the region as last written.
     */
    private static byte[] aioRounds(NbdHandle h, long base, int seed) {
        Random r = new Random(seed);
        byte[] shadow = new byte[CONNECTION_REGION];
        for (int round = 0; round < 8; round++) {
            List<Long> writes = new ArrayList<>();
            for (int slot = 0; slot < IN_FLIGHT; slot++) {
                byte[] data = new byte[SLOT];
                r.nextBytes(data);
                System.arraycopy(data, 0, shadow, slot * SLOT, SLOT);
                writes.add(h.aioPwrite(ByteBuffer.wrap(data), base + (long) slot * SLOT, null));
            }
            await(h, writes);
            List<Long> reads = new ArrayList<>();
            List<ByteBuffer> buffers = new ArrayList<>();
            for (int slot = 0; slot < IN_FLIGHT; slot++) {
                ByteBuffer b = ByteBuffer.allocate(SLOT);
                buffers.add(b);
                reads.add(h.aioPread(b, base + (long) slot * SLOT, null));
            }
            await(h, reads);
            for (int slot = 0; slot < IN_FLIGHT; slot++) {
                byte[] expected = new byte[SLOT];
                System.arraycopy(shadow, slot * SLOT, expected, 0, SLOT);
                assertArrayEquals(expected, buffers.get(slot).array(), "round " + round + " slot " + slot);
            }
        }
        return shadow;
    }

    private static void await(NbdHandle h, List<Long> cookies) {
        for (long c : cookies) {
            while (!h.aioCommandCompleted(c)) {
                h.poll(-1);
            }
        }
    }
}
