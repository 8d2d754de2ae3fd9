package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.tools.testing.Libnbd122;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Local files, streams and null:, after libnbd's copy-file-to-file, copy-*-to-null and copy-progress-bar tests. */
class CopyLocalTest extends CopyFixture {

    @Test
    void fileToFileKeepsContentsAndHoles() throws Exception {
        Path src = sparseFile(dir.resolve("file"), 1);
        Path dst = dir.resolve("file2");
        succeeded(copy(src, dst));
        assertEquals(Files.size(src), Files.size(dst));
        assertEquals(-1, Files.mismatch(src, dst));
        // 100 data blocks at most 4 KiB each on disk, written from SEEK_DATA's extents.
        assertTrue(allocated(dst) <= allocated(src), allocated(dst) + " > " + allocated(src));
    }

    @Test
    void existingLargerFileIsCutToSourceSize() throws Exception {
        Path src = dir.resolve("small");
        Files.write(src, "hello".getBytes());
        Path dst = dir.resolve("large");
        Files.write(dst, new byte[100_000]);
        succeeded(copy("--flush", src, dst));
        assertEquals("hello", Files.readString(dst));
    }

    @Test
    void fileToNullCreatesNoFile() throws Exception {
        Path src = sparseFile(dir.resolve("file"), 2);
        Path cwdNull = Path.of("null:");
        succeeded(copy(src, "null:"));
        assertFalse(Files.exists(cwdNull));
    }

    @Test
    void stdinToNullAndToStdout() {
        byte[] data = new byte[10 << 20];
        new Random(3).nextBytes(data);
        succeeded(copyWithInput(data, "-", "null:"));
        Libnbd122.Result r = succeeded(copyWithInput(data, "-", "-"));
        assertArrayEquals(data, r.stdout());
    }

    @Test
    void stdinToFileWritesWhatCame() throws Exception {
        // nbdcopy 1.22 fails here ("truncate: Invalid argument"); jnbd writes the stream.
        byte[] data = new byte[300_000];
        new Random(4).nextBytes(data);
        Path dst = dir.resolve("out");
        succeeded(copyWithInput(data, "-", dst));
        assertArrayEquals(data, Files.readAllBytes(dst));
    }

    @Test
    void fileToStdout() throws Exception {
        Path src = sparseFile(dir.resolve("file"), 5);
        Libnbd122.Result r = succeeded(copy(src, "-"));
        assertArrayEquals(Files.readAllBytes(src), r.stdout());
    }

    @Test
    void emptyCharacterDeviceToNullWithProgress() {
        Libnbd122.Result r = succeeded(copy("-p", "/dev/null", "null:"));
        assertTrue(r.stderr().endsWith("█ 100% [****************************************]\n"), r.stderr());
    }

    @Test
    void progressBarOnStandardError() throws Exception {
        Path src = dir.resolve("file");
        byte[] data = new byte[512];
        new Random(6).nextBytes(data);
        Files.write(src, data);
        Libnbd122.Result r = succeeded(copy("--progress", src, dir.resolve("file2")));
        assertTrue(r.stderr().contains("  0% [----------------------------------------]\r"), r.stderr());
        assertTrue(r.stderr().endsWith("█ 100% [****************************************]\n"), r.stderr());
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("file2")));
    }

    @Test
    void machineReadableProgressToDescriptor() throws Exception {
        Path src = sparseFile(dir.resolve("file"), 7);
        Path progress = Files.createFile(dir.resolve("progress"));
        int fd = Native.open(progress.toString(), Native.O_RDWR);
        assertTrue(fd >= 0, "open: " + fd);
        Libnbd122.Result r;
        try {
            r = copy("--progress=" + fd, src, dir.resolve("file2"));
        } finally {
            Native.close(fd);
        }
        succeeded(r);
        assertEquals("", r.stderr());
        String lines = Files.readString(progress);
        assertTrue(lines.startsWith("0/100\n"), lines);
        assertTrue(lines.endsWith("100/100\n"), lines);
        assertTrue(lines.matches("(\\d+/100\n)+"), lines);
    }

    @Test
    void synchronousFileCopyMatches() throws Exception {
        Path src = sparseFile(dir.resolve("file"), 8);
        Path dst = dir.resolve("file2");
        succeeded(copy("--synchronous", "--request-size=64K", src, dst));
        assertEquals(-1, Files.mismatch(src, dst));
    }
}
