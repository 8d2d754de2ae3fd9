package io.jnbd.interop;

import io.jnbd.BlockSize;
import io.jnbd.ChunkCallback;
import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.MoreServers.MapEntry;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /**
     * libnbd's structured-read.sh: a read across the allocated cluster comes
     * as hole, data and hole chunks that tile the request exactly.
     */
    @Test
    void structuredReadGivesDataAndHoleChunks() {
        try (NbdHandle h = connect(false)) {
            long from = CLUSTER_AT - CLUSTER;
            byte[] buf = new byte[3 * CLUSTER];
            List<long[]> chunks = new ArrayList<>();
            h.preadStructured(buf, from, (subbuf, offset, status, err) -> {
                assertEquals(0, err.get());
                chunks.add(new long[]{offset, subbuf.remaining(), status});
                if (status == ChunkCallback.READ_HOLE) {
                    while (subbuf.hasRemaining()) {
                        assertEquals(0, subbuf.get());
                    }
                }
                return 0;
            });
            chunks.sort((a, b) -> Long.compare(a[0], b[0]));
            long at = from;
            boolean hole = false;
            boolean data = false;
            for (long[] c : chunks) {
                assertEquals(at, c[0], "chunks tile the request");
                at += c[1];
                boolean inCluster = c[0] >= CLUSTER_AT && c[0] < CLUSTER_AT + CLUSTER;
                if (c[2] == ChunkCallback.READ_HOLE) {
                    assertFalse(inCluster, "a hole where the data is");
                    hole = true;
                } else {
                    assertEquals(ChunkCallback.READ_DATA, c[2]);
                    data |= inCluster;
                }
            }
            assertEquals(from + buf.length, at);
            assertTrue(hole && data, "qemu-nbd sent holes and data");
            byte[] ab = new byte[CLUSTER];
            Arrays.fill(ab, (byte) 0xab);
            assertArrayEquals(ab, Arrays.copyOfRange(buf, CLUSTER, 2 * CLUSTER));
            assertArrayEquals(new byte[CLUSTER], Arrays.copyOf(buf, CLUSTER));
        }
    }

    /**
     * libnbd's block-status-64.sh: with extended headers blockStatus64 gives
     * the unallocated tail as one extent longer than 32 bits.
     */
    @Test
    void blockStatus64ReportsAnExtentLongerThan32Bits() {
        try (NbdHandle h = connect(true)) {
            long from = SIZE - (5L << 30);
            List<NbdExtent> seen = new ArrayList<>();
            h.blockStatus64(SIZE - from, from, (ctx, off, extents, err) -> {
                assertEquals(from, off);
                seen.addAll(List.of(extents));
                return 0;
            }, 0);
            NbdExtent last = seen.getLast();
            assertTrue(last.length() > 0xffffffffL, seen.toString());
            assertEquals(HOLE_ZERO, last.flags());
        }
    }

    /** A socket-activated qemu-nbd serving {@code file} with {@code args} before it. */
    private static List<String> qemuNbd(Path file, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("qemu-nbd")));
        cmd.addAll(List.of(args));
        cmd.add(file.toString());
        return cmd;
    }

    private static Path textFile() throws Exception {
        // Not an image format qemu knows: probed as raw, whose first sector qemu then guards.
        Path file = dir.resolve("probed.raw");
        if (!Files.exists(file)) {
            Files.writeString(file, "just some text, not an image\n".repeat(40000));
        }
        return file;
    }

    /**
     * libnbd's interop-qemu-block-size.sh: the minimum block size qemu-nbd
     * reports to optInfo and to optGo, asked for or not, probed or raw.
     * {@code optInfoMinimum} 0 means optInfo may fail or report none.
     */
    @ParameterizedTest(name = "{0} requestBlockSize={1}")
    @CsvSource({"probed, true, 512, 512", "probed, false, 0, 1", "raw, true, 1, 1", "raw, false, 1, 1"})
    void blockSizesFromOptInfoAndGo(String format, boolean request, long optInfoMinimum, long goMinimum)
            throws Exception {
        String[] args = format.equals("raw") ? new String[]{"-f", "raw"} : new String[0];
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            assertTrue(h.getRequestBlockSize());
            h.setRequestBlockSize(request);
            assertEquals(request, h.getRequestBlockSize());
            h.connectSystemdSocketActivation(qemuNbd(textFile(), args));
            assertTrue(h.aioIsNegotiating());
            try {
                h.optInfo();
                assertEquals(optInfoMinimum, h.getBlockSize(BlockSize.MINIMUM));
            } catch (NbdException e) {
                assertEquals(0, optInfoMinimum, e.getMessage());
            }
            h.optGo();
            assertEquals(goMinimum, h.getBlockSize(BlockSize.MINIMUM));
            h.shutdown();
        }
    }

    /** Opt mode, no strictness, base:allocation, the given requests; socket-activated qemu-nbd -r. */
    private static NbdHandle prep(boolean sr, boolean eh) throws Exception {
        NbdHandle h = new NbdHandle();
        h.setOptMode(true);
        h.setStrictMode(0);
        h.addMetaContext("base:allocation");
        h.setRequestStructuredReplies(sr);
        h.setRequestExtendedHeaders(eh);
        h.connectSystemdSocketActivation(qemuNbd(textFile(), "-r", "-f", "raw"));
        return h;
    }

    /** optGo, then base:allocation works exactly when it was negotiated. */
    private static void finish(NbdHandle h, boolean extents) {
        try (h) {
            h.optGo();
            assertEquals(extents, h.canMetaContext("base:allocation"));
            List<String> seen = new ArrayList<>();
            if (extents) {
                h.blockStatus64(512, 0, (ctx, off, e, err) -> {
                    seen.add(ctx);
                    return 0;
                }, 0);
                assertEquals(List.of("base:allocation"), seen);
            } else {
                assertThrows(NbdException.class, () -> h.blockStatus64(512, 0, (ctx, off, e, err) -> 0, 0));
            }
        }
    }

    /**
     * libnbd's opt-extended-headers.sh: the order and repetition of the two
     * requests. Left out: with structured replies not requested libnbd does
     * not request extended headers either, where jnbd still does.
     */
    @Test
    void extendedHeadersAndStructuredRepliesInEveryOrder() throws Exception {
        NbdHandle h = prep(true, true);
        long bytesSent = h.statsBytesSent();
        assertTrue(h.getExtendedHeadersNegotiated());
        assertTrue(h.getStructuredRepliesNegotiated());
        assertFalse(h.optExtendedHeaders(), "a repeat is redundant");
        assertFalse(h.optStructuredReply(), "structured replies come with extended headers");
        assertTrue(h.getExtendedHeadersNegotiated());
        assertTrue(h.getStructuredRepliesNegotiated());
        finish(h, true);

        h = prep(true, false);
        assertEquals(bytesSent, h.statsBytesSent(), "one request either way");
        assertFalse(h.getExtendedHeadersNegotiated());
        assertTrue(h.getStructuredRepliesNegotiated());
        finish(h, true);

        h = prep(false, false);
        assertFalse(h.getStructuredRepliesNegotiated());
        assertTrue(h.optStructuredReply());
        assertFalse(h.getExtendedHeadersNegotiated());
        assertTrue(h.getStructuredRepliesNegotiated());
        assertTrue(h.optExtendedHeaders());
        assertTrue(h.getExtendedHeadersNegotiated());
        assertTrue(h.getStructuredRepliesNegotiated());
        finish(h, true);
    }

    /** libnbd's interop-qemu-storage-daemon.sh: a qcow2 export of qemu-storage-daemon over a caller's socket. */
    @Test
    void qemuStorageDaemonOverACallersSocket() throws Exception {
        Path qsdDir = Servers.tempDir();
        Path image = qsdDir.resolve("disk.qcow2");
        Path sock = qsdDir.resolve("qsd.sock");
        MoreServers.qemuImgCreate(image, "qcow2", 10L << 20);
        try (Servers.Running qsd = Servers.start(List.of(Servers.require("qemu-storage-daemon"), "--blockdev",
                "qcow2,file.driver=file,file.filename=" + image + ",node-name=disk0", "--nbd-server",
                "addr.type=unix,addr.path=" + sock, "--export", "nbd,node-name=disk0,id=nbd0,name=,writable=on"),
                null, sock, -1);
             NbdHandle h = new NbdHandle()) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(sock));
            h.connectSocket(ch);
            assertEquals(10L << 20, h.getSize());
            byte[] ones = new byte[512];
            Arrays.fill(ones, (byte) '1');
            h.pwrite(ones, 512);
            byte[] back = new byte[1024];
            h.pread(back, 0);
            byte[] expected = new byte[1024];
            System.arraycopy(ones, 0, expected, 512, 512);
            assertArrayEquals(expected, back);
            h.shutdown();
        } finally {
            MoreServers.deleteTree(qsdDir);
        }
    }
}
