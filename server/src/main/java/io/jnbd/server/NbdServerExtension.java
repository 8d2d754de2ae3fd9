package io.jnbd.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs an {@link NbdServer} on a private Unix socket for JUnit 5 tests:
 * for the whole class when the field is static, for each test otherwise.
 *
 * <pre>{@code
 * class MyTest {
 *     @RegisterExtension
 *     static NbdServerExtension nbd = NbdServerExtension.memory("1G");
 *
 *     @Test
 *     void writesAndReads() {
 *         try (NbdHandle h = new NbdHandle()) {
 *             h.connectUri(nbd.uri());
 *             ...
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Needs JUnit Jupiter on the class path (the server itself does not).
 */
public final class NbdServerExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {
    private final Supplier<NbdServer.Builder> configuration;
    private NbdServer server;
    private Path dir;
    private boolean perClass;

    private NbdServerExtension(Supplier<NbdServer.Builder> configuration) {
        this.configuration = configuration;
    }

    /** A server with one export, a sparse RAM disk of {@code size} ({@code "1G"}, {@code "64M"}, ...). */
    public static NbdServerExtension memory(String size) {
        long bytes = Backend.parseSize(size);
        return new NbdServerExtension(() -> NbdServer.builder().export("", Backend.memory(bytes)));
    }

    /**
     * A server configured by {@code configuration} (exports, read-only, block
     * sizes); the extension chooses the listener, so don't.
     */
    public static NbdServerExtension of(Supplier<NbdServer.Builder> configuration) {
        return new NbdServerExtension(configuration);
    }

    /** The running server. */
    public NbdServer server() {
        if (server == null) {
            throw new IllegalStateException("the NBD server runs only during the tests");
        }
        return server;
    }

    /** The NBD URI of the default export ({@code nbd+unix:///?socket=...}). */
    public String uri() {
        return server().uri();
    }

    /** The NBD URI of a named export. */
    public String uri(String export) {
        return server().uri(export);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        perClass = true;
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        if (!perClass) {
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!perClass) {
            stop();
        }
    }

    private void start() throws IOException {
        // /tmp rather than java.io.tmpdir: Unix socket paths must fit in 108 bytes.
        Path base = Files.isDirectory(Path.of("/tmp")) ? Path.of("/tmp") : Path.of(System.getProperty("java.io.tmpdir"));
        dir = Files.createTempDirectory(base, "jnbd-server");
        server = configuration.get().unixSocket(dir.resolve("nbd.sock")).start();
    }

    private void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            dir = null;
        }
    }
}
