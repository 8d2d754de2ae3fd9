package io.jnbd.internal.posix;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubprocessTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir(factory = ShortTempDir.class)
    Path dir;

    @BeforeEach
    void linux() {
        assumeTrue(Posix.isAvailable());
    }

    /** Spawns a shell script with one end of a socket pair as its stdin and stdout; returns our end. */
    private static Fd spawnOnStdio(String script, Subprocess[] child) throws IOException {
        Fd[] pair = Posix.socketPair();
        try (Fd theirs = pair[1]) {
            child[0] = Posix.spawn(List.of("sh", "-c", script), Map.of(), Set.of(), theirs, 0, 1);
        }
        return pair[0];
    }

    private static String readAll(Fd fd) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        while (fd.read(buf) >= 0) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }
        return out.toString(UTF_8);
    }

    private static String run(String script) throws Exception {
        Subprocess[] child = new Subprocess[1];
        try (Fd ours = spawnOnStdio(script, child)) {
            String output = readAll(ours);
            assertTrue(child[0].waitFor(WAIT));
            assertEquals(0, child[0].exitStatus(), output);
            return output;
        }
    }

    @Test
    void catEchoesThroughTheSocketPair() throws Exception {
        Fd[] pair = Posix.socketPair();
        Subprocess cat;
        try (Fd theirs = pair[1]) {
            cat = Posix.spawn(List.of("cat"), Map.of(), Set.of(), theirs, 0, 1);
        }
        try (Fd ours = pair[0]) {
            assertTrue(cat.pid() > 0);
            assertTrue(cat.isAlive());
            assertEquals(-1, cat.exitStatus());
            ours.write(ByteBuffer.wrap("ping\n".getBytes(UTF_8)));
            assertArrayEquals("ping\n".getBytes(UTF_8), FdTest.readExactly(ours, 5));
            ours.write(new ByteBuffer[] {ByteBuffer.wrap("a".getBytes(UTF_8)), ByteBuffer.wrap("b".getBytes(UTF_8))});
            ours.shutdown(Fd.SHUT_WR);
            assertEquals("ab", readAll(ours));
            assertTrue(cat.waitFor(WAIT));
            assertFalse(cat.isAlive());
            assertEquals(0, cat.exitStatus());
        }
    }

    @Test
    void stderrIsInherited() throws Exception {
        String ours = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
        assertEquals(ours + "\n", run("readlink /proc/self/fd/2"));
    }

    @Test
    void childGetsNoOtherDescriptors() throws Exception {
        Fd[] pair = Posix.socketPair();
        // A descriptor without close-on-exec, which only closefrom keeps from the child.
        int n = pair[0].acquire("test");
        int leaky;
        try {
            leaky = Libc.fcntl(n, Libc.F_DUPFD, 20);
        } finally {
            pair[0].release();
        }
        try (Fd leak = new Fd(leaky); Fd a = pair[0]; Fd b = pair[1]) {
            assertTrue(leaky >= 20);
            String listing = run("ls /proc/self/fd");
            // ls itself has the directory open as 3.
            assertEquals(Set.of("0", "1", "2", "3"), new TreeSet<>(Arrays.asList(listing.trim().split("\\s+"))));
        }
    }

    @Test
    void targetAboveStdioGetsTheDescriptorAndGapsAreClosed() throws Exception {
        Fd[] pair = Posix.socketPair();
        Subprocess child;
        Path out = dir.resolve("out");
        try (Fd theirs = pair[1]) {
            child = Posix.spawn(List.of("sh", "-c", "ls /proc/self/fd > \"$0\"; echo hi >&5", out.toString()),
                    Map.of(), Set.of(), theirs, 5);
        }
        try (Fd ours = pair[0]) {
            assertEquals("hi\n", readAll(ours));
            assertTrue(child.waitFor(WAIT));
            assertEquals(0, child.exitStatus());
            // 3 is ls's directory; 4 must not be open.
            Set<String> fds = new TreeSet<>(Arrays.asList(Files.readString(out).trim().split("\\s+")));
            assertFalse(fds.contains("4"), fds.toString());
            assertTrue(fds.contains("5"), fds.toString());
        }
    }

    @Test
    void signalsAreDefaultAndUnblocked() throws Exception {
        String status = run("grep -E '^Sig(Blk|Ign):' /proc/self/status");
        assertEquals("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", status);
    }

    @Test
    void environmentIsOursMinusRemovedPlusExtra() throws Exception {
        assumeTrue(System.getenv("HOME") != null);
        Subprocess[] child = new Subprocess[1];
        Fd[] pair = Posix.socketPair();
        try (Fd theirs = pair[1]) {
            child[0] = Posix.spawn(List.of("sh", "-c", "echo \"${HOME-unset} $JNBD_EXTRA ${PATH:+path}\""),
                    Map.of("JNBD_EXTRA", "a b=c"), Set.of("HOME"), theirs, 0, 1);
        }
        try (Fd ours = pair[0]) {
            assertEquals("unset a b=c path\n", readAll(ours));
            assertTrue(child[0].waitFor(WAIT));
        }
    }

    @Test
    void missingCommandThrowsEnoentNamingIt() throws IOException {
        Fd[] pair = Posix.socketPair();
        try (Fd a = pair[0]; Fd b = pair[1]) {
            PosixException e = assertThrows(PosixException.class,
                    () -> Posix.spawn(List.of("jnbd-no-such-command"), Map.of(), Set.of(), b, 0, 1));
            assertEquals(2, e.errno());
            assertEquals("spawn jnbd-no-such-command: No such file or directory", e.getMessage());
            assertTrue(b.isOpen());
        }
    }

    @Test
    void exitStatusIsTheExitCode() throws Exception {
        Subprocess[] child = new Subprocess[1];
        try (Fd ours = spawnOnStdio("exit 3", child)) {
            assertTrue(child[0].waitFor(WAIT));
            assertEquals(3, child[0].exitStatus());
            assertFalse(child[0].isAlive());
        }
    }

    @Test
    void killGivesSignalStatusAndIsANoOpAfterReaping() throws Exception {
        Subprocess[] child = new Subprocess[1];
        try (Fd ours = spawnOnStdio("exec sleep 100", child)) {
            Subprocess sleeper = child[0];
            assertFalse(sleeper.waitFor(Duration.ofMillis(50)));
            sleeper.kill(Subprocess.SIGTERM);
            assertTrue(sleeper.waitFor(WAIT));
            assertEquals(128 + 15, sleeper.exitStatus());
            sleeper.kill(Subprocess.SIGKILL);
            assertEquals(128 + 15, sleeper.exitStatus());
        }
    }

    @Test
    void terminateEscalatesToSigkill() throws Exception {
        Subprocess[] child = new Subprocess[1];
        // The ignored SIGTERM survives exec, so sleep itself ignores it.
        try (Fd ours = spawnOnStdio("trap '' TERM; echo ready; exec sleep 100", child)) {
            assertArrayEquals("ready\n".getBytes(UTF_8), FdTest.readExactly(ours, 6));
            long t0 = System.nanoTime();
            child[0].terminate(Duration.ofMillis(100));
            long elapsed = System.nanoTime() - t0;
            assertFalse(child[0].isAlive());
            assertEquals(128 + 9, child[0].exitStatus());
            assertTrue(elapsed >= Duration.ofSeconds(2).toNanos(), "SIGTERM was given its 2 s");
            assertTrue(elapsed < Duration.ofSeconds(5).toNanos());
        }
    }

    @Test
    void terminateOfCooperativeChildIsQuick() throws Exception {
        Subprocess[] child = new Subprocess[1];
        try (Fd ours = spawnOnStdio("exec sleep 100", child)) {
            long t0 = System.nanoTime();
            child[0].terminate(Duration.ZERO);
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(1).toNanos());
            assertEquals(128 + 15, child[0].exitStatus());
        }
    }

    @Test
    void terminateKeepsTheInterruptStatus() throws Exception {
        Subprocess[] child = new Subprocess[1];
        try (Fd ours = spawnOnStdio("exec sleep 100", child)) {
            Thread.currentThread().interrupt();
            child[0].terminate(Duration.ofMillis(50));
            assertTrue(Thread.interrupted());
            assertFalse(child[0].isAlive());
        }
    }

    @Test
    void socketActivationPassesListenerAsFd3WithOwnPid() throws Exception {
        Path socket = dir.resolve("sock");
        Path out = dir.resolve("out");
        String script = "echo \"$$ $LISTEN_PID $LISTEN_FDS $LISTEN_FDNAMES $(readlink /proc/$$/fd/3)\" > \"$0\"";
        try (Fd listener = Posix.unixListener(socket)) {
            Subprocess child = Posix.spawnSocketActivated(List.of("sh", "-c", script, out.toString()), listener, "nbd");
            assertTrue(child.waitFor(WAIT));
            assertEquals(0, child.exitStatus());
            int n = listener.acquire("test");
            String inode;
            try {
                inode = Files.readSymbolicLink(Path.of("/proc/self/fd/" + n)).toString();
            } finally {
                listener.release();
            }
            assertTrue(inode.startsWith("socket:["), inode);
            long pid = child.pid();
            assertEquals(pid + " " + pid + " 1 nbd " + inode + "\n", Files.readString(out));
        }
    }

    @Test
    void socketActivationDefaultsTheNameToUnknown() throws Exception {
        Path out = dir.resolve("out");
        try (Fd listener = Posix.unixListener(dir.resolve("sock"))) {
            Subprocess child = Posix.spawnSocketActivated(
                    List.of("sh", "-c", "echo \"$LISTEN_FDNAMES\" > \"$0\"", out.toString()), listener, "");
            assertTrue(child.waitFor(WAIT));
            assertEquals("unknown\n", Files.readString(out));
        }
    }

    @Test
    void socketActivationReportsMissingCommand() throws Exception {
        try (Fd listener = Posix.unixListener(dir.resolve("sock"))) {
            Subprocess child = Posix.spawnSocketActivated(List.of("jnbd-no-such-command"), listener, "x");
            // The shell starts fine and its exec fails: 127, as for any shell.
            assertTrue(child.waitFor(WAIT));
            assertEquals(127, child.exitStatus());
        }
    }
}
