package io.jnbd.tools.dump;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jnbd dump} against libnbd 1.22's nbddump on the same servers: the
 * output must be the same bytes. The counterparts of libnbd's dump/*.sh.
 */
class DumpTest {
    private static final String DATA = " @32768 1 @65535 \"hello, world!\" @17825790 \"spanning buffer boundary\""
            + " @20000000 0 ";

    private static Path dir;
    private static Path patternDir;
    private static Servers.Running pattern299;
    private static Servers.Running data;

    @BeforeAll
    static void servers() throws Exception {
        dir = Servers.tempDir();
        patternDir = dir.resolve("p");
        java.nio.file.Files.createDirectory(patternDir);
        pattern299 = Servers.nbdkitUnix(patternDir, "pattern", "size=299");
        data = Servers.nbdkitUnix(dir, "data", DATA);
    }

    @AfterAll
    static void stop() throws Exception {
        if (pattern299 != null) {
            pattern299.close();
        }
        if (data != null) {
            data.close();
        }
        MoreServers.deleteTree(dir);
    }

    /** Runs nbddump and jnbd dump with the same arguments; both must succeed and print the same bytes. */
    private static byte[] sameAsNbddump(String... args) throws Exception {
        Libnbd122.require();
        List<String> oracle = new ArrayList<>(List.of("nbddump"));
        oracle.addAll(List.of(args));
        Libnbd122.Result expected = Libnbd122.run(oracle.toArray(String[]::new));
        assertEquals(0, expected.status(), expected.stderr());
        List<String> ours = new ArrayList<>(List.of("dump"));
        ours.addAll(List.of(args));
        Libnbd122.Result actual = Jnbd.run(ours.toArray(String[]::new));
        assertEquals(0, actual.status(), actual.stderr());
        assertEquals(expected.out(), actual.out());
        assertArrayEquals(expected.stdout(), actual.stdout());
        return actual.stdout();
    }

    // dump-pattern.sh
    @Test
    void patternAsNbddumpPrintsIt() throws Exception {
        String out = new String(sameAsNbddump(pattern299.unixUri("")), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(out.startsWith("0000000000: 00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 08 |................|\n"));
        assertTrue(out.endsWith("0000000120: 00 00 00 00 00 00 01 20  00 00 00                |....... ...     |\n"));
        assertEquals(19, out.lines().count());
    }

    @Test
    void coloursAreNbddumpsEscapeSequences() throws Exception {
        String out = new String(sameAsNbddump("--color", pattern299.unixUri("")), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(out.startsWith("\033[22;32m0000000000\033[22;90m: \033[22;90m00 "), out);
        assertTrue(out.contains("│"), out);
        sameAsNbddump("--colours", "--no-colour", pattern299.unixUri(""));
    }

    // dump-subset.sh: --offset and --length, and their other spellings
    @Test
    void offsetAndLength() throws Exception {
        String uri = pattern299.unixUri("");
        byte[] first = sameAsNbddump("--offset=15", "--length=33", uri);
        assertArrayEquals(first, sameAsNbddump("--skip", "15", "--limit", "33", uri));
        assertArrayEquals(first, sameAsNbddump("-o", "15", "-n", "33", uri));
        assertEquals(3, new String(first, java.nio.charset.StandardCharsets.US_ASCII).lines().count());
        // A dump that stops early may end on a squashed line; an empty one prints nothing.
        sameAsNbddump("-n", "0", uri);
        sameAsNbddump("-o", "299", uri);
        sameAsNbddump("-n", "-1", "-o", "+8", uri);
    }

    // dump-data.sh: squashed runs, lines across the 16 MiB read buffer, a short last line
    @Test
    void dataWithRunsAndBufferBoundary() throws Exception {
        String out = new String(sameAsNbddump(data.unixUri("")), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(out.contains("00010ffff0: 00 00 00 00 00 00 00 00  00 00 00 00 00 00 73 70 |..............sp|\n"
                + "0001100000: 61 6e 6e 69 6e 67 20 62  75 66 66 65 72 20 62 6f |anning buffer bo|\n"), out);
        assertTrue(out.endsWith("*\n0001312d00: 00                                               |.               |\n"));
        sameAsNbddump("--color", "-o", "65530", "-n", "40", data.unixUri(""));
    }

    // dump-empty-qcow2.sh: [ CMD ] after --, a server run with socket activation; 1 GiB of zeroes
    @Test
    void emptyQcow2ThroughSocketActivation() throws Exception {
        Path image = dir.resolve("empty.qcow2");
        MoreServers.qemuImgCreate(image, "qcow2", 1L << 30);
        String qemuNbd = Servers.require("qemu-nbd");
        Libnbd122.Result r = Jnbd.run("dump", "--", "[", qemuNbd, "-r", "-f", "qcow2", image.toString(), "]");
        assertEquals(0, r.status(), r.stderr());
        assertEquals("0000000000: 00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 |................|\n*\n"
                + "003ffffff0: 00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 |................|\n", r.out());
    }

    @Test
    void bracketsWithoutDoubleDash() throws Exception {
        String nbdkit = Servers.require("nbdkit");
        Libnbd122.Result r = Jnbd.run("dump", "[", nbdkit, "data", "\"hello!\"", "]");
        assertEquals(0, r.status(), r.stderr());
        assertEquals("0000000000: 68 65 6c 6c 6f 21                                |hello!          |\n", r.out());
    }

    @Test
    void randomDataAsNbddump() throws Exception {
        Path randomDir = java.nio.file.Files.createDirectories(dir.resolve("r"));
        try (var random = Servers.nbdkitUnix(randomDir, "random", "size=100000", "seed=7")) {
            sameAsNbddump(random.unixUri(""));
            sameAsNbddump("--color", "-o", "1000", random.unixUri(""));
        }
    }

    // Without base:allocation every chunk is read.
    @Test
    void serverWithoutMetaContexts() throws Exception {
        Path noSrDir = java.nio.file.Files.createDirectories(dir.resolve("nosr"));
        try (var noSr = Servers.nbdkitUnix(noSrDir, "--no-sr", "data", DATA)) {
            assertArrayEquals(sameAsNbddump(data.unixUri("")), sameAsNbddump(noSr.unixUri("")));
        }
    }

    @Test
    void anOffsetPastTheEndFailsAsInNbddump() throws Exception {
        Libnbd122.require();
        String uri = pattern299.unixUri("");
        assertEquals(1, Libnbd122.run("nbddump", "-o", "400", uri).status());
        Libnbd122.Result r = Jnbd.run("dump", "-o", "400", uri);
        assertEquals(1, r.status());
        assertTrue(r.stderr().startsWith("jnbd dump: ") && r.stderr().contains("out of bounds"), r.stderr());
        assertEquals("", r.out());
    }

    @Test
    void usageErrorsExitWithOne() throws Exception {
        String uri = pattern299.unixUri("");
        for (String[] args : List.of(new String[] {"dump"}, new String[] {"dump", uri, uri},
                new String[] {"dump", "--bogus", uri}, new String[] {"dump", "-n", "x1", uri},
                new String[] {"dump", "--", "[", "nbdkit", "null"})) {
            Libnbd122.Result r = Jnbd.run(args);
            assertEquals(1, r.status(), String.join(" ", args));
            assertEquals("", r.out());
            assertTrue(r.stderr().startsWith("jnbd dump: "), r.stderr());
        }
        assertEquals("jnbd dump: could not parse --length option: x1\n", Jnbd.run("dump", "-n", "x1", uri).stderr());
    }

    @Test
    void connectionFailureExitsWithOne() {
        Libnbd122.Result r = Jnbd.run("dump", "nbd+unix:///?socket=/nonexistent/jnbd.sock");
        assertEquals(1, r.status());
        assertTrue(r.stderr().startsWith("jnbd dump: connectUri: "), r.stderr());
    }

    // test-long-options.sh, test-short-options.sh, test-version.sh
    @Test
    void optionListsHelpAndVersion() {
        String longOptions = Jnbd.run("dump", "--long-options").out();
        assertTrue(longOptions.lines().toList().containsAll(List.of("--length", "--limit", "--version", "--color",
                "--no-colour", "--offset", "--skip", "--help")), longOptions);
        assertEquals(List.of("-V", "-n", "-o"), Jnbd.run("dump", "--short-options").out().lines().toList());
        Libnbd122.Result version = Jnbd.run("dump", "--version");
        assertEquals(0, version.status());
        assertTrue(version.out().matches("jnbd dump \\S+\nlibnbd API 1\\.22\n"), version.out());
        Libnbd122.Result help = Jnbd.run("dump", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--length") && help.out().contains("[ CMD ARGS ... ]"), help.out());
    }
}
