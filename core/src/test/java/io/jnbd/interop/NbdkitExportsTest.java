package io.jnbd.interop;

import io.jnbd.NbdException;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Export names against nbdkit's file plugin serving a directory, where each file is one export. */
class NbdkitExportsTest {
    static final int ENOENT = 2;
    static final int ENOTSUP = 95;
    /** Export name to size; sizes differ so that each connection proves which export it got. */
    static final Map<String, Long> EXPORTS = Map.of("alpha", 1L << 20, "beta", 3L << 20, "gamma", 512L << 10);

    static Path dir;
    static Path describedDir;
    static Path files;
    static Servers.Running plain;
    static Servers.Running described;

    @BeforeAll
    static void start() throws Exception {
        dir = Servers.tempDir();
        files = dir.resolve("exports");
        Files.createDirectory(files);
        for (var e : EXPORTS.entrySet()) {
            try (RandomAccessFile f = new RandomAccessFile(files.resolve(e.getKey()).toFile(), "rw")) {
                f.setLength(e.getValue());
                f.write(signature(e.getKey()));
            }
        }
        plain = Servers.nbdkitUnix(dir, "file", "dir=" + files);
        // The exportname filter adds what the file plugin lacks: descriptions and a default export.
        describedDir = Servers.tempDir();
        described = Servers.nbdkitUnix(describedDir, "--filter=exportname", "file", "dir=" + files,
                "default-export=beta", "exportdesc=script:echo \"the $name file\"");
    }

    @AfterAll
    static void stop() throws Exception {
        if (plain != null) {
            plain.close();
        }
        if (described != null) {
            described.close();
        }
        MoreServers.deleteTree(dir);
        MoreServers.deleteTree(describedDir);
    }

    /** The bytes each file starts with, so a read shows which file an export is. */
    static byte[] signature(String name) {
        return ("export " + name).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void optListNamesExactlyTheFiles() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.connectUnix(plain.socket.toString());
            assertTrue(h.aioIsNegotiating());
            Map<String, String> listed = new TreeMap<>();
            int n = h.optList((name, description) -> {
                listed.put(name, description);
                return 0;
            });
            assertEquals(new TreeMap<>(EXPORTS).keySet(), listed.keySet());
            assertTrue(listed.values().stream().allMatch(String::isEmpty), "no descriptions: " + listed);
            assertEquals(EXPORTS.size(), n);
            assertTrue(h.aioIsNegotiating(), "listing leaves the handle negotiating");
            h.optAbort();
            assertTrue(h.aioIsClosed());
        }
    }

    @Test
    void eachExportNameSelectsItsFile() throws IOException {
        for (var e : EXPORTS.entrySet()) {
            try (NbdHandle h = new NbdHandle()) {
                h.setExportName(e.getKey());
                h.connectUnix(plain.socket.toString());
                assertEquals(e.getValue(), h.getSize(), e.getKey());
                byte[] sig = signature(e.getKey());
                byte[] back = new byte[sig.length];
                h.pread(back, 0);
                assertArrayEquals(sig, back, e.getKey());
            }
        }
        // A write through one export lands in that file and no other.
        byte[] data = "written over NBD".getBytes(StandardCharsets.US_ASCII);
        long offset = 256L << 10;
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("gamma");
            h.connectUnix(plain.socket.toString());
            h.pwrite(data, offset);
            h.flush();
        }
        try (RandomAccessFile f = new RandomAccessFile(files.resolve("gamma").toFile(), "r")) {
            byte[] back = new byte[data.length];
            f.seek(offset);
            f.readFully(back);
            assertArrayEquals(data, back);
        }
    }

    @Test
    void missingExportKillsAnOrdinaryConnect() {
        try (NbdHandle h = new NbdHandle()) {
            h.setExportName("delta");
            NbdException e = assertThrows(NbdException.class, () -> h.connectUnix(plain.socket.toString()));
            assertEquals(ENOENT, e.getErrno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("connectUnix: "), e.getMessage());
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    @Test
    void missingExportInOptModeLeavesTheHandleNegotiating() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setExportName("delta");
            h.connectUnix(plain.socket.toString());
            NbdException info = assertThrows(NbdException.class, h::optInfo);
            assertEquals(ENOENT, info.getErrno(), info.getMessage());
            assertTrue(h.aioIsNegotiating(), h.connectionState());
            NbdException go = assertThrows(NbdException.class, h::optGo);
            assertEquals(ENOENT, go.getErrno(), go.getMessage());
            assertTrue(go.getMessage().startsWith("optGo: "), go.getMessage());
            assertTrue(h.aioIsNegotiating(), h.connectionState());

            h.setExportName("beta");
            h.optGo();
            assertTrue(h.aioIsReady());
            assertEquals(EXPORTS.get("beta"), h.getSize());
            byte[] back = new byte[signature("beta").length];
            h.pread(back, 0);
            assertArrayEquals(signature("beta"), back);
        }
    }

    @Test
    void optInfoWithFullInfoGivesNameAndDescription() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setFullInfo(true);
            h.connectUnix(described.socket.toString());
            Map<String, String> listed = new HashMap<>();
            h.optList((name, description) -> {
                listed.put(name, description);
                return 0;
            });
            for (String name : EXPORTS.keySet()) {
                assertEquals("the " + name + " file", listed.get(name), "description in the list of " + name);
                h.setExportName(name);
                h.optInfo();
                assertTrue(h.aioIsNegotiating());
                assertEquals(EXPORTS.get(name), h.getSize(), name);
                assertEquals(name, h.getCanonicalExportName());
                assertEquals("the " + name + " file", h.getExportDescription());
            }
            // The default export "" is beta under another name: the server says so.
            h.setExportName("");
            h.optInfo();
            assertEquals("beta", h.getCanonicalExportName());
            assertEquals(EXPORTS.get("beta"), h.getSize());
            h.optGo();
            assertEquals("", h.getExportName(), "the name asked for is kept");
            assertEquals("beta", h.getCanonicalExportName());
            assertEquals("the beta file", h.getExportDescription());
        }
    }

    @Test
    void withoutADescriptionGetExportDescriptionFails() {
        try (NbdHandle h = new NbdHandle()) {
            h.setFullInfo(true);
            h.setExportName("alpha");
            h.connectUnix(plain.socket.toString());
            assertEquals("alpha", h.getCanonicalExportName());
            NbdException e = assertThrows(NbdException.class, h::getExportDescription);
            assertEquals(ENOTSUP, e.getErrno(), e.getMessage());
        }
    }

    @Test
    void connectUriPicksTheExport() {
        for (String name : EXPORTS.keySet()) {
            try (NbdHandle h = new NbdHandle()) {
                h.connectUri(plain.unixUri(name));
                assertEquals(name, h.getExportName());
                assertEquals(EXPORTS.get(name), h.getSize(), name);
                byte[] back = new byte[16];
                h.pread(back, 0);
                byte[] sig = signature(name);
                assertArrayEquals(sig, Arrays.copyOf(back, sig.length));
            }
        }
    }

    /**
     * libnbd's opt-list.c with opt-list.sh's four modes (and 220-opt-list.py):
     * the server fails the listing, lists a and b, lists nothing, lists a.
     */
    @Test
    void optListOfFailingEmptyAndShortLists() {
        String[] scripts = {"echo EINVAL listing not supported >&2; exit 1", "echo NAMES; echo a; echo b",
                "echo NAMES", "echo NAMES; echo a"};
        List<List<String>> expected = List.of(List.of(), List.of("a", "b"), List.of(), List.of("a"));
        for (int mode = 0; mode < scripts.length; mode++) {
            try (NbdHandle h = new NbdHandle()) {
                h.setOptMode(true);
                h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "eval",
                        "list_exports=" + scripts[mode], "get_size=echo 512",
                        "pread=dd if=/dev/zero count=$3 iflag=count_bytes 2>/dev/null"));
                List<String> names = new ArrayList<>();
                io.jnbd.ListCallback collect = (name, description) -> {
                    names.add(name);
                    return 0;
                };
                if (mode == 0) {
                    assertThrows(NbdException.class, () -> h.optList(collect));
                } else {
                    assertEquals(expected.get(mode).size(), h.optList(collect));
                }
                assertEquals(expected.get(mode), names, "mode " + mode);
                assertTrue(h.aioIsNegotiating(), "mode " + mode + ": " + h.connectionState());
                h.optAbort();
            }
        }
    }
}
