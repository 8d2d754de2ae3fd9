package io.jnbd.tools;

import io.jnbd.server.Backend;
import io.jnbd.server.NbdServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run behind {@code tools/target/jnbd.aot}, the JVM's
 * ahead-of-time cache that {@code ./jnbd} starts with (JEP 483, 514, 515):
 * the classes the tools load, already parsed and linked, and the method
 * profiles that let the JIT compile the hot paths early.
 *
 * <p>The build runs this class once with {@code -XX:AOTCacheOutput}; it
 * runs each tool's common paths against an embedded server in this JVM, so
 * training needs no NBD server installed. Not a tool: its output is discarded.
 */
final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Files.createTempDirectory("jnbd-aot");
        Path file = dir.resolve("disk.img");
        Console quiet = new Console(InputStream.nullInputStream(),
                new java.io.PrintStream(OutputStream.nullOutputStream()),
                new java.io.PrintStream(OutputStream.nullOutputStream()), false);
        try (NbdServer server = NbdServer.builder()
                .export("", Backend.pattern(64L << 20))
                .unixSocket(dir.resolve("nbd.sock"))
                .start()) {
            String uri = server.uri();
            // Several rounds, so that the profiles the cache records are those of warm code.
            for (int round = 0; round < 2; round++) {
                run(quiet, "info", "--size", uri);
                run(quiet, "info", "--no-content", uri);
                run(quiet, "info", "--json", "--no-content", uri);
                run(quiet, "info", "--map", uri);
                run(quiet, "info", "--map", "--json", uri);
                run(quiet, "copy", uri, "null:");
                run(quiet, "copy", uri, file.toString());
                run(quiet, "dump", "--length=64K", uri);
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir.resolve("nbd.sock"));
            Files.deleteIfExists(dir);
        }
    }

    private static void run(Console console, String... args) {
        int status = Main.run(console, args);
        if (status != 0) {
            throw new IllegalStateException("training run failed: jnbd " + String.join(" ", args));
        }
    }
}
