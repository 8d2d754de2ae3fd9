package io.jnbd.tools.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code jnbd serve} as a separate process, as libnbd's tools and jnbd's client start it. */
class ServeTest {
    private Path dir;

    @BeforeEach
    void setUp() throws IOException {
        dir = Servers.tempDir();
    }

    @AfterEach
    void tearDown() throws IOException {
        MoreServers.deleteTree(dir);
    }

    /** {@code jnbd serve ARGS} on this JVM's class path, as ./jnbd would run it. */
    static List<String> serve(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "io.jnbd.tools.Main", "serve"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void singleConnectionOnStdinStdout() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(serve("-s", "--exit-with-parent", "memory", "1M"));
            h.pwrite("hello".getBytes(), 4096);
            byte[] back = new byte[5];
            h.pread(back, 4096);
            assertEquals("hello", new String(back));
            assertEquals(1 << 20, h.getSize());
        }
    }

    @Test
    void socketActivationServesThePatternReadOnly() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectSystemdSocketActivation(serve("pattern", "1M"));
            byte[] word = new byte[8];
            h.pread(word, 8200);
            assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0x20, 0x08}, word);
            assertTrue(h.isReadOnly());
            NbdException e = assertThrows(NbdException.class, () -> h.pwrite(word, 0));
            assertEquals(1, e.getErrno());
        }
    }

    @Test
    void namedExportsOnAUnixSocketRemovedAtExit() throws Exception {
        Libnbd122.require();
        Path sock = dir.resolve("sock");
        Process p = new ProcessBuilder(serve("-U", sock.toString(), "-r", "-e", "main", "memory", "1M",
                "-e", "zeros=null:2M")).inheritIO().start();
        try {
            for (int i = 0; i < 300 && !Files.exists(sock); i++) {
                Thread.sleep(50);
            }
            Libnbd122.Result list = Libnbd122.run("nbdinfo", "--list", "--json",
                    "nbd+unix:///?socket=" + sock);
            assertEquals(0, list.status(), list.stderr());
            assertTrue(list.out().contains("\"export-name\": \"main\""), list.out());
            assertTrue(list.out().contains("\"export-name\": \"zeros\""), list.out());
            assertTrue(list.out().contains("\"export-size\": 2097152"), list.out());
            Libnbd122.Result ro = Libnbd122.run("nbdinfo", "--is", "read-only", "nbd+unix:///zeros?socket=" + sock);
            assertEquals(0, ro.status(), ro.stderr());
        } finally {
            p.destroy();
            p.waitFor();
        }
        assertFalse(Files.exists(sock), "socket removed at exit");
    }

    @Test
    void usageErrorsExitWithOne() {
        Libnbd122.Result none = Jnbd.run("serve");
        assertEquals(1, none.status());
        assertTrue(none.stderr().startsWith("jnbd serve: no backend"), none.stderr());
        Libnbd122.Result size = Jnbd.run("serve", "memory", "1X");
        assertEquals(1, size.status());
        assertTrue(size.stderr().contains("could not parse size string (1X)"), size.stderr());
        Libnbd122.Result backend = Jnbd.run("serve", "-s", "disk", "1G");
        assertEquals(1, backend.status());
        assertTrue(backend.stderr().contains("unknown backend 'disk'"), backend.stderr());
        Libnbd122.Result tls = Jnbd.run("serve", "--tls=require", "memory", "1M");
        assertEquals(1, tls.status());
        assertTrue(tls.stderr().contains("--tls=require needs --tls-certificates DIR"), tls.stderr());
    }
}
