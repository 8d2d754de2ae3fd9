package io.jnbd.interop;

import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Strict;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each strictness flag both ways: set, the bad request fails with nothing
 * sent (the statistics do not move); cleared, it goes to the server and the
 * server's answer comes back.
 */
class StrictModeTest {

    private static NbdHandle nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        NbdHandle h = new NbdHandle();
        h.connectCommand(cmd);
        return h;
    }

    /** {@code call} fails locally with {@code errno}: not one byte leaves. */
    private static void refusedLocally(NbdHandle h, int errno, Executable call) {
        long sent = h.statsBytesSent();
        NbdException e = assertThrows(NbdException.class, call);
        assertEquals(errno, e.getErrno(), e.getMessage());
        assertEquals(sent, h.statsBytesSent(), "nothing was sent for: " + e.getMessage());
    }

    /** {@code call} reaches the server, which refuses it with {@code errno}; the handle carries on. */
    private static void refusedByServer(NbdHandle h, int errno, Executable call) {
        long sent = h.statsBytesSent();
        NbdException e = assertThrows(NbdException.class, call);
        assertEquals(errno, e.getErrno(), e.getMessage());
        assertTrue(h.statsBytesSent() > sent, "the request went out: " + e.getMessage());
        assertTrue(h.aioIsReady());
    }

    @Test
    void commands() {
        try (NbdHandle h = nbdkit("-r", "memory", "1M")) {
            refusedLocally(h, 1, () -> h.pwrite(new byte[512], 0));
            h.setStrictMode(h.getStrictMode() & ~Strict.COMMANDS);
            refusedByServer(h, 1, () -> h.pwrite(new byte[512], 0));
        }
    }

    @Test
    void flags() {
        try (NbdHandle h = nbdkit("memory", "1M")) {
            // FUA is not a read's flag; bit 15 is no flag at all.
            refusedLocally(h, 22, () -> h.pread(new byte[512], 0, CmdFlag.FUA));
            refusedLocally(h, 22, () -> h.flush(0x8000));
            refusedLocally(h, 22, () -> h.flush(0x10000));
            h.setStrictMode(h.getStrictMode() & ~Strict.FLAGS);
            refusedByServer(h, 22, () -> h.flush(0x8000));
            // Beyond 16 bits the protocol cannot carry it: always refused here.
            refusedLocally(h, 22, () -> h.flush(0x10000));
        }
    }

    @Test
    void bounds() {
        try (NbdHandle h = nbdkit("memory", "1M")) {
            refusedLocally(h, 28, () -> h.pwrite(new byte[1024], (1 << 20) - 512));
            h.setStrictMode(h.getStrictMode() & ~Strict.BOUNDS);
            refusedByServer(h, 28, () -> h.pwrite(new byte[1024], (1 << 20) - 512));
        }
    }

    @Test
    void zeroSize() {
        try (NbdHandle h = nbdkit("memory", "1M")) {
            refusedLocally(h, 22, () -> h.trim(0, 0));
            refusedLocally(h, 22, () -> h.pread(new byte[0], 0));
            h.setStrictMode(h.getStrictMode() & ~Strict.ZERO_SIZE);
            refusedByServer(h, 22, () -> h.trim(0, 0));
            refusedByServer(h, 22, () -> h.pread(new byte[0], 0));
        }
    }

    @Test
    void align() {
        try (NbdHandle h = nbdkit("--filter=blocksize-policy", "memory", "1M", "blocksize-minimum=4096",
                "blocksize-error-policy=error")) {
            assertEquals(4096, h.getBlockSize(io.jnbd.BlockSize.MINIMUM));
            refusedLocally(h, 22, () -> h.pread(new byte[512], 0));
            h.setStrictMode(h.getStrictMode() & ~Strict.ALIGN);
            refusedByServer(h, 22, () -> h.pread(new byte[512], 0));
        }
    }

    @Test
    void payload() {
        try (NbdHandle h = nbdkit("--filter=blocksize-policy", "memory", "128M", "blocksize-maximum=1M",
                "blocksize-error-policy=error")) {
            assertEquals(1 << 20, h.getBlockSize(io.jnbd.BlockSize.PAYLOAD));
            refusedLocally(h, 34, () -> h.pwrite(new byte[2 << 20], 0));
            h.setStrictMode(h.getStrictMode() & ~Strict.PAYLOAD);
            refusedByServer(h, 22, () -> h.pwrite(new byte[2 << 20], 0));
            // Past libnbd's 64 MiB limit nothing is ever sent.
            refusedLocally(h, 34, () -> h.pwrite(new byte[(64 << 20) + 512], 0));
        }
    }

    /** libnbd's pwrite-extended.c: PAYLOAD_LEN is refused on a read, allowed on a write, without extended headers. */
    @Test
    void payloadLenIsAWriteFlag() {
        try (NbdHandle h = nbdkit("memory", "1M")) {
            assertTrue((h.getStrictMode() & Strict.FLAGS) != 0);
            refusedLocally(h, 22, () -> h.pread(new byte[512], 0, CmdFlag.PAYLOAD_LEN));
            byte[] data = {1, 2, 3};
            h.pwrite(data, 0, CmdFlag.PAYLOAD_LEN);
            h.pwrite(data, 512, 0);
            byte[] back = new byte[3];
            h.pread(back, 0);
            assertEquals(data[2], back[2]);
        }
    }

    @Test
    void autoFlagManagesPayloadLenWithExtendedHeaders() throws Exception {
        Path dir = Servers.tempDir();
        Path image = dir.resolve("img");
        MoreServers.qemuImgCreate(image, "raw", 1 << 20);
        try (Servers.Running qemu = MoreServers.qemuNbdUnix(dir, "raw", image); NbdHandle h = new NbdHandle()) {
            h.connectUnix(qemu.socket.toString());
            assertTrue(h.getExtendedHeadersNegotiated());
            // With AUTO_FLAG, PAYLOAD_LEN is set for the caller.
            h.pwrite(new byte[512], 0);
            h.setStrictMode(h.getStrictMode() & ~Strict.AUTO_FLAG);
            refusedLocally(h, 22, () -> h.pwrite(new byte[512], 0));
            h.pwrite(new byte[512], 0, CmdFlag.PAYLOAD_LEN);
        } finally {
            MoreServers.deleteTree(dir);
        }
    }
}
