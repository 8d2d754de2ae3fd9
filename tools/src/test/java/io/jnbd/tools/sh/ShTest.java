package io.jnbd.tools.sh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code jnbd sh}: the counterparts of libnbd's sh/*.sh, in Java instead of Python. */
class ShTest {
    private static final String PRINT_BASE_ALLOCATION = "System.out.println(h.canMetaContext(\"base:allocation\"))";

    private static Path dir;
    private static Servers.Running pattern;
    private static Servers.Running nullServer;

    @BeforeAll
    static void servers() throws Exception {
        dir = Servers.tempDir();
        pattern = Servers.nbdkitUnix(Files.createDirectory(dir.resolve("p")), "pattern", "size=1M");
        nullServer = Servers.nbdkitUnix(Files.createDirectory(dir.resolve("n")), "null", "size=1M");
    }

    @AfterAll
    static void stop() throws Exception {
        for (Servers.Running r : new Servers.Running[] {pattern, nullServer}) {
            if (r != null) {
                r.close();
            }
        }
        MoreServers.deleteTree(dir);
    }

    private static Libnbd122.Result ok(String... args) {
        Libnbd122.Result r = Jnbd.run(args);
        assertEquals(0, r.status(), r.stderr());
        return r;
    }

    private static Libnbd122.Result fails(String... args) {
        Libnbd122.Result r = Jnbd.run(args);
        assertEquals(1, r.status(), r.out());
        return r;
    }

    // test-pattern.sh: -u connects; what one -c defines, the next sees
    @Test
    void snippetsShareOneShell() {
        Libnbd122.Result r = ok("sh", "-u", pattern.unixUri(""),
                "-c", "long size() {\n  return h.getSize();\n}",
                "-c", "if (size() != 1024 * 1024) throw new AssertionError(size());",
                "-c", "var b = new byte[8]; h.pread(b, 8); assert Arrays.equals(b, new byte[] {0, 0, 0, 0, 0, 0, 0, 8});"
                        + " System.out.println(\"read \" + b[7]);");
        assertEquals("read 8\n", r.out());
        // assert is on in snippets, as in nbdsh's Python.
        assertTrue(fails("sh", "-c", "assert 1 > 2 : \"maths\";").stderr().contains("AssertionError: maths"));
    }

    // test-context.sh: --base-allocation, and options carried out in command-line order
    @Test
    void baseAllocationAndOptModeInCommandLineOrder() {
        String uri = nullServer.unixUri("");
        assertEquals("false\n", ok("sh", "-u", uri, "-c", PRINT_BASE_ALLOCATION).out());
        assertEquals("true\n", ok("sh", "-c", "h.addMetaContext(\"base:allocation\")", "-u", uri,
                "-c", PRINT_BASE_ALLOCATION).out());
        assertEquals("true\n", ok("sh", "--base-allocation", "--uri", uri, "--command", PRINT_BASE_ALLOCATION).out());
        assertEquals("true\n", ok("sh", "--b", "-u", uri, "-c", PRINT_BASE_ALLOCATION).out());
        assertEquals("true\n", ok("sh", "--opt-mode", "--base-allocation", "-u", uri,
                "-c", "try { h.canMetaContext(\"base:allocation\"); throw new AssertionError(); }"
                        + " catch (NbdException expected) { }",
                "-c", "h.optGo()", "-c", PRINT_BASE_ALLOCATION).out());
        assertEquals("true\n", ok("sh", "--opt-mode", "-u", uri, "-c", "h.addMetaContext(\"base:allocation\")",
                "-c", "h.optGo()", "-c", PRINT_BASE_ALLOCATION).out());
        // Too late once connected, as in nbdsh.
        assertTrue(fails("sh", "-u", uri, "--opt-mode", "-c", "1").stderr()
                .startsWith("jnbd sh: command line script failed: setOptMode: "));
    }

    @Test
    void metaContextNeedsTheServer() throws Exception {
        Path noSr = Files.createDirectory(dir.resolve("nosr"));
        try (var server = Servers.nbdkitUnix(noSr, "--no-sr", "null", "size=1M")) {
            assertEquals("false\n", ok("sh", "--base-allocation", "-u", server.unixUri(""),
                    "-c", PRINT_BASE_ALLOCATION).out());
        }
    }

    // test-error.sh
    @Test
    void errorsAreOneLineWithoutTrace() {
        Libnbd122.Result unknown = fails("sh", "--no-such");
        assertEquals("", unknown.out());
        assertTrue(unknown.stderr().startsWith("jnbd sh: Unknown option: '--no-such'"), unknown.stderr());

        Libnbd122.Result state = fails("sh", "-c", "h.isReadOnly()");
        assertEquals("", state.out());
        assertTrue(state.stderr().startsWith("jnbd sh: command line script failed: isReadOnly: "), state.stderr());
        assertEquals(1, state.stderr().lines().count(), state.stderr());

        Libnbd122.Result verbose = fails("sh", "--verbose", "-c", "h.isReadOnly()");
        assertTrue(verbose.stderr().contains("NbdHandle.isReadOnly("), verbose.stderr());

        Libnbd122.Result connect = fails("sh", "-u", "nbd+unix:///?socket=/nonexistent/jnbd.sock");
        assertEquals("", connect.out());
        assertTrue(connect.stderr().startsWith("jnbd sh: command line script failed: connectUri: "),
                connect.stderr());
    }

    @Test
    void codeThatDoesNotCompileOrEndsTooSoonFails() {
        assertTrue(fails("sh", "-c", "h.noSuchMethod()").stderr()
                .startsWith("jnbd sh: command line script failed: h.noSuchMethod(): cannot find symbol"));
        assertTrue(fails("sh", "-c", "if (true) {").stderr()
                .startsWith("jnbd sh: command line script failed: incomplete code: if (true) {"));
        // Snippets before the failing one have run; none after it.
        Libnbd122.Result r = fails("sh", "-c", "System.out.println(1); throw new IllegalStateException(\"two\");",
                "-c", "System.out.println(3)");
        assertEquals("1\n", r.out());
        assertEquals("jnbd sh: command line script failed: java.lang.IllegalStateException: two\n", r.stderr());
    }

    // test-implicit-handle.sh and test-verbose.sh
    @Test
    void theImplicitHandle() {
        ok("sh", "-c", "if (!(h instanceof NbdHandle) || !h.aioIsCreated()) throw new AssertionError();");
        if (!"1".equals(System.getenv("LIBNBD_DEBUG"))) {
            ok("sh", "-c", "assert !h.getDebug();");
        }
        ok("sh", "-v", "-c", "assert h.getDebug();");
        assertTrue(fails("sh", "-n", "-c", "h.getSize()").stderr().contains("cannot find symbol"));
        assertEquals("true\n", ok("sh", "-n", "-c", "var h = new NbdHandle();",
                "-c", "System.out.println(h.aioIsCreated()); h.close();").out());
        assertTrue(fails("sh", "-n", "-u", pattern.unixUri("")).stderr()
                .startsWith("jnbd sh: -n cannot be used with --base-allocation, --opt-mode or --uri"));
    }

    // examples/hexdump.sh: -c - reads the code from standard input
    @Test
    void codeFromStandardInput() {
        String code = "var sector = new byte[512];\nh.pread(sector, 0);\nSystem.out.println(sector[15] + \" \" + sector[511]);\n";
        Libnbd122.Result r = Jnbd.runWithInput(code.getBytes(StandardCharsets.UTF_8),
                "sh", "-u", pattern.unixUri(""), "-c", "-");
        assertEquals(0, r.status(), r.stderr());
        // The pattern plugin's bytes are big-endian offsets: 8 at 15, the low byte of 504 (0xf8) at 511.
        assertEquals("8 -8\n", r.out());
    }

    @Test
    void interactiveShellReadsStandardInput() {
        String input = "h.getSize()\nint x = 40 + 2;\nSystem.out.println(\"x is \" + x)\n/exit 3\n";
        Libnbd122.Result r = Jnbd.runWithInput(input.getBytes(StandardCharsets.UTF_8),
                "sh", "-u", pattern.unixUri(""));
        assertEquals(3, r.status(), r.stderr());
        String out = r.out();
        assertTrue(out.contains("h is an NbdHandle, connected to " + pattern.unixUri("")), out);
        assertTrue(out.contains("/exit or Ctrl-D"), out);
        assertTrue(out.contains("nbd> "), out);
        assertTrue(out.contains("==> 1048576"), out);
        assertTrue(out.contains("x is 42\n"), out);

        Libnbd122.Result unconnected = Jnbd.runWithInput("h.aioIsCreated()\n".getBytes(StandardCharsets.UTF_8),
                "sh");
        assertEquals(0, unconnected.status(), unconnected.stderr());
        assertTrue(unconnected.out().contains("not connected"), unconnected.out());
        assertTrue(unconnected.out().contains("==> true"), unconnected.out());
    }

    // test-help.sh, test-version.sh, test-long-options.sh, test-short-options.sh
    @Test
    void helpVersionAndOptionLists() {
        String help = ok("sh", "--help").out();
        assertTrue(help.contains("Usage: jnbd sh") && help.contains("--base-allocation"), help);
        assertTrue(ok("sh", "--version").out().matches("jnbd sh \\S+\nlibnbd API 1\\.22\n"));
        List<String> longOptions = ok("sh", "--long-options").out().lines().toList();
        assertTrue(longOptions.containsAll(List.of("--command", "--uri", "--version", "--opt-mode",
                "--base-allocation", "--verbose", "--help")), longOptions.toString());
        assertEquals(List.of("-V", "-c", "-h", "-n", "-u", "-v"), ok("sh", "--short-options").out().lines().toList());
    }
}
