package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** What the copy tests share: a scratch directory, servers as {@code [ CMD ]} words, checksums, the oracle. */
abstract class CopyFixture {
    Path dir;

    @BeforeEach
    void makeDirectory() throws IOException {
        dir = Servers.tempDir();
    }

    @AfterEach
    void removeDirectory() throws IOException {
        MoreServers.deleteTree(dir);
    }

    /** {@code [ nbdkit --exit-with-parent ARGS ]}: the host's nbdkit as a socket-activated subprocess. */
    static List<String> nbdkit(String... args) {
        List<String> words = new ArrayList<>(List.of("[", Servers.require("nbdkit"), "--exit-with-parent"));
        words.addAll(List.of(args));
        words.add("]");
        return words;
    }

    /** Runs {@code jnbd copy} in-process; each argument is a word or a collection of words. */
    static Libnbd122.Result copy(Object... args) {
        return Jnbd.run(words(args));
    }

    static Libnbd122.Result copyWithInput(byte[] stdin, Object... args) {
        return Jnbd.runWithInput(stdin, words(args));
    }

    private static String[] words(Object... args) {
        List<String> words = new ArrayList<>(List.of("copy"));
        for (Object a : args) {
            if (a instanceof Collection<?> c) {
                c.forEach(x -> words.add(x.toString()));
            } else {
                words.add(a.toString());
            }
        }
        return words.toArray(String[]::new);
    }

    /** Asserts that the copy succeeded, showing what it printed if not. */
    static Libnbd122.Result succeeded(Libnbd122.Result r) {
        assertEquals(0, r.status(), () -> "jnbd copy failed: " + r.stderr());
        return r;
    }

    /** An nbdkit server of its own on a Unix socket in the test's directory, for URIs. */
    Servers.Running nbdkitServer(String name, String... args) throws IOException, InterruptedException {
        Path sub = Files.createDirectories(dir.resolve(name));
        return Servers.nbdkitUnix(sub, args);
    }

    static String sha256(byte[] data) {
        return HexFormat.of().formatHex(digest().digest(data));
    }

    static String sha256(Path file) throws IOException {
        MessageDigest d = digest();
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            while (ch.read(buf.clear()) > 0) {
                d.update(buf.flip());
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The SHA-256 of everything libnbd 1.22's nbdcopy reads from {@code source} (a URI or a file). */
    static String oracleSha256(String source) throws IOException, InterruptedException {
        Libnbd122.require();
        Libnbd122.Result r = Libnbd122.run("sh", "-c", "nbdcopy \"$0\" - | sha256sum", source);
        assertEquals(0, r.status(), r::stderr);
        return r.out().substring(0, 64);
    }

    /** Runs libnbd 1.22's nbdcopy with {@code args}; fails the test if it fails. */
    static void oracleCopy(String... args) throws IOException, InterruptedException {
        Libnbd122.require();
        List<String> cmd = new ArrayList<>(List.of("nbdcopy"));
        cmd.addAll(List.of(args));
        Libnbd122.Result r = Libnbd122.run(cmd.toArray(String[]::new));
        assertEquals(0, r.status(), r::stderr);
    }

    /**
     * A partially sparse file, as libnbd's copy tests make with dd: 100
     * random 512-byte blocks and 100 zero blocks at random places in the
     * first 32 MiB, everything else a hole.
     */
    static Path sparseFile(Path file, long seed) throws IOException {
        Random random = new Random(seed);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 100; i++) {
                byte[] data = new byte[512];
                random.nextBytes(data);
                ch.write(ByteBuffer.wrap(data), random.nextInt(32768) * 997L);
                ch.write(ByteBuffer.allocate(512), random.nextInt(32768) * 997L);
            }
        }
        return file;
    }

    /** Bytes actually allocated to {@code file} on disk (st_blocks * 512). */
    static long allocated(Path file) throws IOException, InterruptedException {
        return Long.parseLong(MoreServers.run(List.of("stat", "-c", "%b", file.toString())).strip()) * 512;
    }
}
