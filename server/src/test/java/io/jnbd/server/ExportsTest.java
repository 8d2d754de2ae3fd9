package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The file backend, named exports, read-only mode and block size constraints; the JUnit extension serves them. */
class ExportsTest {
    static Path file;

    @RegisterExtension
    static NbdServerExtension nbd = NbdServerExtension.of(() -> {
        try {
            file = Files.createTempFile(Path.of("/tmp"), "jnbd-file", ".img");
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(8 << 20);
                f.seek(3 << 20);
                f.write(new byte[] {1, 2, 3, 4});
            }
            return NbdServer.builder()
                    .export("mem", Backend.memory(1 << 20), "a RAM disk")
                    .export("disk", Backend.file(file, false))
                    .export("ro", Backend.file(file, true))
                    .blockSize(512, 4096, 1 << 20);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    });

    @AfterAll
    static void removeFile() throws java.io.IOException {
        Files.deleteIfExists(file);
    }

    @Test
    void fileHolesComeFromSeekDataAndSeekHole() throws Exception {
        Oracle.requireLibnbd();
        Oracle.Result map = Oracle.libnbd("nbdinfo", "--map", nbd.uri("disk"));
        assertEquals(0, map.status(), map.stderr());
        List<String> lines = InteropTest.words(map.out());
        // The written 4 bytes make (at least) one filesystem block of data at 3 MiB; the rest is hole.
        assertEquals("0 3145728 3 hole,zero", lines.get(0));
        assertTrue(lines.get(1).matches("3145728 \\d+ 0 data"), lines.toString());
        assertTrue(lines.get(2).endsWith("3 hole,zero"), lines.toString());
    }

    @Test
    void listShowsEveryExportWithItsDescription() throws Exception {
        Oracle.requireLibnbd();
        Oracle.Result list = Oracle.libnbd("nbdinfo", "--list", "--json", nbd.uri());
        assertEquals(0, list.status(), list.stderr());
        for (String name : new String[] {"mem", "disk", "ro"}) {
            assertTrue(list.out().contains("\"export-name\": \"" + name + "\""), list.out());
        }
        assertTrue(list.out().contains("\"description\": \"a RAM disk\""), list.out());
        assertTrue(list.out().contains("\"block_size_minimum\": 512"), list.out());
    }

    @Test
    void writesReachTheFileAndReadOnlyRefuses() throws Exception {
        try (NbdHandle h = new NbdHandle()) {
            h.setStrictMode(0);
            h.connectUri(nbd.uri("disk"));
            byte[] block = new byte[512];
            java.util.Arrays.fill(block, (byte) 7);
            h.pwrite(block, 4096, io.jnbd.CmdFlag.FUA);
            NbdException unaligned = assertThrows(NbdException.class, () -> h.pread(new byte[100], 0));
            assertEquals(22, unaligned.getErrno());
        }
        byte[] onDisk = new byte[512];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(4096);
            f.readFully(onDisk);
        }
        assertEquals(7, onDisk[511]);
        try (NbdHandle h = new NbdHandle()) {
            h.connectUri(nbd.uri("ro"));
            assertTrue(h.isReadOnly());
            assertFalse(h.canTrim());
            byte[] back = new byte[512];
            h.pread(back, 4096);
            assertEquals(7, back[0]);
            NbdException e = assertThrows(NbdException.class, () -> h.pwrite(new byte[512], 0));
            assertEquals(1, e.getErrno());
        }
    }

    @Test
    void readOnlyServerRefusesWritesWithEperm() throws Exception {
        try (NbdServer ro = NbdServer.builder().export("", Backend.memory(1 << 20)).readOnly(true).start();
             NbdHandle h = new NbdHandle()) {
            h.setStrictMode(0);
            h.connectUri(ro.uri());
            assertTrue(h.isReadOnly());
            NbdException e = assertThrows(NbdException.class, () -> h.zero(512, 0));
            assertEquals(1, e.getErrno());
            byte[] zeros = new byte[512];
            h.pread(zeros, 0);
            assertArrayEquals(new byte[512], zeros);
        }
    }

    @Test
    void extensionServerIsUpForEachTest() {
        List<String> names = new ArrayList<>();
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectUri(nbd.uri());
            h.optList((name, description) -> {
                names.add(name);
                return 0;
            });
            h.optAbort();
        }
        assertEquals(List.of("mem", "disk", "ro"), names);
        assertTrue(Files.exists(nbd.server().unixSocket()));
    }
}
