package io.jnbd.interop;

import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * connectSystemdSocketActivation: the server inherits a listening socket as fd 3
 * with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, and dies with the handle.
 */
class SocketActivationTest {
    static final long SIZE = 8L << 20;
    static Path dir;

    @BeforeAll
    static void makeDir() throws IOException {
        dir = Servers.tempDir();
    }

    @AfterAll
    static void removeImages() throws IOException {
        MoreServers.deleteTree(dir);
    }

    /** The child's environment, as the kernel holds it. */
    static Map<String, String> environ(long pid) throws IOException {
        Map<String, String> env = new HashMap<>();
        String raw = Files.readString(Path.of("/proc/" + pid + "/environ"), StandardCharsets.UTF_8);
        for (String entry : raw.split("\0")) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        return env;
    }

    /** Writes at two offsets and reads both back; returns what was written at {@code offset}. */
    static byte[] roundTrip(NbdHandle h, long offset) {
        byte[] data = new byte[128 * 1024];
        new Random(offset).nextBytes(data);
        h.pwrite(data, offset);
        h.pwrite(data, h.getSize() - data.length);
        h.flush();
        byte[] back = new byte[data.length];
        h.pread(back, offset);
        assertArrayEquals(data, back);
        h.pread(back, h.getSize() - data.length);
        assertArrayEquals(data, back);
        return data;
    }

    static void assertGone(long pid) {
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "close() ended and reaped server " + pid);
    }

    @Test
    void nbdkitSeesTheSystemdEnvironment() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.connectSystemdSocketActivation(List.of(Servers.require("nbdkit"), "memory", Long.toString(SIZE)));
            pid = h.getSubprocessPid();
            assertEquals(SIZE, h.getSize());
            roundTrip(h, 4096);
            Map<String, String> env = environ(pid);
            assertEquals(Long.toString(pid), env.get("LISTEN_PID"), "LISTEN_PID is the server's own pid");
            assertEquals("1", env.get("LISTEN_FDS"));
            assertEquals("unknown", env.get("LISTEN_FDNAMES"), "libnbd's name when none is set");
            String fd3 = Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/3")).toString();
            assertTrue(fd3.startsWith("socket:"), fd3);
        }
        assertGone(pid);
    }

    @Test
    void socketActivationNameReachesTheServer() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.setSocketActivationName("jnbdsock");
            assertEquals("jnbdsock", h.getSocketActivationName());
            h.connectSystemdSocketActivation(List.of(Servers.require("nbdkit"), "memory", "1M"));
            pid = h.getSubprocessPid();
            assertEquals("jnbdsock", environ(pid).get("LISTEN_FDNAMES"));
            assertEquals(1L << 20, h.getSize());
        }
        assertGone(pid);
    }

    @Test
    void aioConnectWithAPollLoop() throws Exception {
        long pid;
        try (NbdHandle h = new NbdHandle()) {
            h.aioConnectSystemdSocketActivation(List.of(Servers.require("nbdkit"), "memory", "1M"));
            while (!h.aioIsReady()) {
                assertFalse(h.aioIsDead(), h.connectionState());
                h.poll(-1);
            }
            pid = h.getSubprocessPid();
            roundTrip(h, 0);
        }
        assertGone(pid);
    }

    @Test
    void qemuNbdOnARawFile() throws Exception {
        Path raw = dir.resolve("disk.raw");
        try (var f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        long pid;
        byte[] written;
        try (NbdHandle h = new NbdHandle()) {
            h.connectSystemdSocketActivation(List.of(Servers.require("qemu-nbd"), "-f", "raw", raw.toString()));
            pid = h.getSubprocessPid();
            assertEquals(SIZE, h.getSize());
            written = roundTrip(h, 1L << 20);
        }
        assertGone(pid);
        // The server wrote through to the file.
        byte[] onDisk = Files.readAllBytes(raw);
        assertArrayEquals(written, Arrays.copyOfRange(onDisk, 1 << 20, (1 << 20) + written.length));
    }

    @Test
    void qemuNbdOnAQcow2ImageWithANameSet() throws Exception {
        Path qcow2 = dir.resolve("disk.qcow2");
        MoreServers.qemuImgCreate(qcow2, "qcow2", SIZE);
        long pid;
        byte[] written;
        try (NbdHandle h = new NbdHandle()) {
            // qemu-nbd ignores LISTEN_FDNAMES; a name must not stop it from starting.
            h.setSocketActivationName("qcow");
            h.connectSystemdSocketActivation(List.of(Servers.require("qemu-nbd"), "-f", "qcow2", qcow2.toString()));
            pid = h.getSubprocessPid();
            assertEquals(SIZE, h.getSize());
            written = roundTrip(h, 3L << 20);
            assertTrue(h.getStructuredRepliesNegotiated());
        }
        assertGone(pid);
        // Read back by another server: what jnbd wrote reached the image.
        try (NbdHandle h = new NbdHandle()) {
            h.connectSystemdSocketActivation(List.of(Servers.require("qemu-nbd"), "-r", "-f", "qcow2",
                    qcow2.toString()));
            assertTrue(h.isReadOnly());
            byte[] back = new byte[written.length];
            h.pread(back, 3L << 20);
            assertArrayEquals(written, back);
        }
    }

    /** libnbd's list-exports-qemu-nbd: qemu-nbd -x NAME -D DESCRIPTION, socket-activated, listed in opt mode. */
    @Test
    void qemuNbdListsItsExportWithTheDescription() throws Exception {
        Path raw = dir.resolve("listed.raw");
        try (var f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(1024);
        }
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectSystemdSocketActivation(List.of(Servers.require("qemu-nbd"), "-f", "raw", "-x", "testing", "-D",
                    "data", raw.toString()));
            Map<String, String> listed = new HashMap<>();
            assertEquals(1, h.optList((name, description) -> {
                listed.put(name, description);
                return 0;
            }));
            assertEquals(Map.of("testing", "data"), listed);
            h.optAbort();
        }
    }
}
