package io.jnbd.interop;

import io.jnbd.BlockSize;
import io.jnbd.CmdFlag;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.MoreServers.MapEntry;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * qemu-nbd serving a qcow2 image over a Unix socket: extended headers (qemu 10
 * offers them), block status of a sparse image against libnbd's nbdinfo --map,
 * and data round trips with and without extended headers.
 */
class QemuNbdTest {
    /** Bigger than 4 GiB, so that an unallocated tail is one extent longer than 32 bits can say. */
    static final long SIZE = 6L << 30;
    static final long CLUSTER_AT = 1L << 20;
    static final int CLUSTER = 64 * 1024;
    /** Where the write tests work, well away from the cluster the block status tests look at. */
    static final long SCRATCH = 64L << 20;
    static final int HOLE_ZERO = 3;

    static Path dir;
    static Servers.Running server;

    @BeforeAll
    static void start() throws Exception {
        dir = Servers.tempDir();
        Path image = dir.resolve("disk.qcow2");
        MoreServers.qemuImgCreate(image, "qcow2", SIZE);
        // One allocated cluster of 0xab, written before the server opens the image.
        MoreServers.qemuIo(image, "qcow2", "write -P 0xab " + CLUSTER_AT + " " + CLUSTER);
        server = MoreServers.qemuNbdUnix(dir, "qcow2", image);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        MoreServers.deleteTree(dir);
    }

    static NbdHandle connect(boolean extended) {
        NbdHandle h = new NbdHandle();
        h.setRequestExtendedHeaders(extended);
        h.addMetaContext("base:allocation");
        h.connectUnix(server.socket.toString());
        return h;
    }

    /** The base:allocation map from {@code from} to the end, by as many block status calls as it takes. */
    static List<MapEntry> map(NbdHandle h, long from, long maxRequest) {
        List<MapEntry> map = new ArrayList<>();
        long offset = from;
        while (offset < h.getSize()) {
            long count = Math.min(h.getSize() - offset, maxRequest);
            long[] next = {offset};
            h.blockStatus(count, offset, (ctx, off, entries, err) -> {
                assertEquals("base:allocation", ctx);
                assertEquals(next[0], off);
                long at = off;
                for (int i = 0; i < entries.length; i += 2) {
                    long len = Integer.toUnsignedLong(entries[i]);
                    map.add(new MapEntry(at, len, entries[i + 1]));
                    at += len;
                }
                return 0;
            });
            MapEntry last = map.getLast();
            offset = Math.min(last.offset() + last.length(), h.getSize());
        }
        return merged(map);
    }

    /** Joins neighbours with the same flags: servers may split a run of extents anywhere. */
    static List<MapEntry> merged(List<MapEntry> map) {
        List<MapEntry> out = new ArrayList<>();
        for (MapEntry e : map) {
            if (!out.isEmpty() && out.getLast().flags() == e.flags()
                    && out.getLast().offset() + out.getLast().length() == e.offset()) {
                MapEntry prev = out.removeLast();
                out.add(new MapEntry(prev.offset(), prev.length() + e.length(), e.flags()));
            } else {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void qemuTenNegotiatesExtendedHeaders() throws Exception {
        Map<String, String> oracle = MoreServers.nbdinfoJson(server.unixUri(""));
        try (NbdHandle h = connect(true)) {
            assertTrue(h.getExtendedHeadersNegotiated());
            assertTrue(h.getStructuredRepliesNegotiated(), "extended headers imply structured replies");
            assertEquals("newstyle-fixed", h.getProtocol());
            assertEquals(SIZE, h.getSize());
            assertTrue(h.canMetaContext("base:allocation"));
            assertEquals(Long.parseLong(oracle.get("block_size_minimum")), h.getBlockSize(BlockSize.MINIMUM));
            assertEquals(Long.parseLong(oracle.get("block_size_preferred")), h.getBlockSize(BlockSize.PREFERRED));
            assertEquals(Long.parseLong(oracle.get("block_size_maximum")), h.getBlockSize(BlockSize.MAXIMUM));
            assertEquals(Boolean.parseBoolean(oracle.get("can_multi_conn")), h.canMultiConn());
            assertEquals(Boolean.parseBoolean(oracle.get("can_fast_zero")), h.canFastZero());
            assertEquals(Boolean.parseBoolean(oracle.get("can_df")), h.canDf());
        }
    }

    @Test
    void withoutExtendedHeadersOnlyStructuredReplies() {
        try (NbdHandle h = connect(false)) {
            assertEquals(false, h.getExtendedHeadersNegotiated());
            assertTrue(h.getStructuredRepliesNegotiated());
            assertEquals(SIZE, h.getSize());
        }
    }

    @ParameterizedTest(name = "extended headers {0}")
    @ValueSource(booleans = {true, false})
    void blockStatusMatchesNbdinfoMap(boolean extended) throws Exception {
        List<MapEntry> oracle = merged(MoreServers.nbdinfoMap(server.unixUri("")));
        try (NbdHandle h = connect(extended)) {
            // Without extended headers a request is at most 32 bits long.
            List<MapEntry> ours = map(h, 0, extended ? Long.MAX_VALUE : 1L << 30);
            assertEquals(oracle, ours);
            assertEquals(new MapEntry(0, CLUSTER_AT, HOLE_ZERO), ours.get(0));
            assertEquals(new MapEntry(CLUSTER_AT, CLUSTER, 0), ours.get(1));
            assertEquals(HOLE_ZERO, ours.get(2).flags());
        }
    }

    @Test
    void extentLongerThan32BitsIsTruncated() {
        // nbd_block_status: "If the server replies with a larger extent, the length of that extent will be
        // truncated to just below 32 bits and any further extents from the server will be ignored."
        // libnbd itself cuts to 4 GiB - 64 MiB; anything from there to 4 GiB - 1 reads true to the man page.
        try (NbdHandle h = connect(true)) {
            long from = 2L << 20;
            long hole = SIZE - from;
            assertTrue(hole > 0xffffffffL);
            List<int[]> calls = new ArrayList<>();
            h.blockStatus(hole, from, (ctx, off, entries, err) -> {
                assertEquals(from, off);
                assertEquals(0, err.get());
                calls.add(entries.clone());
                return 0;
            });
            assertEquals(1, calls.size());
            int[] e = calls.getFirst();
            long total = 0;
            for (int i = 0; i < e.length; i += 2) {
                total += Integer.toUnsignedLong(e[i]);
            }
            // The unallocated tail (after whatever the write tests allocated) is the truncated, last extent.
            long cut = Integer.toUnsignedLong(e[e.length - 2]);
            assertTrue(cut >= (1L << 32) - (64L << 20), "truncated to " + cut);
            assertEquals(0, cut % h.getBlockSize(BlockSize.MINIMUM));
            assertEquals(HOLE_ZERO, e[e.length - 1]);
            assertTrue(total < hole);
        }
    }

    @ParameterizedTest(name = "extended headers {0}")
    @ValueSource(booleans = {true, false})
    void dataRoundTrips(boolean extended) {
        try (NbdHandle h = connect(extended)) {
            assertEquals(extended, h.getExtendedHeadersNegotiated());
            byte[] cluster = new byte[CLUSTER];
            h.pread(cluster, CLUSTER_AT);
            byte[] ab = new byte[CLUSTER];
            Arrays.fill(ab, (byte) 0xab);
            assertArrayEquals(ab, cluster, "the cluster qemu-io wrote");

            long base = SCRATCH + (extended ? 0 : 8L << 20);
            byte[] data = new byte[3 << 20];
            new Random(extended ? 1 : 2).nextBytes(data);
            h.pwrite(data, base);
            h.pwrite(Arrays.copyOf(data, 4096), base + data.length, CmdFlag.FUA);
            h.flush();
            byte[] back = new byte[data.length];
            h.pread(back, base);
            assertArrayEquals(data, back);

            h.zero(CLUSTER, base);
            // A trim promises nothing about what reads back (qemu-nbd ignores it unless --discard=unmap).
            h.trim(CLUSTER, base + CLUSTER);
            h.zero(CLUSTER, base + 2L * CLUSTER, CmdFlag.FAST_ZERO | CmdFlag.NO_HOLE);
            h.pread(back, base);
            assertArrayEquals(new byte[CLUSTER], Arrays.copyOf(back, CLUSTER));
            assertArrayEquals(new byte[CLUSTER], Arrays.copyOfRange(back, 2 * CLUSTER, 3 * CLUSTER));
            assertArrayEquals(Arrays.copyOfRange(data, 3 * CLUSTER, data.length),
                    Arrays.copyOfRange(back, 3 * CLUSTER, data.length));
        }
    }
}
