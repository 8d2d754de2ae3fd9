package io.jnbd.interop;

import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * qemu-nbd 7.2, bookworm's own (unpacked to /opt/qemu-7.2 by .ci/install-deps.sh):
 * no extended headers, so structured replies and 32-bit block status carry
 * everything, including dirty bitmaps and allocation depth.
 */
class QemuNbd72Test {
    static final Path QEMU_NBD = Path.of("/opt/qemu-7.2/usr/bin/qemu-nbd");
    static final long MIB = 1 << 20;

    static Path dir;
    static Servers.Running qemu;

    @BeforeAll
    static void start() throws Exception {
        String qemuNbd = Servers.require(QEMU_NBD);
        dir = Servers.tempDir();
        Path image = dir.resolve("img.qcow2");
        MoreServers.qemuImgCreate(image, "qcow2", 16 * MIB);
        MoreServers.qemuIo(image, "qcow2", "write -P 1 0 64k");
        MoreServers.run(List.of(Servers.require("qemu-img"), "bitmap", "--add", image.toString(), "b0"));
        MoreServers.qemuIo(image, "qcow2", "write -P 2 4M 64k");
        Path sock = dir.resolve("q72.sock");
        Path pid = dir.resolve("q72.pid");
        qemu = Servers.start(List.of(qemuNbd, "-t", "-k", sock.toString(), "--pid-file", pid.toString(), "-f",
                "qcow2", "-B", "b0", "-A", image.toString()), pid, sock, -1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (qemu != null) {
            qemu.close();
        }
        if (dir != null) {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void structuredRepliesWithoutExtendedHeaders() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectUnix(qemu.socket.toString());
            assertFalse(h.getExtendedHeadersNegotiated(), "qemu 7.2 predates extended headers");
            assertTrue(h.getStructuredRepliesNegotiated());
            assertEquals(16 * MIB, h.getSize());
            byte[] data = new byte[128 * 1024];
            new Random(72).nextBytes(data);
            h.pwrite(data, 8 * MIB);
            byte[] back = new byte[data.length];
            h.pread(back, 8 * MIB);
            assertArrayEquals(data, back);
            h.flush();
            h.zero(4096, 8 * MIB);
            h.pread(back = new byte[4096], 8 * MIB);
            assertArrayEquals(new byte[4096], back);
        }
    }

    @Test
    void bitmapAndDepthOverCompactBlockStatus() {
        try (NbdHandle h = new NbdHandle()) {
            h.addMetaContext("base:allocation");
            h.addMetaContext("qemu:dirty-bitmap:b0");
            h.addMetaContext("qemu:allocation-depth");
            h.connectUnix(qemu.socket.toString());
            Map<String, List<NbdExtent>> seen = new TreeMap<>();
            h.blockStatus64(16 * MIB, 0, (ctx, off, extents, err) -> {
                seen.put(ctx, List.of(extents));
                return 0;
            });
            assertEquals(3, seen.size(), seen.keySet().toString());
            assertEquals(0, flagsAt(seen.get("qemu:dirty-bitmap:b0"), 0));
            assertEquals(1, flagsAt(seen.get("qemu:dirty-bitmap:b0"), 4 * MIB));
            assertEquals(1, flagsAt(seen.get("qemu:allocation-depth"), 0));
            assertEquals(0, flagsAt(seen.get("qemu:allocation-depth"), 12 * MIB));
        }
    }

    @Test
    void optModeListsAndInfos() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectUnix(qemu.socket.toString());
            assertEquals(1, h.optList((name, description) -> 0));
            h.setFullInfo(true);
            h.optInfo();
            assertEquals(16 * MIB, h.getSize());
            assertTrue(h.getBlockSize(io.jnbd.BlockSize.PREFERRED) > 0);
            h.optGo();
            assertTrue(h.aioIsReady());
        }
    }

    private static long flagsAt(List<NbdExtent> extents, long offset) {
        long at = 0;
        for (NbdExtent e : extents) {
            if (offset < at + e.length()) {
                return e.flags();
            }
            at += e.length();
        }
        throw new AssertionError("no extent covers " + offset);
    }
}
