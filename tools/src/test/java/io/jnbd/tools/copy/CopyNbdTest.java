package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Pki;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Copies to and from NBD servers, after libnbd's copy-nbd-to-*, copy-*-to-nbd, copy-tls and test-verbose tests. */
class CopyNbdTest extends CopyFixture {

    /** What nbdkit's pattern plugin serves: each 8-byte word holds its own offset, big-endian. */
    static byte[] pattern(int size) {
        ByteBuffer b = ByteBuffer.allocate(size);
        for (long o = 0; o + 8 <= size; o += 8) {
            b.putLong(o);
        }
        return b.array();
    }

    @Test
    void nbdToNbdThenBothReadBackByLibnbd() throws Exception {
        try (var src = nbdkitServer("a", "pattern", "size=10M"); var dst = nbdkitServer("b", "memory", "size=10M")) {
            succeeded(copy(src.unixUri(""), dst.unixUri("")));
            assertEquals(sha256(pattern(10 << 20)), oracleSha256(dst.unixUri("")));
        }
    }

    @Test
    void nbdToNull() throws Exception {
        try (var src = nbdkitServer("a", "pattern", "size=10M")) {
            Libnbd122.Result r = succeeded(copy("--progress", src.unixUri(""), "null:"));
            assertTrue(r.stderr().endsWith("100% [****************************************]\n"), r.stderr());
        }
    }

    @Test
    void nbdToSparseFile() throws Exception {
        Path file = dir.resolve("file");
        succeeded(copy("--", nbdkit("data", "data=0x55 0xAA @268435454 0xAA 0x55"), file));
        assertEquals(256L << 20, Files.size(file));
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer head = ByteBuffer.allocate(16);
            ch.read(head, 0);
            assertArrayEquals(new byte[] {0x55, (byte) 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, head.array());
            ByteBuffer tail = ByteBuffer.allocate(4);
            ch.read(tail, (256L << 20) - 4);
            assertArrayEquals(new byte[] {0, 0, (byte) 0xaa, 0x55}, tail.array());
        }
        // Two blocks of data; the zeroes between are a hole, neither read nor written.
        assertTrue(allocated(file) <= 1 << 20, "allocated " + allocated(file));
    }

    @Test
    void nbdToStdout() {
        byte[] out = succeeded(copy("--", nbdkit("pattern", "size=10M"), "-")).stdout();
        assertArrayEquals(pattern(10 << 20), out);
    }

    @Test
    void nbdToStdoutWithZeroExtentsWritesZeroes() {
        byte[] out = succeeded(copy("--", nbdkit("data", "data=( \"Hello\" )*2000", "size=8192"), "-")).stdout();
        byte[] expected = new byte[8192];
        byte[] hello = "Hello".repeat(2000).getBytes();
        System.arraycopy(hello, 0, expected, 0, 8192);
        assertArrayEquals(expected, out);
        byte[] sparse = succeeded(copy("--", nbdkit("data", "data=1 @1048575 2", "size=2M"), "-")).stdout();
        byte[] sparseExpected = new byte[2 << 20];
        sparseExpected[0] = 1;
        sparseExpected[1048575] = 2;
        assertArrayEquals(sparseExpected, sparse);
    }

    @Test
    void stdinToNbd() throws Exception {
        byte[] data = new byte[10 << 20];
        new Random(1).nextBytes(data);
        try (var dst = nbdkitServer("b", "memory", "size=10M")) {
            succeeded(copyWithInput(data, "-", dst.unixUri("")));
            assertEquals(sha256(data), oracleSha256(dst.unixUri("")));
        }
        succeeded(copyWithInput(new byte[10 << 20], "--", "-", nbdkit("memory", "size=10M")));
    }

    @Test
    void emptyDeviceToNbd() throws Exception {
        try (var dst = nbdkitServer("b", "memory", "size=10M")) {
            Libnbd122.Result r = succeeded(copy("-p", "/dev/null", dst.unixUri("")));
            assertTrue(r.stderr().endsWith("100% [****************************************]\n"), r.stderr());
        }
    }

    @Test
    void fileToNbdAndBack() throws Exception {
        Path file = sparseFile(dir.resolve("file"), 2);
        try (var dst = nbdkitServer("b", "memory", "size=" + Files.size(file))) {
            succeeded(copy(file, dst.unixUri("")));
            Path file2 = dir.resolve("file2");
            succeeded(copy(dst.unixUri(""), file2));
            assertEquals(-1, Files.mismatch(file, file2));
            assertEquals(sha256(file), oracleSha256(dst.unixUri("")));
        }
    }

    @Test
    void nbdFilePluginToSparseFileWithSmallSparseBlocks() throws Exception {
        Path file = sparseFile(dir.resolve("file"), 3);
        Path file2 = dir.resolve("file2");
        succeeded(copy("-S", "512", "--", nbdkit("file", file.toString()), file2));
        assertEquals(-1, Files.mismatch(file, file2));
        assertTrue(allocated(file2) <= allocated(file), allocated(file2) + " > " + allocated(file));
    }

    @Test
    void destinationSmallerThanSourceFails() throws Exception {
        try (var src = nbdkitServer("a", "pattern", "size=10M"); var dst = nbdkitServer("b", "memory", "size=1M")) {
            Libnbd122.Result r = copy(src.unixUri(""), dst.unixUri(""));
            assertEquals(1, r.status());
            assertEquals("jnbd copy: error: destination size (1048576) is smaller than source size (10485760)\n",
                    r.stderr());
        }
    }

    @Test
    void readOnlyDestinationFails() {
        Libnbd122.Result r = copy("--", nbdkit("pattern", "1M"), nbdkit("-r", "memory", "1M"));
        assertEquals(1, r.status());
        assertTrue(r.stderr().endsWith(": the destination is read-only, cannot write to it\n"), r.stderr());
    }

    @Test
    void verboseDescribesBothSides() {
        Libnbd122.Result r = succeeded(copy("-v", "--", nbdkit("memory", "size=1M"), "null:"));
        List<String> lines = r.stderr().lines().toList();
        assertTrue(lines.contains("jnbd copy: src: nbd_ops \"" + Servers.require("nbdkit") + "\""), r.stderr());
        assertTrue(lines.contains("jnbd copy: src: size=1048576 (1M), preferred block size=4096"), r.stderr());
        assertTrue(lines.contains("jnbd copy: dst: null_ops \"null:\""), r.stderr());
        assertTrue(lines.contains("jnbd copy: connections=1 requests=64 threads=1 synchronous=false"), r.stderr());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("libnbd: debug: src0: ")), r.stderr());
    }

    @Test
    void multiConnSpreadsWorkOverConnections() throws Exception {
        Path log = dir.resolve("dst.log");
        // Four 128 MiB work ranges, one for each thread and its connections; data in each.
        try (var src = nbdkitServer("a", "data", "data=1 @134217728 2 @268435456 3 @536870911 4", "size=512M");
                var dst = nbdkitServer("b", "--filter=log", "memory", "size=512M", "logfile=" + log)) {
            Libnbd122.Result r = succeeded(copy("-v", "-C", "4", "-T", "4", src.unixUri(""), dst.unixUri("")));
            assertTrue(r.stderr().contains("connections=4 requests=64 threads=4"), r.stderr());
            // Read before the oracle connects too. Which threads get which ranges is a race: more than one write.
            List<String> lines = Files.readAllLines(log);
            assertEquals(4, lines.stream().filter(l -> l.matches(".* connection=\\d+ Connect .*")).count());
            long writers = lines.stream().filter(l -> l.contains(" Write id="))
                    .map(l -> l.replaceAll(".*connection=(\\d+) .*", "$1")).distinct().count();
            assertTrue(writers > 1, "writes on " + writers + " connection(s)");
            Path expected = dir.resolve("expected");
            Path actual = dir.resolve("actual");
            oracleCopy(src.unixUri(""), expected.toString());
            oracleCopy(dst.unixUri(""), actual.toString());
            assertEquals(-1, Files.mismatch(expected, actual));
        }
    }

    @Test
    void subprocessServersUseOneConnection() {
        Libnbd122.Result r = succeeded(copy("-v", "-C", "4", "-T", "4", "--", nbdkit("pattern", "1M"), "null:"));
        assertTrue(r.stderr().contains("connections=1 requests=64 threads=1"), r.stderr());
    }

    @Test
    void sparseRandomCopiedOntoItselfChecksEveryWrite() throws Exception {
        // The plugin fails any write whose data differs from what it serves there.
        try (var srv = nbdkitServer("a", "sparse-random", "1G", "seed=4321")) {
            succeeded(copy(srv.unixUri(""), srv.unixUri("")));
            succeeded(copy("--allocated", "-T", "2", srv.unixUri(""), srv.unixUri("")));
        }
    }

    @Test
    void tlsPskOnBothSides() throws Exception {
        String psktool = Servers.require("psktool");
        Path psk = dir.resolve("keys.psk");
        MoreServers.run(List.of(psktool, "-u", "alice", "-p", psk.toString()));
        String tls = "--tls=require";
        String keys = "--tls-psk=" + psk;
        try (var src = nbdkitServer("a", tls, keys, "pattern", "size=10M");
                var dst = nbdkitServer("b", tls, keys, "memory", "size=10M")) {
            String query = "&tls-psk-file=" + psk;
            String srcUri = "nbds+unix://alice@/?socket=" + src.socket + query;
            String dstUri = "nbds+unix://alice@/?socket=" + dst.socket + query;
            succeeded(copy(srcUri, dstUri));
            Path file = dir.resolve("file");
            succeeded(copy(dstUri, file));
            assertArrayEquals(pattern(10 << 20), Files.readAllBytes(file));
        }
    }

    @Test
    void tlsX509OnBothSidesReadBackByLibnbd() throws Exception {
        Libnbd122.require();
        try (Pki pki = Pki.create();
                var src = nbdkitServer("a", "--tls=require", "--tls-certificates=" + pki.server, "pattern", "size=10M");
                var dst = nbdkitServer("b", "--tls=require", "--tls-certificates=" + pki.server, "memory", "size=10M")) {
            String query = "&tls-certificates=" + pki.clientCaOnly;
            String dstUri = "nbds+unix:///?socket=" + dst.socket + query;
            succeeded(copy("nbds+unix:///?socket=" + src.socket + query, dstUri));
            // libnbd's nbdcopy, with the same credentials, reads back what jnbd wrote.
            Libnbd122.Result back = Libnbd122.run("nbdcopy", dstUri, "-");
            assertEquals(0, back.status(), back::stderr);
            assertEquals(sha256(pattern(10 << 20)), sha256(back.stdout()));
            // A CA that did not sign the server's certificate: refused, nothing copied.
            Path file = dir.resolve("file");
            Libnbd122.Result refused = copy("nbds+unix:///?socket=" + src.socket + "&tls-certificates="
                    + pki.clientOtherCa, file);
            assertEquals(1, refused.status());
            assertTrue(refused.stderr().contains("not signed by a trusted CA"), refused.stderr());
            assertFalse(Files.exists(file) && Files.size(file) > 0, "a refused copy wrote data");
        }
    }

    @Test
    void fileToQcow2AndBack() throws Exception {
        Path file = sparseFile(dir.resolve("file"), 4);
        long size = Files.size(file);
        Path qcow2 = dir.resolve("disk.qcow2");
        MoreServers.qemuImgCreate(qcow2, "qcow2", size);
        try (var qemu = MoreServers.qemuNbdUnix(dir, "qcow2", qcow2)) {
            String uri = "nbd+unix:///?socket=" + qemu.socket;
            succeeded(copy(file, uri));
            Path file2 = dir.resolve("file2");
            succeeded(copy(uri, file2));
            // qcow2 rounds its size up to whole sectors.
            try (FileChannel ch = FileChannel.open(file2, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(size);
            }
            assertEquals(-1, Files.mismatch(file, file2));
        }
    }

    @Test
    void compressedQcow2GetsWholeClusters() throws Exception {
        String qemuNbd = Servers.require("qemu-nbd");
        Path compressed = dir.resolve("c.qcow2");
        Path plain = dir.resolve("p.qcow2");
        MoreServers.qemuImgCreate(compressed, "qcow2", 256 << 20);
        MoreServers.qemuImgCreate(plain, "qcow2", 256 << 20);
        List<String> source = nbdkit("sparse-random", "256M", "seed=5", "runlength=1048576");
        succeeded(copy("--", source, List.of("[", qemuNbd, "--image-opts",
                "driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=" + compressed, "]")));
        succeeded(copy("--", source, List.of("[", qemuNbd, "-f", "qcow2", plain.toString(), "]")));
        String qemuImg = Servers.require("qemu-img");
        String c = MoreServers.run(List.of("env", "LC_ALL=C", qemuImg, "check", compressed.toString()));
        String p = MoreServers.run(List.of("env", "LC_ALL=C", qemuImg, "check", plain.toString()));
        assertFalse(c.contains(" 0.00% compressed clusters"), c);
        assertTrue(p.contains(" 0.00% compressed clusters"), p);
        MoreServers.run(List.of(qemuImg, "compare", "-f", "qcow2", compressed.toString(), "-F", "qcow2",
                plain.toString()));
    }
}
