package io.jnbd.tools.info;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code jnbd info} against libnbd 1.22's nbdinfo, both on the same servers:
 * nbdkit 1.42 and qemu 10 from the trixie chroot, on Unix sockets under
 * /tmp, which both sides see at the same path.
 */
final class Oracle {
    private Oracle() {
    }

    /** The chroot's {@code PROGRAM ARGS}: a command both jnbd (on the host) and nbdinfo (in the chroot) can run. */
    static List<String> chroot(String program, String... args) {
        List<String> cmd = new ArrayList<>(List.of("chroot", Libnbd122.ROOT.toString(), program));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts the chroot's nbdkit on {@code dir/NAME.sock}; {@link Servers.Running#unixUri} names its exports. */
    static Servers.Running nbdkit(Path dir, String name, String... args) throws IOException, InterruptedException {
        Path sock = dir.resolve(name + ".sock");
        Path pid = dir.resolve(name + ".pid");
        List<String> cmd = chroot("nbdkit", "-f", "--exit-with-parent", "-U", sock.toString(), "-P", pid.toString());
        cmd.addAll(List.of(args));
        return Servers.start(cmd, pid, sock, -1);
    }

    /** Starts the chroot's qemu-nbd, persistent, on {@code dir/NAME.sock}. */
    static Servers.Running qemuNbd(Path dir, String name, String... args) throws IOException, InterruptedException {
        Path sock = dir.resolve(name + ".sock");
        Path pid = dir.resolve(name + ".pid");
        List<String> cmd = chroot("qemu-nbd", "-t", "--socket=" + sock, "--pid-file=" + pid);
        cmd.addAll(List.of(args));
        return Servers.start(cmd, pid, sock, -1);
    }

    /** Runs one of the chroot's tools (qemu-img, qemu-io) and fails the test if it fails. */
    static void tool(String program, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(program));
        cmd.addAll(List.of(args));
        Libnbd122.Result r = Libnbd122.run(cmd.toArray(String[]::new));
        assertEquals(0, r.status(), () -> cmd + ": " + r.stderr());
    }

    static Libnbd122.Result nbdinfo(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("nbdinfo"));
        cmd.addAll(List.of(args));
        return Libnbd122.run(cmd.toArray(String[]::new));
    }

    static Libnbd122.Result jnbd(String... args) {
        List<String> cmd = new ArrayList<>(List.of("info"));
        cmd.addAll(List.of(args));
        return Jnbd.run(cmd.toArray(String[]::new));
    }

    /**
     * Runs {@code jnbd info ARGS} and {@code nbdinfo ARGS}: the same exit
     * status and the same stdout, byte for byte; on failure, jnbd's stderr
     * names the tool. Returns jnbd's result.
     */
    static Libnbd122.Result same(String... args) throws IOException, InterruptedException {
        return same(List.of(args), List.of(args));
    }

    /** As {@link #same(String...)}, where the two tools need different arguments (a server command). */
    static Libnbd122.Result same(List<String> jnbdArgs, List<String> nbdinfoArgs)
            throws IOException, InterruptedException {
        Libnbd122.Result theirs = nbdinfo(nbdinfoArgs.toArray(String[]::new));
        Libnbd122.Result ours = jnbd(jnbdArgs.toArray(String[]::new));
        String what = "jnbd info " + String.join(" ", jnbdArgs) + "\nnbdinfo stderr: " + theirs.stderr()
                + "\njnbd stderr: " + ours.stderr();
        assertEquals(theirs.status(), ours.status(), () -> "exit status of " + what);
        assertEquals(theirs.out(), ours.out(), () -> "stdout of " + what);
        if (ours.status() != 0 && ours.status() != FlagQuery.FALSE) {
            assertError(ours);
        } else {
            assertEquals(theirs.stderr(), ours.stderr(), () -> "stderr of " + what);
        }
        return ours;
    }

    /** A failure: a one-line message naming the tool (nbdinfo's --list hint may follow), no stack trace. */
    static void assertError(Libnbd122.Result r) {
        assertTrue(r.stderr().startsWith("jnbd info: "), () -> "stderr: " + r.stderr());
        assertFalse(r.stderr().contains("\tat "), () -> "a stack trace without -v: " + r.stderr());
        String[] lines = r.stderr().split("\n");
        assertTrue(lines.length == 1 || lines.length == 2 && lines[1].contains("suggestion: to list all exports"),
                () -> "more than one line: " + r.stderr());
    }
}
