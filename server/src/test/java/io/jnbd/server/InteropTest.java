package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The server as libnbd 1.22's tools, qemu-img and jnbd's own client see it. */
class InteropTest {
    private Path dir;

    @BeforeEach
    void setUp() throws IOException {
        dir = Servers.tempDir();
    }

    @AfterEach
    void tearDown() throws IOException {
        MoreServers.deleteTree(dir);
    }

    /** Lines with their runs of blanks squeezed to one. */
    static List<String> words(String text) {
        return text.strip().lines().map(l -> l.strip().replaceAll("\\s+", " ")).toList();
    }

    private NbdServer memoryServer(long size) throws IOException {
        return NbdServer.builder().export("", Backend.memory(size)).unixSocket(dir.resolve("s")).start();
    }

    @Test
    void nbdinfoSeesTheExportAndItsHoles() throws Exception {
        Oracle.requireLibnbd();
        try (NbdServer server = memoryServer(64 << 20)) {
            try (NbdHandle h = new NbdHandle()) {
                h.connectUri(server.uri());
                h.pwrite(new byte[100_000], 1 << 20);
                byte[] ones = new byte[4096];
                java.util.Arrays.fill(ones, (byte) 1);
                h.pwrite(ones, 1 << 20);
            }
            Oracle.Result info = Oracle.libnbd("nbdinfo", "--json", server.uri());
            assertEquals(0, info.status(), info.stderr());
            String json = info.out();
            assertTrue(json.contains("\"protocol\": \"newstyle-fixed\""), json);
            assertTrue(json.contains("\"export-size\": 67108864"), json);
            assertTrue(json.contains("\"can_multi_conn\": true"), json);
            assertTrue(json.contains("\"can_trim\": true"), json);
            assertTrue(json.contains("\"can_fast_zero\": true"), json);
            assertTrue(json.contains("\"base:allocation\""), json);
            assertTrue(json.contains("\"block_size_maximum\": 33554432"), json);
            assertTrue(json.contains("\"extended_headers\": true") || !json.contains("extended_headers"), json);

            Oracle.Result map = Oracle.libnbd("nbdinfo", "--map", server.uri());
            assertEquals(0, map.status(), map.stderr());
            // 100000 bytes at 1 MiB touch two 64 KiB pages.
            assertEquals(List.of("0 1048576 3 hole,zero", "1048576 131072 0 data", "1179648 65929216 3 hole,zero"),
                    words(map.out()));
        }
    }
    @Test
    void nbdcopyRoundTripOverSeveralConnections() throws Exception {
        Oracle.requireLibnbd();
        byte[] data = new byte[12 << 20];
        new Random(7).nextBytes(data);
        Path in = dir.resolve("in");
        Path out = dir.resolve("out");
        Files.write(in, data);
        try (NbdServer server = memoryServer(data.length)) {
            Oracle.Result w = Oracle.libnbd("nbdcopy", "--connections=4", in.toString(), server.uri());
            assertEquals(0, w.status(), w.stderr());
            Oracle.Result r = Oracle.libnbd("nbdcopy", server.uri(), out.toString());
            assertEquals(0, r.status(), r.stderr());
        }
        assertArrayEquals(data, Files.readAllBytes(out));
    }

    @Test
    void libnbdNegotiatesExtendedHeadersAndSeesThePattern() throws Exception {
        Oracle.requireLibnbd();
        try (NbdServer server = NbdServer.builder().export("", Backend.pattern(1 << 20))
                .unixSocket(dir.resolve("s")).start()) {
            Oracle.Result r = Oracle.libnbd("nbdsh", "-u", server.uri(), "-c", """
                    assert h.get_extended_headers_negotiated()
                    assert h.is_read_only()
                    buf = h.pread(16, 4092)
                    print(buf.hex())
                    """);
            assertEquals(0, r.status(), r.stderr());
            // Bytes 4092..4107: the tail of word 4088 (0x0ff8), then word 4096 (0x1000), then the head of 4104.
            assertEquals("00000ff8" + "0000000000001000" + "00000000", r.out().strip());
        }
    }

    @Test
    void qemuImgConvertsToAndFromTheServer() throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(8).nextBytes(data);
        java.util.Arrays.fill(data, 1 << 20, 2 << 20, (byte) 0);
        Path in = dir.resolve("in.raw");
        Path out = dir.resolve("out.raw");
        Files.write(in, data);
        try (NbdServer server = memoryServer(data.length)) {
            Oracle.Result w = Oracle.host("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", in.toString(),
                    server.uri());
            assertEquals(0, w.status(), w.stderr());
            Oracle.Result info = Oracle.host("qemu-img", "info", "--output=json", server.uri());
            assertEquals(0, info.status(), info.stderr());
            assertTrue(info.out().contains("\"virtual-size\": " + data.length), info.out());
            Oracle.Result r = Oracle.host("qemu-img", "convert", "-f", "raw", "-O", "raw", server.uri(),
                    out.toString());
            assertEquals(0, r.status(), r.stderr());
        }
        assertArrayEquals(data, Files.readAllBytes(out));
    }

    @Test
    void jnbdClientWithEachReplyStyle() throws Exception {
        try (NbdServer server = memoryServer(4 << 20)) {
            for (int style = 0; style < 3; style++) {
                try (NbdHandle h = new NbdHandle()) {
                    h.setRequestExtendedHeaders(style == 2);
                    h.setRequestStructuredReplies(style >= 1);
                    h.addMetaContext("base:allocation");
                    h.connectUri(server.uri());
                    assertEquals(style == 2, h.getExtendedHeadersNegotiated());
                    byte[] block = new byte[70_000];
                    new Random(style).nextBytes(block);
                    h.pwrite(block, 100_000 * style);
                    byte[] back = new byte[block.length];
                    h.pread(back, 100_000 * style);
                    assertArrayEquals(block, back);
                    h.zero(block.length, 100_000 * style);
                    h.pread(back, 100_000 * style);
                    assertArrayEquals(new byte[block.length], back);
                    h.flush();
                    NbdException e = assertThrows(NbdException.class, () -> h.pread(new byte[512], 4 << 20));
                    assertEquals(22, e.getErrno());
                    if (style >= 1) {
                        java.util.List<Long> seen = new java.util.ArrayList<>();
                        h.blockStatus64(4 << 20, 0, (ctx, off, entries, err) -> {
                            for (var x : entries) {
                                seen.add(x.length());
                                seen.add(x.flags());
                            }
                            return 0;
                        });
                        assertEquals(List.of(4L << 20, 3L), seen);
                    }
                }
            }
        }
    }

    @Test
    void qemuImgInfoAndNbdinfoOverTcp() throws Exception {
        Oracle.requireLibnbd();
        try (NbdServer server = NbdServer.builder().export("disk", Backend.nullDevice(5 << 20)).start()) {
            assertTrue(server.uri().startsWith("nbd://127.0.0.1:" + server.port() + "/disk"), server.uri());
            Oracle.Result info = Oracle.host("qemu-img", "info", "--output=json", server.uri());
            assertEquals(0, info.status(), info.stderr());
            assertTrue(info.out().contains("\"virtual-size\": " + (5 << 20)), info.out());
            Oracle.Result size = Oracle.libnbd("nbdinfo", "--size", server.uri());
            assertEquals(0, size.status(), size.stderr());
            assertEquals(String.valueOf(5 << 20), size.out().strip());
        }
    }
}
