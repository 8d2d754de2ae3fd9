package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Libnbd122;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Block devices, on loop devices rather than libnbd's /dev/nbd0 (copy-block-to-nbd,
 * copy-nbd-to-block, copy-nbd-to-small-block-error). Needs root to attach
 * loop devices; skipped without.
 */
class CopyBlockDeviceTest extends CopyFixture {

    /** A loop device over a file of {@code size} bytes filled from {@code contents}; detached by close(). */
    private final class Loop implements AutoCloseable {
        final Path backing;
        final String device;

        Loop(String name, byte[] contents) throws IOException, InterruptedException {
            backing = Files.write(dir.resolve(name), contents);
            String losetup = Servers.require("losetup");
            Process p = new ProcessBuilder(losetup, "-f", "--show", backing.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            p.waitFor(10, TimeUnit.SECONDS);
            Assumptions.assumeTrue(p.exitValue() == 0 && out.startsWith("/dev/"),
                    "cannot attach a loop device (needs root)");
            device = out;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            MoreServers.run(List.of(Servers.require("losetup"), "-d", device));
        }
    }

    @Test
    void nbdToBlockDeviceStaysADevice() throws Exception {
        try (Loop loop = new Loop("disk", new byte[5 << 20])) {
            Libnbd122.Result r = succeeded(copy("-v", "--", nbdkit("pattern", "size=5M"), loop.device));
            assertTrue(r.stderr().contains("dst: file_ops \"" + loop.device + "\""), r.stderr());
            assertTrue(r.stderr().contains("dst: size=5242880 (5M)"), r.stderr());
            assertTrue(!Files.isRegularFile(Path.of(loop.device)) && Files.exists(Path.of(loop.device)));
            succeeded(copy("--flush", loop.device, dir.resolve("back")));
            assertArrayEquals(CopyNbdTest.pattern(5 << 20), Files.readAllBytes(dir.resolve("back")));
        }
    }

    @Test
    void blockDeviceToNbd() throws Exception {
        byte[] data = new byte[5 << 20];
        new Random(9).nextBytes(data);
        try (Loop loop = new Loop("disk", data); var dst = nbdkitServer("b", "memory", "size=5M")) {
            succeeded(copy(loop.device, dst.unixUri("")));
            assertEquals(sha256(data), oracleSha256(dst.unixUri("")));
        }
    }

    @Test
    void zeroesReachTheDevice() throws Exception {
        byte[] data = new byte[4 << 20];
        new Random(10).nextBytes(data);
        try (Loop loop = new Loop("disk", data)) {
            // The null plugin is all hole: nothing is read, the whole device is zeroed.
            succeeded(copy("--", nbdkit("null", "4M"), loop.device));
            succeeded(copy(loop.device, dir.resolve("back")));
            assertArrayEquals(new byte[4 << 20], Files.readAllBytes(dir.resolve("back")));
        }
    }

    @Test
    void smallerDeviceFails() throws Exception {
        try (Loop loop = new Loop("disk", new byte[5 << 20])) {
            Libnbd122.Result r = copy("--", nbdkit("pattern", "size=10M"), loop.device);
            assertEquals(1, r.status());
            assertEquals("jnbd copy: error: destination size (5242880) is smaller than source size (10485760)\n",
                    r.stderr());
        }
    }
}
