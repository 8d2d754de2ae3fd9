package io.jnbd.internal.engine;

import io.jnbd.internal.posix.Fd;
import io.jnbd.internal.posix.Posix;
import io.jnbd.internal.posix.Subprocess;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.transport.ChannelTransport;
import io.jnbd.internal.transport.FdTransport;
import io.jnbd.internal.transport.Transport;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Opens the byte stream to a server, in every way libnbd can. Each method
 * blocks until connected; anything that must be released if the handle is
 * closed meanwhile is first handed to {@code pending}, so that a close from
 * another thread can interrupt a connect in progress.
 */
public final class Connector {
    /**
     * Children are spawned from this one thread, which lives as long as the JVM:
     * a server's parent-death signal (nbdkit --exit-with-parent, prctl
     * PR_SET_PDEATHSIG) fires when the spawning thread exits, and the thread
     * that connects may be short-lived.
     */
    private static final ExecutorService SPAWNER = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("jnbd-spawner").factory());

    private Connector() {
    }

    @FunctionalInterface
    private interface Spawn {
        Subprocess run() throws IOException;
    }

    /** Runs {@code s} on the spawner thread; waits through interrupts so that no child goes unowned. */
    private static Subprocess spawn(Spawn s) throws IOException {
        Future<Subprocess> f = SPAWNER.submit(s::run);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof IOException io) {
                        throw io;
                    }
                    throw new IOException("spawn: " + e.getCause(), e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The result of opening: the transport, and the child if one was started. */
    public record Opened(Transport transport, Subprocess child, Path socketActivationDir) {
        Opened(Transport transport) {
            this(transport, null, null);
        }
    }

    /**
     * Tries every address of {@code host} in turn, as libnbd does with
     * getaddrinfo's list. Failing to resolve, or every address failing, sends
     * the handle back to the created state, as in libnbd.
     */
    public static Opened tcp(String host, String port, Consumer<AutoCloseable> pending) throws NbdError {
        int portNumber;
        InetAddress[] addresses;
        try {
            portNumber = servicePort(port);
            addresses = InetAddress.getAllByName(host.isEmpty() ? "localhost" : host);
        } catch (NbdError | UnknownHostException e) {
            throw new NbdError("getaddrinfo: hostname \"" + host + "\" port \"" + port + "\": "
                    + (e instanceof NbdError ? "Servname not supported for ai_socktype" : "Name or service not known"),
                    0, true, e).backToCreated();
        }
        NbdError last = null;
        for (InetAddress a : addresses) {
            try {
                return socket(new InetSocketAddress(a, portNumber), pending);
            } catch (NbdError e) {
                last = e;
            }
        }
        throw new NbdError("connect: " + host + ":" + port + ": could not connect to remote host ("
                + last.getMessage() + ")", last.errno(), true, last).backToCreated();
    }

    /** A port number, or a service name from /etc/services (as getaddrinfo does). */
    static int servicePort(String port) throws NbdError {
        try {
            int p = Integer.parseInt(port);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException notANumber) {
            Integer p = Services.lookup(port);
            if (p != null) {
                return p;
            }
            if (port.equals("nbd")) {
                return 10809;
            }
        }
        throw new NbdError("port " + port + " is not a number or a known service", Errno.EINVAL, true);
    }

    public static Opened unix(Path path, Consumer<AutoCloseable> pending) throws NbdError {
        return socket(UnixDomainSocketAddress.of(path), pending);
    }

    /** TCP or Unix domain, whichever the address is. */
    public static Opened socket(SocketAddress address, Consumer<AutoCloseable> pending) throws NbdError {
        SocketChannel sc = null;
        try {
            sc = address instanceof UnixDomainSocketAddress
                    ? SocketChannel.open(StandardProtocolFamily.UNIX)
                    : SocketChannel.open();
            pending.accept(sc);
            sc.connect(address);
            return new Opened(new ChannelTransport(sc));
        } catch (IOException e) {
            closeQuietly(sc);
            throw new NbdError("connect: " + describe(address) + ": " + reason(e), errnoOfConnect(e), true, e);
        }
    }

    public static Opened vsock(int cid, int port, Consumer<AutoCloseable> pending) throws NbdError {
        try {
            Fd fd = Posix.vsockConnect(cid, port);
            pending.accept(fd);
            return new Opened(new FdTransport(fd));
        } catch (IOException e) {
            throw new NbdError(e.getMessage(), Negotiator.errnoOf(e), true, e);
        }
    }

    /** Runs {@code argv} with one end of a socketpair as its stdin and stdout. */
    public static Opened command(List<String> argv, Consumer<AutoCloseable> pending) throws NbdError {
        Fd[] pair;
        try {
            pair = Posix.socketPair();
        } catch (IOException e) {
            throw new NbdError("socketpair: " + e.getMessage(), Negotiator.errnoOf(e), true, e);
        }
        pending.accept(pair[0]);
        try (Fd childEnd = pair[1]) {
            Subprocess child = spawn(() -> Posix.spawn(argv, Map.of(), Set.of(), childEnd, 0, 1));
            return new Opened(new FdTransport(pair[0]), child, null);
        } catch (IOException e) {
            pair[0].close();
            throw new NbdError(e.getMessage(), Negotiator.errnoOf(e), true, e);
        }
    }

    /**
     * systemd socket activation: a listening Unix socket in a fresh private
     * directory is passed to the child as fd 3, then we connect to it.
     */
    public static Opened socketActivation(List<String> argv, String fdName, Consumer<AutoCloseable> pending)
            throws NbdError {
        Path dir;
        try {
            // /tmp rather than java.io.tmpdir keeps the path inside sockaddr_un's 108 bytes.
            dir = Files.createTempDirectory(Path.of("/tmp"), "jnbd");
        } catch (IOException e) {
            throw new NbdError("mkdtemp: " + e.getMessage(), Errno.EIO, true, e);
        }
        Path sock = dir.resolve("sock");
        Subprocess child;
        try (Fd listener = Posix.unixListener(sock)) {
            child = spawn(() -> Posix.spawnSocketActivated(argv, listener, fdName));
        } catch (IOException e) {
            deleteQuietly(sock, dir);
            throw new NbdError(e.getMessage(), Negotiator.errnoOf(e), true, e);
        }
        try {
            Opened o = socket(UnixDomainSocketAddress.of(sock), pending);
            return new Opened(o.transport(), child, dir);
        } catch (NbdError e) {
            child.terminate(java.time.Duration.ZERO);
            deleteQuietly(sock, dir);
            throw e;
        }
    }

    /** Removes the socket activation directory. */
    public static void deleteQuietly(Path... paths) {
        for (Path p : paths) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // Leaves an empty private directory in /tmp at worst.
            }
        }
    }

    static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // Already failed; the close is only to release the descriptor.
            }
        }
    }

    private static String describe(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            String host = i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + i.getPort();
        }
        if (a instanceof UnixDomainSocketAddress u) {
            return u.getPath().toString();
        }
        return a.toString();
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.channels.AsynchronousCloseException) {
            return "handle closed while connecting";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static int errnoOfConnect(IOException e) {
        if (e instanceof ConnectException) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("No such file")) {
                return Errno.ENOENT;
            }
            return Errno.ECONNREFUSED;
        }
        if (e instanceof NoRouteToHostException) {
            return Errno.EHOSTUNREACH;
        }
        if (e instanceof java.net.SocketException && String.valueOf(e.getMessage()).contains("No such file")) {
            return Errno.ENOENT;
        }
        return Errno.EIO;
    }
}
