package io.jnbd.server;

import io.jnbd.server.internal.Engine;
import io.jnbd.server.internal.Export;
import io.jnbd.server.internal.Limits;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An NBD server inside the JVM: fixed newstyle negotiation, structured
 * replies, extended headers, base:allocation, several named exports, on TCP,
 * Unix sockets, systemd-activated sockets or stdin/stdout.
 *
 * <pre>{@code
 * try (NbdServer server = NbdServer.builder()
 *         .export("", Backend.memory(1L << 30))
 *         .unixSocket(Path.of("/tmp/nbd.sock"))
 *         .start()) {
 *     System.out.println(server.uri());   // nbd+unix:///?socket=/tmp/nbd.sock
 *     server.awaitTermination();
 * }
 * }</pre>
 *
 * <p>Each connection runs on its own thread. {@link #close()} stops
 * listening, hangs up on every client, removes the Unix socket file and
 * closes the backends. Thread-safe.
 */
public final class NbdServer implements AutoCloseable {
    private final Engine engine;
    private final Map<String, Export> exports;
    private final Path unixSocket;
    private final InetSocketAddress tcp;

    private NbdServer(Engine engine, Map<String, Export> exports, Path unixSocket, InetSocketAddress tcp) {
        this.engine = engine;
        this.exports = exports;
        this.unixSocket = unixSocket;
        this.tcp = tcp;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether this process was started by systemd socket activation (LISTEN_PID is our pid, LISTEN_FDS set). */
    public static boolean isSocketActivated() {
        return listenFds() > 0;
    }

    private static int listenFds() {
        String pid = System.getenv("LISTEN_PID");
        String fds = System.getenv("LISTEN_FDS");
        if (pid == null || fds == null || !pid.equals(Long.toString(ProcessHandle.current().pid()))) {
            return 0;
        }
        try {
            return Math.max(0, Integer.parseInt(fds));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The Unix socket the server listens on, or null. */
    public Path unixSocket() {
        return unixSocket;
    }

    /** The TCP port the server listens on (the real one if 0 was asked for), or -1. */
    public int port() {
        return tcp == null ? -1 : tcp.getPort();
    }

    /** An NBD URI for the default export (the first one added). */
    public String uri() {
        return uri(exports.keySet().iterator().next());
    }

    /** An NBD URI for {@code export} on the Unix socket if there is one, else on TCP. */
    public String uri(String export) {
        String path = "/" + URLEncoder.encode(export, StandardCharsets.UTF_8).replace("+", "%20");
        if (unixSocket != null) {
            return "nbd+unix://" + path + "?socket=" + unixSocket;
        }
        if (tcp == null) {
            throw new IllegalStateException("the server listens on neither TCP nor a Unix socket");
        }
        String host = tcp.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return "nbd://" + host + ":" + tcp.getPort() + path;
    }

    /**
     * Waits until the server has nothing left to serve: for a stdin/stdout
     * server, until the client hangs up; otherwise until {@link #close()}.
     */
    public void awaitTermination() throws InterruptedException {
        engine.await();
    }

    @Override
    public void close() {
        engine.close();
        for (Export e : exports.values()) {
            try {
                e.backend().close();
            } catch (IOException | RuntimeException ignored) {
                // Closing is best effort; the server is going away regardless.
            }
        }
    }

    /** Configures and starts an {@link NbdServer}. */
    public static final class Builder {
        private final Map<String, Export> exports = new LinkedHashMap<>();
        private final List<Export> pending = new ArrayList<>();
        private boolean readOnly;
        private Path unixSocket;
        private InetSocketAddress tcp;
        private boolean socketActivation;
        private boolean stdio;
        private Limits limits = Limits.DEFAULT;
        private Path tlsCertificates;
        private boolean tlsRequired;

        private Builder() {
        }

        /** Adds an export; the first one added is also the default export (the empty name). */
        public Builder export(String name, Backend backend) {
            return export(name, backend, null);
        }

        /** Adds an export with a description for clients that ask (NBD_INFO_DESCRIPTION, NBD_OPT_LIST). */
        public Builder export(String name, Backend backend, String description) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(backend, "backend");
            if (name.getBytes(StandardCharsets.UTF_8).length > 4096) {
                throw new IllegalArgumentException("export name over 4096 bytes");
            }
            if (pending.stream().anyMatch(e -> e.name().equals(name))) {
                throw new IllegalArgumentException("export '" + name + "' added twice");
            }
            pending.add(new Export(name, backend, description, false));
            return this;
        }

        /** Serves every export read-only. */
        public Builder readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        /** Listens on a Unix socket at {@code path}, which must not exist yet; removed at close. */
        public Builder unixSocket(Path path) {
            this.unixSocket = Objects.requireNonNull(path);
            return this;
        }

        /** Listens on TCP {@code host:port}; port 0 picks a free port ({@link NbdServer#port()}). */
        public Builder tcp(String host, int port) throws IOException {
            this.tcp = new InetSocketAddress(InetAddress.getByName(host), port);
            return this;
        }

        /** Accepts on the sockets systemd (or libnbd's socket activation) passed in LISTEN_FDS. */
        public Builder socketActivation() {
            this.socketActivation = true;
            return this;
        }

        /** Serves one client on stdin/stdout (nbdkit's {@code -s}); nothing else may use stdout. */
        public Builder stdio() {
            this.stdio = true;
            return this;
        }

        /**
         * Offers TLS (NBD_OPT_STARTTLS) with the X.509 certificate
         * {@code server-cert.pem} and key {@code server-key.pem} in
         * {@code certificates} (nbdkit's {@code --tls-certificates} layout);
         * with {@code require}, clients must use it (nbdkit's {@code --tls=require}).
         */
        public Builder tls(Path certificates, boolean require) {
            this.tlsCertificates = Objects.requireNonNull(certificates);
            this.tlsRequired = require;
            return this;
        }

        /**
         * Block size constraints (NBD_INFO_BLOCK_SIZE): requests must be aligned to
         * {@code minimum}; reads and writes may carry at most {@code maximum} bytes.
         * The default is 1, 4096 and 32 MiB.
         */
        public Builder blockSize(int minimum, int preferred, int maximum) {
            this.limits = new Limits(minimum, preferred, maximum);
            return this;
        }

        /**
         * Starts listening (and serving). With no listener chosen, listens on
         * 127.0.0.1 and a free TCP port.
         */
        public NbdServer start() throws IOException {
            if (pending.isEmpty()) {
                throw new IllegalStateException("no exports");
            }
            for (Export e : pending) {
                exports.put(e.name(), new Export(e.name(), e.backend(), e.description(),
                        readOnly || !e.backend().isWritable()));
            }
            if (!stdio && !socketActivation && unixSocket == null && tcp == null) {
                tcp("127.0.0.1", 0);
            }
            // In insertion order: the first export is the default one, and NBD_OPT_LIST lists them as added.
            Engine engine = new Engine(Collections.unmodifiableMap(new LinkedHashMap<>(exports)), limits,
                    tlsCertificates, tlsRequired);
            InetSocketAddress bound = null;
            try {
                if (unixSocket != null) {
                    engine.listenUnix(unixSocket);
                }
                if (tcp != null) {
                    ServerSocketChannel ch = ServerSocketChannel.open();
                    try {
                        ch.bind(tcp);
                    } catch (IOException e) {
                        ch.close();
                        throw new IOException("cannot listen on " + tcp + ": " + e.getMessage(), e);
                    }
                    bound = (InetSocketAddress) ch.getLocalAddress();
                    engine.listen(ch);
                }
                if (socketActivation) {
                    int n = listenFds();
                    if (n == 0) {
                        throw new IllegalStateException("not socket activated (LISTEN_PID/LISTEN_FDS not for us)");
                    }
                    for (int fd = 3; fd < 3 + n; fd++) {
                        engine.listenInherited(fd);
                    }
                }
                if (stdio) {
                    engine.serveStdio();
                }
            } catch (IOException | RuntimeException e) {
                engine.close();
                throw e;
            }
            return new NbdServer(engine, exports, unixSocket, bound);
        }
    }
}
