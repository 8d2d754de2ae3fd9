package io.jnbd.testing;

import org.junit.jupiter.api.Assertions;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * More servers and tools for interop tests, beside {@link Servers}: qemu-nbd,
 * nbd-server, qemu-img, and libnbd's nbdinfo as an oracle.
 */
public final class MoreServers {
    private MoreServers() {
    }

    /**
     * Starts qemu-nbd on a Unix socket in {@code dir}, persistent ({@code -t}) so
     * that one server outlives each test's connection; returns once its pid file exists.
     */
    public static Servers.Running qemuNbdUnix(Path dir, String format, Path image)
            throws IOException, InterruptedException {
        Path sock = dir.resolve("qemu-nbd.sock");
        Path pid = dir.resolve("qemu-nbd.pid");
        return Servers.start(List.of(Servers.require("qemu-nbd"), "-t", "-k", sock.toString(), "--pid-file",
                pid.toString(), "-f", format, image.toString()), pid, sock, -1);
    }

    /**
     * Starts nbdkit in the foreground listening on {@code address} and {@code port}
     * (for IPv6, or a fixed port such as 10809); returns once its pid file exists.
     */
    public static Servers.Running nbdkitTcpOn(Path dir, String address, int port, String... pluginArgs)
            throws IOException, InterruptedException {
        Path pid = dir.resolve("nbdkit.pid");
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-f", "--exit-with-parent", "-i", address,
                "-p", Integer.toString(port), "-P", pid.toString()));
        cmd.addAll(List.of(pluginArgs));
        return Servers.start(cmd, pid, null, port);
    }

    /** Creates an image with {@code qemu-img create}. */
    public static void qemuImgCreate(Path image, String format, long size) throws IOException, InterruptedException {
        run(List.of(Servers.require("qemu-img"), "create", "-q", "-f", format, image.toString(), Long.toString(size)));
    }

    /** Runs one qemu-io command (such as {@code write -P 0xab 1M 64k}) on an image that no server has open. */
    public static void qemuIo(Path image, String format, String command) throws IOException, InterruptedException {
        run(List.of(Servers.require("qemu-io"), "-f", format, "-c", command, image.toString()));
    }

    /**
     * Starts nbd-server in the foreground ({@code -d}) on 127.0.0.1 and a free
     * port, serving one {@code [name]} section per entry of {@code exports}
     * (each a map of that section's options). A server run with -d exits when
     * its first client that reached transmission disconnects, so use one per
     * connection.
     */
    public static Servers.Running nbdServer(Path dir, Map<String, Map<String, String>> exports)
            throws IOException, InterruptedException {
        return nbdServer(dir, Map.of(), exports);
    }

    /** As {@link #nbdServer(Path, Map)}, with more {@code [generic]} options (TLS files, for one). */
    public static Servers.Running nbdServer(Path dir, Map<String, String> generic,
                                            Map<String, Map<String, String>> exports)
            throws IOException, InterruptedException {
        int port = Servers.freePort();
        StringBuilder conf = new StringBuilder("[generic]\nport = " + port + "\nlistenaddr = 127.0.0.1\n"
                + "allowlist = true\n");
        generic.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
        exports.forEach((name, options) -> {
            conf.append('[').append(name).append("]\n");
            options.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
        });
        Path file = dir.resolve("nbd-server.conf");
        Files.writeString(file, conf);
        List<String> cmd = List.of(Servers.require("nbd-server"), "-C", file.toString(), "-d");
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        // Readiness is read from /proc/net/tcp: a probing connection would be the one client -d serves.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!listening(port)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("nbd-server did not start listening on port " + port + ": " + cmd);
            }
            Thread.sleep(10);
        }
        return new Servers.Running(p, null, port);
    }

    /** Whether some socket listens on 127.0.0.1:{@code port}, without connecting to it. */
    static boolean listening(int port) throws IOException {
        // Lines read "sl local_address rem_address st ...": 0100007F is 127.0.0.1, state 0A is LISTEN.
        String local = String.format("0100007F:%04X", port);
        for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 3 && f[1].equals(local) && f[3].equals("0A")) {
                return true;
            }
        }
        return false;
    }

    /** Removes a test's directory and everything in it; null does nothing. */
    public static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Runs a tool to completion and returns its standard output as text; fails the test if it fails. */
    public static String run(List<String> cmd) throws IOException, InterruptedException {
        return new String(output(cmd), StandardCharsets.UTF_8);
    }

    /** Runs a tool to completion and returns its standard output; fails the test if it fails. */
    public static byte[] output(List<String> cmd) throws IOException, InterruptedException {
        // Output goes to a file, so that a tool that hangs cannot block us past the timeout.
        Path out = Files.createTempFile("jnbd-tool", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                Assertions.fail("timed out: " + cmd);
            }
            Assertions.assertEquals(0, p.exitValue(), () -> "exit status of " + cmd);
            return Files.readAllBytes(out);
        } finally {
            Files.delete(out);
        }
    }

    /**
     * libnbd's view of an export: the scalar fields of {@code nbdinfo --json URI}
     * (protocol, can_* flags, export-size...), unquoted. The export's fields
     * are one per line, which is all this reads.
     */
    public static Map<String, String> nbdinfoJson(String uri) throws IOException, InterruptedException {
        Map<String, String> fields = new HashMap<>();
        Pattern field = Pattern.compile("^\\s*\"([^\"]+)\": \"?([^\"\\[{]*?)\"?,?$");
        for (String line : run(List.of(Servers.require("nbdinfo"), "--json", uri)).split("\n")) {
            Matcher m = field.matcher(line);
            if (m.matches()) {
                fields.put(m.group(1), m.group(2));
            }
        }
        return fields;
    }

    /** The whole export, read by libnbd's nbdcopy: an oracle for what jnbd wrote. */
    public static byte[] nbdcopyRead(String uri) throws IOException, InterruptedException {
        return output(List.of(Servers.require("nbdcopy"), uri, "-"));
    }

    /** One line of {@code nbdinfo --map}: an extent and its base:allocation flags. */
    public record MapEntry(long offset, long length, int flags) {
    }

    /** libnbd's view of an export's base:allocation extents, from {@code nbdinfo --map URI}. */
    public static List<MapEntry> nbdinfoMap(String uri) throws IOException, InterruptedException {
        List<MapEntry> map = new ArrayList<>();
        for (String line : run(List.of(Servers.require("nbdinfo"), "--map", uri)).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3) {
                map.add(new MapEntry(Long.parseLong(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2])));
            }
        }
        return map;
    }

    /** Whether a socket can be bound on {@code address} (false where, say, IPv6 is disabled). */
    public static boolean canBind(String address) {
        return canBind(address, 0);
    }

    /** Whether {@code address} and {@code port} can be bound now, i.e. nothing else listens there. */
    public static boolean canBind(String address, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A service name from /etc/services and its TCP port. */
    public record Service(String name, int port) {
    }

    /**
     * A TCP service in /etc/services, other than nbd, whose port is unprivileged
     * and free on 127.0.0.1; null if there is none (or no /etc/services).
     */
    public static Service freeService() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/etc/services"));
        } catch (IOException e) {
            return null;
        }
        for (String line : lines) {
            String[] f = line.replaceFirst("#.*", "").trim().split("\\s+");
            if (f.length < 2 || !f[1].matches("\\d+/tcp") || f[0].equals("nbd")) {
                continue;
            }
            int port = Integer.parseInt(f[1].substring(0, f[1].indexOf('/')));
            if (port > 1024 && canBind("127.0.0.1", port)) {
                return new Service(f[0], port);
            }
        }
        return null;
    }
}
