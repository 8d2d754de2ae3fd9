package io.jnbd.testing;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real NBD servers for interop tests: finds them on PATH, starts them, stops them.
 * A missing server skips the test on a developer's machine and fails it under CI=true.
 */
public final class Servers {
    private Servers() {
    }

    public static boolean onCi() {
        return "true".equals(System.getenv("CI"));
    }

    /** Path of {@code program}, or a skip (a failure under CI) if it is not installed. */
    public static String require(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin")) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return missing(program + " is not installed");
    }

    /** {@code executable}'s path, or a skip (a failure under CI) if it is not there. */
    public static String require(Path executable) {
        return Files.isExecutable(executable) ? executable.toString() : missing(executable + " is missing");
    }

    private static String missing(String what) {
        if (onCi()) {
            Assertions.fail(what + ", and CI=true: .ci/install-deps.sh should have installed it");
        }
        Assumptions.abort(what + ": run .ci/install-deps.sh");
        return null;
    }

    /** A fresh directory for sockets and images; short, so Unix socket paths fit in 108 bytes. */
    public static Path tempDir() throws IOException {
        return Files.createTempDirectory(Path.of("/tmp"), "jnbdt");
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A server process, stopped (and reaped) by close(). */
    public static final class Running implements AutoCloseable {
        public final Process process;
        public final Path socket;
        public final int port;

        Running(Process process, Path socket, int port) {
            this.process = process;
            this.socket = socket;
            this.port = port;
        }

        public String unixUri(String export) {
            return "nbd+unix:///" + export + "?socket=" + socket;
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Starts nbdkit in the foreground on a Unix socket; returns once the socket accepts. */
    public static Running nbdkitUnix(Path dir, String... pluginArgs) throws IOException, InterruptedException {
        Path sock = dir.resolve("nbdkit.sock");
        Path pid = dir.resolve("nbdkit.pid");
        List<String> cmd = new ArrayList<>(List.of(require("nbdkit"), "-f", "--exit-with-parent", "-U",
                sock.toString(), "-P", pid.toString()));
        cmd.addAll(List.of(pluginArgs));
        return start(cmd, pid, sock, -1);
    }

    /** Starts nbdkit in the foreground on 127.0.0.1 and a free port. */
    public static Running nbdkitTcp(Path dir, String... pluginArgs) throws IOException, InterruptedException {
        int port = freePort();
        Path pid = dir.resolve("nbdkit.pid");
        List<String> cmd = new ArrayList<>(List.of(require("nbdkit"), "-f", "--exit-with-parent", "-i", "127.0.0.1",
                "-p", Integer.toString(port), "-P", pid.toString()));
        cmd.addAll(List.of(pluginArgs));
        return start(cmd, pid, null, port);
    }

    /**
     * Starts a server command; returns once {@code readyFile} exists (a pid file the
     * server writes after it listens) or, without one, once the socket or port accepts.
     */
    public static Running start(List<String> cmd, Path readyFile, Path socket, int port)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException("server exited with status " + p.exitValue() + ": " + cmd);
            }
            boolean ready = readyFile != null ? Files.exists(readyFile) && Files.size(readyFile) > 0
                    : socket != null ? Files.exists(socket) : portOpen(port);
            if (ready) {
                return new Running(p, socket, port);
            }
            Thread.sleep(10);
        }
        p.destroyForcibly();
        throw new IOException("server did not start within 20 s: " + cmd);
    }

    private static boolean portOpen(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
