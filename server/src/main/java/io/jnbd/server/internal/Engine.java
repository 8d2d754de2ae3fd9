package io.jnbd.server.internal;

import io.jnbd.internal.posix.Fd;
import io.jnbd.internal.posix.Posix;
import io.jnbd.internal.tls.TlsServer;
import io.jnbd.internal.transport.ChannelTransport;
import io.jnbd.internal.transport.FdTransport;
import io.jnbd.internal.transport.Transport;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Accepts connections and runs each on its own platform thread. Closing it
 * stops the listeners, hangs up on every client and removes the Unix
 * socket files it created.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.jnbd.server");
    private static final AtomicInteger THREADS = new AtomicInteger();

    /** Something that yields connections until closed. */
    private interface Acceptor extends AutoCloseable {
        Transport accept() throws IOException;

        @Override
        void close();
    }

    private final Map<String, Export> exports;
    private final Limits limits;
    private final Handshake.Tls tls;
    private final Set<Transport> open = ConcurrentHashMap.newKeySet();
    private final List<Acceptor> acceptors = new ArrayList<>();
    private final List<Path> socketFiles = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean closed;

    /**
     * @param tlsCertificates nbdkit's --tls-certificates directory, or null for no TLS
     * @param tlsRequired refuse everything but NBD_OPT_STARTTLS until TLS is up
     */
    public Engine(Map<String, Export> exports, Limits limits, Path tlsCertificates, boolean tlsRequired)
            throws IOException {
        this.exports = exports;
        this.limits = limits;
        this.tls = tlsCertificates == null ? null
                : new Handshake.Tls(TlsServer.fromDirectory(tlsCertificates), tlsRequired);
    }

    /** Listens on a new Unix socket at {@code path} (removed again by close()). */
    public void listenUnix(Path path) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        }
        socketFiles.add(path);
        startAcceptor(channelAcceptor(ch), "unix");
    }

    /** Listens on an already bound server socket channel (TCP or Unix). */
    public void listen(ServerSocketChannel ch) {
        startAcceptor(channelAcceptor(ch), "listener");
    }

    /** Accepts on inherited listening descriptors (systemd socket activation). */
    public void listenInherited(int descriptor) throws IOException {
        Fd listener = Posix.inherited(descriptor);
        startAcceptor(new Acceptor() {
            @Override
            public Transport accept() throws IOException {
                return new FdTransport(Posix.accept(listener));
            }

            @Override
            public void close() {
                listener.close();
            }
        }, "fd" + descriptor);
    }

    /** Serves the one client on stdin/stdout; the engine stops when it hangs up. */
    public void serveStdio() throws IOException {
        serve(new StdioTransport(Posix.inherited(0), Posix.inherited(1)));
    }

    /** Serves one already connected client (for tests and embedding). */
    public void serve(SocketChannel channel) throws IOException {
        serve(new ChannelTransport(channel));
    }

    private static Acceptor channelAcceptor(ServerSocketChannel ch) {
        return new Acceptor() {
            @Override
            public Transport accept() throws IOException {
                return new ChannelTransport(ch.accept());
            }

            @Override
            public void close() {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // Nothing more to release.
                }
            }
        };
    }

    private void startAcceptor(Acceptor a, String name) {
        synchronized (acceptors) {
            acceptors.add(a);
        }
        running.incrementAndGet();
        Thread.ofPlatform().name("jnbd-server-accept-" + name).daemon().start(() -> {
            try {
                while (!closed) {
                    Transport t = a.accept();
                    serve(t);
                }
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "jnbd server: accept failed: " + e.getMessage());
                }
            } finally {
                a.close();
                finished();
            }
        });
    }

    private void serve(Transport t) {
        open.add(t);
        if (closed) {
            t.close();
        }
        running.incrementAndGet();
        Thread.ofPlatform().name("jnbd-server-conn-" + THREADS.incrementAndGet()).daemon()
                .start(new Connection(t, exports, limits, tls, () -> {
                    open.remove(t);
                    finished();
                }));
    }

    private void finished() {
        if (running.decrementAndGet() == 0) {
            stopped.countDown();
        }
    }

    /** Waits until nothing is left to serve: listeners closed and the last connection gone. */
    public void await() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (acceptors) {
            acceptors.forEach(Acceptor::close);
        }
        open.forEach(Transport::close);
        for (Path p : socketFiles) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // Best effort: a socket file left behind is harmless.
            }
        }
    }
}
