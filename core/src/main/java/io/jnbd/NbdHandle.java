package io.jnbd;

import io.jnbd.internal.ApiTable;
import io.jnbd.internal.ApiTable.PublicState;
import io.jnbd.internal.Strerror;
import io.jnbd.internal.engine.Command;
import io.jnbd.internal.engine.Connector;
import io.jnbd.internal.engine.Debug;
import io.jnbd.internal.engine.HandshakeConfig;
import io.jnbd.internal.engine.NbdError;
import io.jnbd.internal.engine.Negotiated;
import io.jnbd.internal.engine.Negotiator;
import io.jnbd.internal.engine.Transmission;
import io.jnbd.internal.engine.WireChannel;
import io.jnbd.internal.posix.Posix;
import io.jnbd.internal.posix.Subprocess;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.tls.TlsConfig;
import io.jnbd.internal.transport.ChannelTransport;
import io.jnbd.internal.uri.NbdUri;
import io.jnbd.internal.uri.TlsPolicy;
import io.jnbd.internal.uri.UriPolicy;
import io.jnbd.internal.uri.UriPolicyError;
import io.jnbd.internal.uri.UriSyntaxError;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A connection to an NBD server: the jnbd counterpart of libnbd's
 * {@code struct nbd_handle}.
 *
 * <p>Every method {@code fooBar} is libnbd's {@code nbd_foo_bar} with the same
 * semantics; the libnbd man page of that call is its specification. A call made
 * in a handle state that libnbd forbids throws {@link NbdException} (errno
 * ENOTCONN on a newly created handle, EINVAL otherwise) and changes nothing.
 *
 * <h2>Threads</h2>
 * All methods are thread-safe. Synchronous commands ({@link #pread},
 * {@link #pwrite}, ...) may be issued by many threads at once, platform or
 * virtual; each waits only for its own reply. A connection's replies are read
 * by one daemon thread per handle, which ends when the connection does.
 *
 * <h2>Buffers</h2>
 * {@code ByteBuffer} arguments cover position to limit; a successful read or
 * write advances the position to the limit, as NIO channels do. Direct buffers
 * avoid a copy. {@code byte[]} arguments cover the whole array.
 */
public final class NbdHandle implements AutoCloseable {
    /** The libnbd API version jnbd implements. */
    public static final String LIBNBD_API_VERSION = "1.22";

    private static final AtomicInteger HANDLE_NUMBERS = new AtomicInteger();
    private static final System.Logger LOGGER = System.getLogger("io.jnbd");

    /** jnbd's own state, finer than libnbd's six public ones. */
    private enum State {
        CREATED("START", "Handle after being initially created", PublicState.CREATED),
        CONNECTING("CONNECT.START", "Connecting to the remote server", PublicState.CONNECTING),
        HANDSHAKING("MAGIC.START", "Prepare to receive the magic identification from remote",
                PublicState.CONNECTING),
        OPTION("NEWSTYLE.START", "Negotiating an option with the server", PublicState.CONNECTING),
        NEGOTIATING("NEGOTIATING", "Connection is ready to negotiate an NBD option", PublicState.NEGOTIATING),
        READY("READY", "Connection is ready to process NBD commands", PublicState.CONNECTED),
        CLOSED("CLOSED", "Connection is closed", PublicState.CLOSED),
        DEAD("DEAD", "Connection is in an unrecoverable error state, can only be closed", PublicState.DEAD);

        final String shortName;
        final String description;
        final PublicState publicState;

        State(String shortName, String description, PublicState publicState) {
            this.shortName = shortName;
            this.description = description;
            this.publicState = publicState;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled on every state change, and on aio completions while someone polls. */
    private final Condition changed = lock.newCondition();
    /** Counts progress: state changes and aio completions. */
    private final AtomicLong events = new AtomicLong();
    /** Threads inside {@link #poll}; completions take the lock to wake them only when there are some. */
    private final AtomicInteger pollers = new AtomicInteger();
    private long eventsSeenByPoll;
    /** Set when the handle dies; reported once by {@link #poll}. */
    private NbdError deathCause;
    private boolean deathReported;

    private volatile State state = State.CREATED;

    // Settings (guarded by lock for writes; volatile for lock-free reads).
    private volatile boolean debugEnabled;
    private volatile DebugCallback debugCallback;
    private volatile String handleName;
    private volatile long privateData;
    private volatile String exportName = "";
    private volatile boolean requestBlockSize = true;
    private volatile boolean fullInfo;
    private volatile Tls tls = Tls.DISABLE;
    private volatile String tlsCertificates;
    private volatile boolean tlsVerifyPeer = true;
    private volatile String tlsUsername;
    private volatile String tlsPskFile;
    private volatile String tlsHostname;
    private volatile boolean requestExtendedHeaders = true;
    private volatile boolean requestStructuredReplies = true;
    private volatile boolean requestMetaContext = true;
    private volatile int handshakeFlags = HandshakeFlag.MASK;
    private volatile boolean preadInitialize = true;
    private volatile int strict = Strict.MASK;
    private volatile boolean optMode;
    private final List<String> metaContexts = new ArrayList<>();
    private volatile int uriAllowTransports = AllowTransport.MASK;
    private volatile Tls uriAllowTls = Tls.ALLOW;
    private volatile boolean uriAllowLocalFile;
    private volatile String socketActivationName = "";

    // The connection.
    private final Negotiated negotiated = new Negotiated();
    private final List<AutoCloseable> pendingConnect = new ArrayList<>();
    private volatile WireChannel channel;
    private volatile Negotiator negotiator;
    private volatile Transmission transmission;
    private volatile Subprocess child;
    private volatile Path socketActivationDir;
    /** How this connection is named in a URI; null where no URI can name it (command, socket). */
    private volatile NbdUri.Builder uriTarget;
    /** The host name connected to, for TLS name checks. */
    private volatile String connectedHost;
    /** The TLS settings of the current connection, captured when it started. */
    private volatile TlsConfig tlsConfig = TlsConfig.DISABLED;
    /** The latest aio connect or aio option thread, which close() waits for. */
    private Thread workerThread;
    private boolean released;

    private final Debug debug = new Debug() {
        @Override
        public boolean enabled() {
            return debugEnabled;
        }

        @Override
        public void emit(String context, String message) {
            DebugCallback cb = debugCallback;
            if (cb != null) {
                cb.call(context, message);
            } else {
                LOGGER.log(System.Logger.Level.INFO, "libnbd: " + handleName + ": " + context + ": " + message);
            }
        }
    };

    /** {@code nbd_create}: a new handle in the created state. Debugging is on if LIBNBD_DEBUG=1. */
    public NbdHandle() {
        handleName = "nbd" + HANDLE_NUMBERS.incrementAndGet();
        debugEnabled = "1".equals(System.getenv("LIBNBD_DEBUG"));
    }

    // ---------------------------------------------------------------- state checks

    private NbdException error(String method, String message, int errno) {
        return new NbdException(method + ": " + message, errno);
    }

    private NbdException error(String method, NbdError e) {
        return new NbdException(method + ": " + e.getMessage(), e.errno(), e);
    }

    /** Throws unless {@code call} is permitted in the current state. */
    private State require(ApiTable.Call call) {
        State s = state;
        if (!call.allowedIn(s.publicState)) {
            throw stateError(call, s);
        }
        return s;
    }

    private State require(String method) {
        return require(ApiTable.call(method));
    }

    private NbdException stateError(ApiTable.Call call, State s) {
        return error(call.javaName(), "invalid state: " + s.shortName + ": the handle must be "
                + call.permittedText(), s == State.CREATED ? Errno.ENOTCONN : Errno.EINVAL);
    }

    /** Moves to {@code to} and wakes pollers; caller holds the lock. */
    private void setState(State to) {
        state = to;
        events.incrementAndGet();
        changed.signalAll();
    }

    /** An aio command completed. The counter goes first, so a poller either sees it or is waiting to be woken. */
    private void progress() {
        events.incrementAndGet();
        if (pollers.get() > 0) {
            lock.lock();
            try {
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private static <T> T nonNull(T value, String name) {
        return Objects.requireNonNull(value, name);
    }

    // ---------------------------------------------------------------- debug, names, private data

    public void setDebug(boolean debug) {
        debugEnabled = debug;
    }

    public boolean getDebug() {
        return debugEnabled;
    }

    /** Sends debug messages to {@code callback} instead of the {@code io.jnbd} System.Logger. */
    public void setDebugCallback(DebugCallback callback) {
        debugCallback = nonNull(callback, "callback");
    }

    public void clearDebugCallback() {
        debugCallback = null;
    }

    public void setHandleName(String handleName) {
        this.handleName = nonNull(handleName, "handleName");
    }

    public String getHandleName() {
        return handleName;
    }

    /** Stores a number for the caller; returns the previous one. */
    public long setPrivateData(long privateData) {
        lock.lock();
        try {
            long old = this.privateData;
            this.privateData = privateData;
            return old;
        } finally {
            lock.unlock();
        }
    }

    public long getPrivateData() {
        return privateData;
    }

    public String getPackageName() {
        return "jnbd";
    }

    /** jnbd's version (the libnbd API it implements is {@link #LIBNBD_API_VERSION}). */
    public String getVersion() {
        String v = NbdHandle.class.getPackage().getImplementationVersion();
        return v != null ? v : Version.VERSION;
    }

    // ---------------------------------------------------------------- settings of the created state

    /**
     * Runs a setter in a permitted state, atomically with the state check.
     * Checks of the value belong in {@code apply}: libnbd checks the state first.
     */
    private void setting(String method, Runnable apply) {
        lock.lock();
        try {
            require(method);
            apply.run();
        } finally {
            lock.unlock();
        }
    }

    public void setExportName(String exportName) {
        nonNull(exportName, "exportName");
        setting("setExportName", () -> {
            byteLimit("setExportName", exportName, "export name");
            // As libnbd: the name it already has changes nothing, so nothing learnt is forgotten.
            if (!exportName.equals(this.exportName)) {
                this.exportName = exportName;
                negotiated.forgetExport();
            }
        });
    }

    public String getExportName() {
        return exportName;
    }

    private void byteLimit(String method, String s, String what) {
        if (s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Nbd.MAX_STRING) {
            throw error(method, what + " too long", Errno.ENAMETOOLONG);
        }
    }

    public void setRequestBlockSize(boolean request) {
        setting("setRequestBlockSize", () -> requestBlockSize = request);
    }

    public boolean getRequestBlockSize() {
        return requestBlockSize;
    }

    public void setFullInfo(boolean request) {
        setting("setFullInfo", () -> fullInfo = request);
    }

    public boolean getFullInfo() {
        return fullInfo;
    }

    /**
     * Whether connecting asks for TLS: {@link Tls#DISABLE} (the default) never
     * does; {@link Tls#ALLOW} sends NBD_OPT_STARTTLS and goes on in plaintext
     * only if the server declines it; {@link Tls#REQUIRE} fails to connect
     * unless the connection is encrypted and the server authenticated, so that
     * no NBD option after NBD_OPT_STARTTLS, and no command, is ever sent or
     * received in plaintext. Once a server has accepted NBD_OPT_STARTTLS, a
     * failed TLS handshake fails the connection in both modes: there is no
     * fallback to plaintext. Credentials come from
     * {@link #setTlsCertificates} (X.509) or {@link #setTlsPskFile} (PSK).
     */
    public void setTls(Tls tls) {
        nonNull(tls, "tls");
        setting("setTls", () -> {
            this.tls = tls;
        });
    }

    public Tls getTls() {
        return tls;
    }

    /** True if the connection switched to TLS (after NBD_OPT_STARTTLS and a successful handshake). */
    public boolean getTlsNegotiated() {
        require("getTlsNegotiated");
        return negotiated.tlsNegotiated;
    }

    /**
     * The X.509 directory, as libnbd lays it out: {@code ca-cert.pem} (the CAs
     * the server's certificate must chain to), optionally {@code client-cert.pem}
     * and {@code client-key.pem} (for servers that verify clients) and
     * {@code ca-crl.pem}. Keys may be PKCS#8, PKCS#1 RSA or SEC1 EC PEM, unencrypted,
     * as GnuTLS's certtool writes them. Unset, libnbd's defaults are looked in
     * ({@code $HOME/.pki/libnbd}, {@code $HOME/.config/pki/libnbd}; for root
     * {@code /etc/pki/libnbd}); a directory without {@code ca-cert.pem} does not
     * count, and without one the system's trusted CAs are used. Not used with
     * {@link #setTlsPskFile}.
     */
    public void setTlsCertificates(String dir) {
        nonNull(dir, "dir");
        setting("setTlsCertificates", () -> tlsCertificates = dir);
    }

    public String getTlsCertificates() {
        return tlsCertificates;
    }

    /**
     * Whether the server's X.509 certificate is checked (true by default): it
     * must be within its validity period, chain to a trusted CA, not be revoked
     * by {@code ca-crl.pem}, and name the host ({@link #getTlsHostname()}), each
     * failure reported as such. Where there is no host name (a Unix socket or
     * vsock without {@link #setTlsHostname}) the name is not checked but, unlike
     * libnbd, the chain still is.
     */
    public void setTlsVerifyPeer(boolean verify) {
        setting("setTlsVerifyPeer", () -> tlsVerifyPeer = verify);
    }

    public boolean getTlsVerifyPeer() {
        return tlsVerifyPeer;
    }

    public void setTlsUsername(String username) {
        nonNull(username, "username");
        setting("setTlsUsername", () -> tlsUsername = username);
    }

    /** The TLS user name; by default the local user name, as libnbd. */
    public String getTlsUsername() {
        String u = tlsUsername;
        return u != null ? u : System.getProperty("user.name");
    }

    /**
     * Uses TLS-PSK, with the key of {@link #getTlsUsername()} in {@code filename}
     * (psktool's format: {@code username:hexkey} lines), instead of X.509. This
     * needs BouncyCastle's TLS jars at run time; without them connecting with
     * TLS fails with ENOTSUP.
     */
    public void setTlsPskFile(String filename) {
        nonNull(filename, "filename");
        setting("setTlsPskFile", () -> tlsPskFile = filename);
    }

    public String getTlsPskFile() {
        return tlsPskFile;
    }

    public void setTlsHostname(String hostname) {
        nonNull(hostname, "hostname");
        setting("setTlsHostname", () -> tlsHostname = hostname);
    }

    /** The name checked against the server's certificate; by default the host connected to. */
    public String getTlsHostname() {
        String h = tlsHostname;
        if (h != null) {
            return h;
        }
        String host = connectedHost;
        return host != null ? host : "";
    }

    public void setRequestExtendedHeaders(boolean request) {
        setting("setRequestExtendedHeaders", () -> requestExtendedHeaders = request);
    }

    public boolean getRequestExtendedHeaders() {
        return requestExtendedHeaders;
    }

    public boolean getExtendedHeadersNegotiated() {
        require("getExtendedHeadersNegotiated");
        return negotiated.extendedHeaders;
    }

    public void setRequestStructuredReplies(boolean request) {
        setting("setRequestStructuredReplies", () -> requestStructuredReplies = request);
    }

    public boolean getRequestStructuredReplies() {
        return requestStructuredReplies;
    }

    public boolean getStructuredRepliesNegotiated() {
        require("getStructuredRepliesNegotiated");
        return negotiated.structuredReplies;
    }

    public void setRequestMetaContext(boolean request) {
        setting("setRequestMetaContext", () -> requestMetaContext = request);
    }

    public boolean getRequestMetaContext() {
        return requestMetaContext;
    }

    public void setHandshakeFlags(int flags) {
        setting("setHandshakeFlags", () -> {
            if ((flags & ~HandshakeFlag.MASK) != 0) {
                throw error("setHandshakeFlags", "invalid value for flag: 0x" + Integer.toHexString(flags),
                        Errno.EINVAL);
            }
            handshakeFlags = flags;
        });
    }

    public int getHandshakeFlags() {
        return handshakeFlags;
    }

    /**
     * libnbd's nbd_set_pread_initialize: whether a read's buffer is zeroed so
     * that a failed read, or a server that sends less data than asked for,
     * never leaves the buffer's old contents behind. On by default. The
     * outcome is libnbd's, the timing is not: libnbd zeroes the whole buffer
     * when the read is issued; jnbd zeroes a refused read at once and a sent
     * one only when its reply does not cover the buffer with data (a failure,
     * holes, several chunks), so the common read writes the buffer once. Like
     * libnbd's, the buffer's contents while the read is in flight are
     * unspecified.
     */
    public void setPreadInitialize(boolean request) {
        preadInitialize = request;
    }

    public boolean getPreadInitialize() {
        return preadInitialize;
    }

    public void setStrictMode(int flags) {
        if ((flags & ~Strict.MASK) != 0) {
            throw error("setStrictMode", "invalid value for flag: 0x" + Integer.toHexString(flags), Errno.EINVAL);
        }
        strict = flags;
    }

    public int getStrictMode() {
        return strict;
    }

    public void setOptMode(boolean enable) {
        setting("setOptMode", () -> optMode = enable);
    }

    public boolean getOptMode() {
        return optMode;
    }

    public void addMetaContext(String name) {
        nonNull(name, "name");
        setting("addMetaContext", () -> {
            byteLimit("addMetaContext", name, "meta context name");
            synchronized (metaContexts) {
                metaContexts.add(name);
            }
        });
    }

    public long getNrMetaContexts() {
        synchronized (metaContexts) {
            return metaContexts.size();
        }
    }

    public String getMetaContext(long i) {
        synchronized (metaContexts) {
            if (i < 0 || i >= metaContexts.size()) {
                throw error("getMetaContext", "meta context request out of range", Errno.EINVAL);
            }
            return metaContexts.get((int) i);
        }
    }

    public void clearMetaContexts() {
        setting("clearMetaContexts", () -> {
            synchronized (metaContexts) {
                metaContexts.clear();
            }
        });
    }

    public void setUriAllowTransports(int mask) {
        setting("setUriAllowTransports", () -> {
            if ((mask & ~AllowTransport.MASK) != 0) {
                throw error("setUriAllowTransports", "invalid value for flag: 0x" + Integer.toHexString(mask),
                        Errno.EINVAL);
            }
            uriAllowTransports = mask;
        });
    }

    public void setUriAllowTls(Tls tls) {
        nonNull(tls, "tls");
        setting("setUriAllowTls", () -> uriAllowTls = tls);
    }

    public void setUriAllowLocalFile(boolean allow) {
        setting("setUriAllowLocalFile", () -> uriAllowLocalFile = allow);
    }

    public void setSocketActivationName(String socketName) {
        nonNull(socketName, "socketName");
        setting("setSocketActivationName", () -> {
            if (socketName.length() > 32 || !socketName.chars().allMatch(c -> c < 128
                    && Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.')) {
                throw error("setSocketActivationName", "invalid socket activation name: must be a short "
                        + "alphanumeric string", Errno.EINVAL);
            }
            socketActivationName = socketName;
        });
    }

    public String getSocketActivationName() {
        return socketActivationName;
    }

    // ---------------------------------------------------------------- feature queries

    /**
     * True: TLS with X.509 certificates runs on the JDK's own TLS. (TLS-PSK also
     * needs BouncyCastle at run time; see {@link #setTlsPskFile}.)
     */
    public boolean supportsTls() {
        return true;
    }

    /** True where this platform can create AF_VSOCK sockets. */
    public boolean supportsVsock() {
        return Posix.isAvailable() && Posix.supportsVsock();
    }

    /** True: NBD URIs are always supported. */
    public boolean supportsUri() {
        return true;
    }

    /** Whether {@code uri} looks like an NBD URI (a syntactic check, as nbd_is_uri). */
    public boolean isUri(String uri) {
        return NbdUri.isUri(nonNull(uri, "uri"));
    }

    // ---------------------------------------------------------------- connecting

    /** Opens a transport; runs on the connecting thread. */
    @FunctionalInterface
    private interface Opener {
        Connector.Opened open() throws NbdError;
    }

    public void connectTcp(String hostname, String port) {
        tcp("connectTcp", false, hostname, port);
    }

    public void aioConnectTcp(String hostname, String port) {
        tcp("aioConnectTcp", true, hostname, port);
    }

    private void tcp(String method, boolean async, String hostname, String port) {
        nonNull(hostname, "hostname");
        nonNull(port, "port");
        connect(method, async, () -> Connector.tcp(hostname, port, this::pending),
                NbdUri.builder().tcp(hostname, port), hostname);
    }

    public void connectUnix(String unixsocket) {
        unix("connectUnix", false, unixsocket);
    }

    public void aioConnectUnix(String unixsocket) {
        unix("aioConnectUnix", true, unixsocket);
    }

    private void unix(String method, boolean async, String path) {
        nonNull(path, "unixsocket");
        connect(method, async, () -> Connector.unix(Path.of(path), this::pending), NbdUri.builder().unix(path),
                null);
    }

    /**
     * Connects over AF_VSOCK. {@code cid} and {@code port} are unsigned 32-bit
     * numbers ({@code -1} is 4294967295).
     */
    public void connectVsock(int cid, int port) {
        vsock("connectVsock", false, cid, port);
    }

    public void aioConnectVsock(int cid, int port) {
        vsock("aioConnectVsock", true, cid, port);
    }

    private void vsock(String method, boolean async, int cid, int port) {
        connect(method, async, () -> Connector.vsock(cid, port, this::pending),
                NbdUri.builder().vsock(Integer.toUnsignedLong(cid), Integer.toUnsignedLong(port)), null);
    }

    /**
     * Connects over a socket the caller has already connected. The handle
     * takes ownership: it closes {@code sock} when done.
     */
    public void connectSocket(SocketChannel sock) {
        socketChannel("connectSocket", false, sock);
    }

    public void aioConnectSocket(SocketChannel sock) {
        socketChannel("aioConnectSocket", true, sock);
    }

    private void socketChannel(String method, boolean async, SocketChannel sock) {
        nonNull(sock, "sock");
        connect(method, async, () -> {
            try {
                return new Connector.Opened(new ChannelTransport(sock), null, null);
            } catch (IOException e) {
                throw new NbdError("socket: " + e.getMessage(), Errno.EBADF, true, e);
            }
        }, null, null);
    }

    /**
     * Starts connecting to {@code addr}: an {@link InetSocketAddress}, a
     * {@link UnixDomainSocketAddress} or a {@link VsockAddress}.
     */
    public void aioConnect(SocketAddress addr) {
        nonNull(addr, "addr");
        // libnbd checks the state before the address; connect() checks it again, atomically.
        require("aioConnect");
        switch (addr) {
            case InetSocketAddress i -> {
                if (i.isUnresolved()) {
                    throw error("aioConnect", "address is not resolved: " + i, Errno.EINVAL);
                }
                connect("aioConnect", true, () -> Connector.socket(i, this::pending),
                        NbdUri.builder().tcp(i.getAddress().getHostAddress(), Integer.toString(i.getPort())), null);
            }
            case UnixDomainSocketAddress u -> connect("aioConnect", true, () -> Connector.socket(u, this::pending),
                    NbdUri.builder().unix(u.getPath().toString()), null);
            case VsockAddress v -> vsock("aioConnect", true, v.cid(), v.port());
            default -> throw error("aioConnect", "unsupported address family: " + addr.getClass().getName(),
                    Errno.EAFNOSUPPORT);
        }
    }

    /**
     * Runs {@code argv} as a subprocess whose stdin and stdout are one end of a
     * socketpair (stderr is inherited) and connects to it. {@link #close()}
     * reaps it.
     */
    public void connectCommand(List<String> argv) {
        command("connectCommand", false, argv);
    }

    /** As {@link #connectCommand} but returns at once; watch {@link #aioIsConnecting()} and friends. */
    public void aioConnectCommand(List<String> argv) {
        command("aioConnectCommand", true, argv);
    }

    private void command(String method, boolean async, List<String> argv) {
        List<String> args = argvCopy(method, argv);
        connect(method, async, () -> Connector.command(args, this::pending), null, null);
    }

    /**
     * Runs {@code argv} with systemd socket activation (a listening socket as
     * fd 3, LISTEN_PID, LISTEN_FDS=1 and LISTEN_FDNAMES) and connects to it.
     */
    public void connectSystemdSocketActivation(List<String> argv) {
        socketActivation("connectSystemdSocketActivation", false, argv);
    }

    public void aioConnectSystemdSocketActivation(List<String> argv) {
        socketActivation("aioConnectSystemdSocketActivation", true, argv);
    }

    private void socketActivation(String method, boolean async, List<String> argv) {
        List<String> args = argvCopy(method, argv);
        String name = socketActivationName;
        connect(method, async, () -> Connector.socketActivation(args, name.isEmpty() ? "unknown" : name,
                this::pending), null, null);
    }

    private List<String> argvCopy(String method, List<String> argv) {
        nonNull(argv, "argv");
        // libnbd checks the state before argv; connect() checks it again, atomically.
        require(method);
        List<String> args = List.copyOf(argv);
        if (args.isEmpty()) {
            throw error(method, "missing command name in argv list", Errno.EINVAL);
        }
        return args;
    }

    /**
     * Connects to an NBD URI: nbd://, nbd+unix://, nbd+vsock://, and their TLS
     * forms nbds://, nbds+unix://, nbds+vsock://, which set {@link Tls#REQUIRE}.
     * The export name and the {@code socket=} query come from the URI, and so
     * do the TLS settings: the user name ({@code nbds://alice@host} or
     * {@code tls-username}), {@code tls-certificates} and {@code tls-psk-file}
     * (refused unless {@link #setUriAllowLocalFile} allows local files),
     * {@code tls-hostname} and {@code tls-verify-peer}. The scheme is checked
     * against {@link #setUriAllowTransports} and {@link #setUriAllowTls}.
     */
    public void connectUri(String uri) {
        uri("connectUri", false, uri);
    }

    public void aioConnectUri(String uri) {
        uri("aioConnectUri", true, uri);
    }

    private void uri(String method, boolean async, String uri) {
        nonNull(uri, "uri");
        NbdUri u;
        lock.lock();
        try {
            require(method);
            try {
                u = NbdUri.parse(uri);
                UriPolicy.checkAllowed(u, uriAllowTransports, TlsPolicy.valueOf(uriAllowTls.name()),
                        uriAllowLocalFile);
            } catch (UriSyntaxError e) {
                throw error(method, e.getMessage(), e.getErrno());
            } catch (UriPolicyError e) {
                throw error(method, e.getMessage(), e.getErrno());
            }
            if (u.tls()) {
                tls = Tls.REQUIRE;
            }
            if (u.tlsCertificates() != null) {
                tlsCertificates = u.tlsCertificates();
            }
            if (u.tlsPskFile() != null) {
                tlsPskFile = u.tlsPskFile();
            }
            if (u.tlsUsername() != null) {
                tlsUsername = u.tlsUsername();
            }
            if (u.tlsHostname() != null) {
                tlsHostname = u.tlsHostname();
            }
            if (u.tlsVerifyPeer() != null) {
                tlsVerifyPeer = u.tlsVerifyPeer();
            }
            exportName = u.exportName();
            negotiated.forgetExport();
        } finally {
            lock.unlock();
        }
        switch (u.transport()) {
            case TCP -> tcp(method, async, u.host(), u.port());
            case UNIX -> unix(method, async, u.socketPath());
            case VSOCK -> vsock(method, async, (int) u.vsockCid(), (int) u.vsockPort());
        }
    }

    /** Registers what a close() during connect must release. */
    private void pending(AutoCloseable c) {
        boolean closeNow;
        lock.lock();
        try {
            closeNow = released;
            if (!closeNow) {
                pendingConnect.add(c);
            }
        } finally {
            lock.unlock();
        }
        if (closeNow) {
            try {
                c.close();
            } catch (Exception ignored) {
                // The handle is closed; the connect in progress fails either way.
            }
        }
    }

    /**
     * The common path of every connect call: check the state, then connect
     * and handshake, on this thread (sync) or a new one (aio). {@code host}
     * is the TCP host name, null for other transports.
     */
    private void connect(String method, boolean async, Opener opener, NbdUri.Builder target, String host) {
        HandshakeConfig cfg;
        lock.lock();
        try {
            require(method);
            cfg = handshakeConfig();
            uriTarget = target;
            connectedHost = host;
            tlsConfig = new TlsConfig(tls, tlsCertificates, tlsVerifyPeer, getTlsUsername(), tlsPskFile,
                    getTlsHostname().isEmpty() ? null : getTlsHostname());
            setState(State.CONNECTING);
            if (async) {
                workerThread = Thread.ofPlatform().daemon().name("jnbd-connect-" + handleName)
                        .unstarted(() -> runConnect(opener, cfg));
                workerThread.start();
                return;
            }
        } finally {
            lock.unlock();
        }
        runConnect(opener, cfg);
        State s = state;
        if (s == State.DEAD || s == State.CLOSED || s == State.CREATED) {
            NbdError cause = takeDeathCause();
            throw cause != null ? error(method, cause)
                    : error(method, "handle was closed while connecting", Errno.ESHUTDOWN);
        }
    }

    private HandshakeConfig handshakeConfig() {
        List<String> contexts;
        synchronized (metaContexts) {
            contexts = List.copyOf(metaContexts);
        }
        return new HandshakeConfig(exportName, handshakeFlags, requestStructuredReplies, requestExtendedHeaders,
                requestMetaContext, contexts, fullInfo, requestBlockSize, optMode);
    }

    private void runConnect(Opener opener, HandshakeConfig cfg) {
        try {
            Connector.Opened opened = opener.open();
            WireChannel ch = new WireChannel(opened.transport());
            lock.lock();
            try {
                channel = ch;
                child = opened.child();
                socketActivationDir = opened.socketActivationDir();
                pendingConnect.clear();
                if (released) {
                    return;
                }
                setState(State.HANDSHAKING);
            } finally {
                lock.unlock();
            }
            debug.log("connect", "connected, starting handshake");
            Negotiator n = new Negotiator(ch, negotiated, debug, tlsConfig);
            negotiator = n;
            if (n.greet(cfg) == Negotiator.Greeting.OLDSTYLE_READY) {
                startTransmission();
                return;
            }
            n.automaticOptions(cfg);
            if (cfg.optMode()) {
                moveTo(State.HANDSHAKING, State.NEGOTIATING);
                return;
            }
            n.goOrInfo(cfg, true);
            startTransmission();
        } catch (NbdError e) {
            die(e);
        } catch (RuntimeException e) {
            die(new NbdError("internal error while connecting: " + e, Errno.EIO, true, e));
        }
    }

    /** Moves from {@code from} to {@code to} unless something else (close, death) got there first. */
    private boolean moveTo(State from, State to) {
        lock.lock();
        try {
            if (state != from || released) {
                return false;
            }
            setState(to);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void startTransmission() {
        Transmission t = new Transmission(channel, negotiated, debug, new Transmission.Listener() {
            @Override
            public void connectionEnded(NbdError cause) {
                NbdHandle.this.connectionEnded(cause);
            }

            @Override
            public void progress() {
                NbdHandle.this.progress();
            }
        }, "jnbd-reader-" + handleName);
        lock.lock();
        try {
            if (released || state == State.DEAD) {
                return;
            }
            transmission = t;
            setState(State.READY);
        } finally {
            lock.unlock();
        }
    }

    /** The reply reader's report that the connection ended. */
    private void connectionEnded(NbdError cause) {
        lock.lock();
        try {
            if (state == State.READY) {
                if (cause == null) {
                    setState(State.CLOSED);
                } else {
                    deathCause = cause;
                    setState(State.DEAD);
                }
            } else {
                events.incrementAndGet();
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The connection failed: the handle is dead and its transport closed; or,
     * for a TCP connect that never connected, back to the created state as in
     * libnbd, so that the caller may try again.
     */
    private void die(NbdError cause) {
        WireChannel ch;
        lock.lock();
        try {
            ch = channel;
            if (!released && state != State.DEAD && state != State.CLOSED) {
                deathCause = cause;
                deathReported = false;
                if (cause.isBackToCreated()) {
                    uriTarget = null;
                    connectedHost = null;
                    setState(State.CREATED);
                } else {
                    setState(State.DEAD);
                }
            }
        } finally {
            lock.unlock();
        }
        debug.log("connect", (cause.isBackToCreated() ? "connect failed: " : "handle dead: ") + cause.getMessage());
        if (ch != null) {
            ch.close();
        }
    }

    private NbdError takeDeathCause() {
        lock.lock();
        try {
            deathReported = true;
            return deathCause;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- state queries

    public boolean aioIsCreated() {
        return state == State.CREATED;
    }

    public boolean aioIsConnecting() {
        return state.publicState == PublicState.CONNECTING;
    }

    public boolean aioIsNegotiating() {
        return state == State.NEGOTIATING;
    }

    /** Connected and not in the middle of sending or receiving a command. */
    public boolean aioIsReady() {
        return state == State.READY;
    }

    /**
     * Connected and busy with a command. jnbd's reply reader works on its own,
     * so a connected handle always reports {@link #aioIsReady()} instead.
     */
    public boolean aioIsProcessing() {
        return false;
    }

    public boolean aioIsDead() {
        return state == State.DEAD;
    }

    public boolean aioIsClosed() {
        return state == State.CLOSED;
    }

    /** libnbd's form: the state's name, a colon, its description. */
    public String connectionState() {
        State s = state;
        return s.shortName + ": " + s.description;
    }

    /**
     * Waits until the handle makes progress (a state change or a command
     * completing) or {@code timeoutMillis} passes (-1: no limit). The engine
     * runs on its own threads, so this only waits; progress made since the last
     * poll returns at once, so no wake-up is lost.
     *
     * @return 1 on progress, 0 on timeout
     * @throws NbdException if there is nothing to wait for (no connection), or
     *         with the connection's error the first time a poll sees it die
     */
    public int poll(int timeoutMillis) {
        Transmission t = state == State.READY ? transmission : null;
        if (t != null) {
            t.watch(true);
        }
        try {
            return awaitProgress(timeoutMillis);
        } finally {
            if (t != null) {
                t.watch(false);
            }
        }
    }

    /**
     * As {@link #poll}, and also returns 1 when {@code fd} becomes readable
     * (libnbd's use: an eventfd or pipe another thread writes to, to wake the
     * poller). {@code fd} is registered with a selector for the duration of
     * the call, so it is switched to non-blocking mode meanwhile and restored
     * after. A null {@code fd} is plain {@link #poll}.
     */
    public int poll2(SelectableChannel fd, int timeoutMillis) {
        if (fd == null) {
            return poll(timeoutMillis);
        }
        boolean wasBlocking = fd.isBlocking();
        try (Selector selector = Selector.open()) {
            fd.configureBlocking(false);
            fd.register(selector, SelectionKey.OP_READ);
            Thread watcher = Thread.ofVirtual().name("jnbd-poll2-" + handleName).start(() -> {
                try {
                    if (selector.select() > 0) {
                        fdReadable();
                    }
                } catch (IOException | java.nio.channels.ClosedSelectorException e) {
                    // The poll is over (the selector was closed) or the channel failed: nothing to report.
                }
            });
            try {
                return poll(timeoutMillis);
            } finally {
                selector.wakeup();
                joinQuietly(watcher);
            }
        } catch (IOException e) {
            throw error("poll2", "poll: " + e.getMessage(), Errno.EIO);
        } finally {
            try {
                fd.configureBlocking(wasBlocking);
            } catch (IOException e) {
                debug.log("poll2", "could not restore the channel's blocking mode: " + e);
            }
        }
    }

    /** poll2's extra descriptor is readable: wake the poller as progress would. */
    private void fdReadable() {
        events.incrementAndGet();
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * What the engine waits for from the server: {@link AioDirection#READ}
     * once connected (a reply, or the server hanging up), {@link
     * AioDirection#BOTH} while connecting, 0 with no connection. jnbd does its
     * own I/O, so this is for information only.
     */
    public int aioGetDirection() {
        return switch (state) {
            case CONNECTING -> AioDirection.BOTH;
            case HANDSHAKING, OPTION, NEGOTIATING, READY -> AioDirection.READ;
            case CREATED, CLOSED, DEAD -> 0;
        };
    }

    /**
     * libnbd's way to say the socket is readable. jnbd's engine reads as soon
     * as data arrives on its own, so this does nothing; it exists so that code
     * written for libnbd runs unchanged.
     */
    public void aioNotifyRead() {
        require("aioNotifyRead");
    }

    /** As {@link #aioNotifyRead()}, for writability: jnbd writes on the calling thread, so nothing to do. */
    public void aioNotifyWrite() {
        require("aioNotifyWrite");
    }

    /**
     * libnbd returns its socket so that a main loop can poll it. jnbd does its
     * own I/O, so there is no descriptor for a caller to poll: this always
     * fails with ENOTSUP. Wait with {@link #poll}, completion callbacks or the
     * futures instead.
     */
    public int aioGetFd() {
        require("aioGetFd");
        throw error("aioGetFd", "jnbd does its own I/O and has no descriptor to poll; use poll(), completion "
                + "callbacks or the CompletableFuture forms", Errno.ENOTSUP);
    }

    private int awaitProgress(int timeoutMillis) {
        lock.lock();
        pollers.incrementAndGet();
        try {
            long deadline = timeoutMillis < 0 ? Long.MAX_VALUE : System.nanoTime()
                    + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (events.get() == eventsSeenByPoll) {
                State s = state;
                if (s == State.CREATED || s == State.CLOSED || s == State.DEAD) {
                    throw error("poll", "nothing to poll for in state " + s.shortName, Errno.EINVAL);
                }
                long wait = deadline - System.nanoTime();
                if (wait <= 0) {
                    return 0;
                }
                try {
                    changed.awaitNanos(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw error("poll", "interrupted", Errno.EINTR);
                }
            }
            eventsSeenByPoll = events.get();
            if (!deathReported && deathCause != null) {
                deathReported = true;
                throw error("poll", deathCause);
            }
            return 1;
        } finally {
            pollers.decrementAndGet();
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- opt mode

    /** Runs one option exchange: NEGOTIATING → OPTION → back, or on to READY, or DEAD. */
    @FunctionalInterface
    private interface OptionExchange<T> {
        T run(Negotiator n, HandshakeConfig cfg) throws NbdError;
    }

    private <T> T option(String method, OptionExchange<T> exchange) {
        return option(method, exchange, this::backToNegotiating);
    }

    /** Runs an exchange on this thread; {@code success} makes the state change that follows it. */
    private <T> T option(String method, OptionExchange<T> exchange, Runnable success) {
        HandshakeConfig cfg = beginOption(method);
        T result;
        try {
            result = exchange.run(negotiator, cfg);
        } catch (NbdError e) {
            optionFailed(e);
            throw error(method, e);
        }
        success.run();
        return result;
    }

    /** Checks the state and moves to OPTION; the handle's settings at this moment steer the exchange. */
    private HandshakeConfig beginOption(String method) {
        lock.lock();
        try {
            require(method);
            HandshakeConfig cfg = handshakeConfig();
            setState(State.OPTION);
            return cfg;
        } finally {
            lock.unlock();
        }
    }

    private void backToNegotiating() {
        moveTo(State.OPTION, State.NEGOTIATING);
    }

    /** A broken connection kills the handle; a refused option leaves it negotiating. */
    private void optionFailed(NbdError e) {
        if (e.fatal()) {
            die(e);
        } else {
            backToNegotiating();
        }
    }

    private <T> void aioOption(String method, OptionExchange<T> exchange, CompletionCallback completion,
                               int refusedErrno) {
        aioOption(method, exchange, completion, refusedErrno, this::backToNegotiating);
    }

    /**
     * libnbd's aio_opt_* form: checks the state, then runs the exchange on a
     * jnbd thread and returns at once. {@code completion} (optional) gets the
     * option's errno (0 on success; {@code refusedErrno} where the sync call
     * would return false) before the state changes, as in libnbd, so a caller
     * that polls until the handle stops connecting has seen it; it is retired
     * whatever it returns.
     */
    private <T> void aioOption(String method, OptionExchange<T> exchange, CompletionCallback completion,
                               int refusedErrno, Runnable success) {
        HandshakeConfig cfg = beginOption(method);
        Thread t = Thread.ofPlatform().daemon().name("jnbd-option-" + handleName).unstarted(() -> {
            NbdError failure = null;
            int err;
            try {
                T result = exchange.run(negotiator, cfg);
                err = Boolean.FALSE.equals(result) ? refusedErrno : 0;
            } catch (NbdError e) {
                debug.log(method, e.getMessage());
                failure = e;
                err = e.errno() != 0 ? e.errno() : Errno.EIO;
            }
            if (completion != null) {
                try {
                    completion.call(new ErrorHolder(err));
                } catch (RuntimeException e) {
                    debug.log(method, "completion callback threw " + e);
                }
            }
            if (failure != null) {
                optionFailed(failure);
            } else {
                success.run();
            }
        });
        lock.lock();
        try {
            workerThread = t;
        } finally {
            lock.unlock();
        }
        t.start();
    }

    /** Ends negotiation with NBD_OPT_GO for the current export name; the handle becomes ready. */
    public void optGo() {
        option("optGo", this::goExchange, this::startTransmission);
    }

    private Void goExchange(Negotiator n, HandshakeConfig cfg) throws NbdError {
        n.goOrInfo(cfg, true);
        return null;
    }

    /** NBD_OPT_INFO for the current export name: the export's details, and stay negotiating. */
    public void optInfo() {
        option("optInfo", (n, cfg) -> {
            n.goOrInfo(cfg, false);
            return null;
        });
    }

    /** NBD_OPT_LIST: calls {@code list} for each export; returns how many there were. */
    public int optList(ListCallback list) {
        nonNull(list, "list");
        return option("optList", (n, cfg) -> n.list(list::call));
    }

    /**
     * NBD_OPT_STARTTLS, then the TLS handshake: true if the connection is now
     * TLS, false if the server refused (the connection goes on in plaintext).
     * As libnbd, with {@link #setTls} other than {@link Tls#DISABLE} TLS was
     * already attempted before opt mode gave control, and a server that
     * accepts a second NBD_OPT_STARTTLS breaks the protocol (EPROTO, the
     * handle dies); most refuse it, which leaves the TLS session as it was.
     * A failed handshake (for example credentials the server rejects) kills
     * the handle. Prefer {@code setTls(Tls.REQUIRE)}: a client that negotiates
     * options in plaintext before this call can be misled by what the server
     * said then (CVE-2021-3716).
     *
     * @throws NbdException ENOTSUP if the server is not fixed newstyle, or
     *         TLS-PSK is configured without BouncyCastle
     */
    public boolean optStarttls() {
        return option("optStarttls", (n, cfg) -> n.starttls(true));
    }

    /** NBD_OPT_STRUCTURED_REPLY; true if the server agreed. */
    public boolean optStructuredReply() {
        return option("optStructuredReply", (n, cfg) -> n.structuredReply());
    }

    /** NBD_OPT_EXTENDED_HEADERS; true if the server agreed. */
    public boolean optExtendedHeaders() {
        return option("optExtendedHeaders", (n, cfg) -> n.extendedHeaders());
    }

    /**
     * NBD_OPT_LIST_META_CONTEXT for the current export with the queries of
     * {@link #addMetaContext}: calls {@code context} for each name the server
     * has; returns how many. Changes nothing that was negotiated.
     */
    public int optListMetaContext(ContextCallback context) {
        nonNull(context, "context");
        return metaContextOption("optListMetaContext", Nbd.OPT_LIST_META_CONTEXT, null, context);
    }

    /** As {@link #optListMetaContext} with these queries instead of the handle's. */
    public int optListMetaContextQueries(List<String> queries, ContextCallback context) {
        nonNull(queries, "queries");
        nonNull(context, "context");
        return metaContextOption("optListMetaContextQueries", Nbd.OPT_LIST_META_CONTEXT, queries, context);
    }

    /**
     * NBD_OPT_SET_META_CONTEXT for the current export with the handle's
     * queries: the contexts the server selects become the ones block status
     * reports (and {@link #canMetaContext} sees); returns how many.
     */
    public int optSetMetaContext(ContextCallback context) {
        nonNull(context, "context");
        return metaContextOption("optSetMetaContext", Nbd.OPT_SET_META_CONTEXT, null, context);
    }

    /** As {@link #optSetMetaContext} with these queries instead of the handle's. */
    public int optSetMetaContextQueries(List<String> queries, ContextCallback context) {
        nonNull(queries, "queries");
        nonNull(context, "context");
        return metaContextOption("optSetMetaContextQueries", Nbd.OPT_SET_META_CONTEXT, queries, context);
    }

    private int metaContextOption(String method, int option, List<String> queries, ContextCallback context) {
        List<String> q = queries == null ? null : List.copyOf(queries);
        return option(method, (n, cfg) -> n.metaContext(option, cfg.exportName(),
                q != null ? q : cfg.metaContexts(), context::call, true));
    }

    /**
     * NBD_OPT_ABORT: ends the connection politely; the handle is closed. As in
     * libnbd the call succeeds once the handle is negotiating: where the
     * option cannot be sent (a server without fixed newstyle) the handle is
     * left dead instead.
     */
    public void optAbort() {
        HandshakeConfig cfg = beginOption("optAbort");
        try {
            abortExchange(negotiator, cfg);
        } catch (NbdError e) {
            optionFailed(e);
            return;
        }
        closeAfterAbort();
    }

    private Void abortExchange(Negotiator n, HandshakeConfig cfg) throws NbdError {
        n.abort();
        return null;
    }

    private void closeAfterAbort() {
        lock.lock();
        try {
            setState(State.CLOSED);
        } finally {
            lock.unlock();
        }
        WireChannel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    // ---------------------------------------------------------------- opt mode, aio forms
    //
    // Each starts the option exchange on a jnbd thread and returns at once;
    // the handle is connecting meanwhile (aioIsConnecting), then negotiating
    // again (or ready after aioOptGo, closed after aioOptAbort, dead if the
    // server broke the protocol). Callbacks run on that thread.

    public void aioOptGo() {
        aioOptGo(null);
    }

    public void aioOptGo(CompletionCallback completion) {
        aioOption("aioOptGo", this::goExchange, completion, 0, this::startTransmission);
    }

    public void aioOptAbort() {
        aioOption("aioOptAbort", this::abortExchange, null, 0, this::closeAfterAbort);
    }

    public void aioOptInfo() {
        aioOptInfo(null);
    }

    public void aioOptInfo(CompletionCallback completion) {
        aioOption("aioOptInfo", (n, cfg) -> {
            n.goOrInfo(cfg, false);
            return null;
        }, completion, 0);
    }

    public void aioOptList(ListCallback list) {
        aioOptList(list, null);
    }

    public void aioOptList(ListCallback list, CompletionCallback completion) {
        nonNull(list, "list");
        aioOption("aioOptList", (n, cfg) -> n.list(list::call), completion, 0);
    }

    public void aioOptStructuredReply() {
        aioOptStructuredReply(null);
    }

    /** The completion gets ENOTSUP if the server refused (where optStructuredReply returns false). */
    public void aioOptStructuredReply(CompletionCallback completion) {
        aioOption("aioOptStructuredReply", (n, cfg) -> n.structuredReply(), completion, Errno.ENOTSUP);
    }

    public void aioOptStarttls() {
        aioOptStarttls(null);
    }

    /**
     * {@link #optStarttls()} without waiting: the completion gets 0 once TLS
     * is up, ENOTSUP if the server refused (where optStarttls returns false),
     * or the error that killed the handle.
     */
    public void aioOptStarttls(CompletionCallback completion) {
        aioOption("aioOptStarttls", (n, cfg) -> n.starttls(true), completion, Errno.ENOTSUP);
    }

    public void aioOptExtendedHeaders() {
        aioOptExtendedHeaders(null);
    }

    /** The completion gets ENOTSUP if the server refused (where optExtendedHeaders returns false). */
    public void aioOptExtendedHeaders(CompletionCallback completion) {
        aioOption("aioOptExtendedHeaders", (n, cfg) -> n.extendedHeaders(), completion, Errno.ENOTSUP);
    }

    public int aioOptListMetaContext(ContextCallback context) {
        return aioOptListMetaContext(context, null);
    }

    /** Returns 0 at once; {@code context} is called as the server's replies arrive. */
    public int aioOptListMetaContext(ContextCallback context, CompletionCallback completion) {
        nonNull(context, "context");
        return aioMetaContextOption("aioOptListMetaContext", Nbd.OPT_LIST_META_CONTEXT, null, context, completion);
    }

    public int aioOptListMetaContextQueries(List<String> queries, ContextCallback context) {
        return aioOptListMetaContextQueries(queries, context, null);
    }

    public int aioOptListMetaContextQueries(List<String> queries, ContextCallback context,
                                            CompletionCallback completion) {
        nonNull(queries, "queries");
        nonNull(context, "context");
        return aioMetaContextOption("aioOptListMetaContextQueries", Nbd.OPT_LIST_META_CONTEXT, queries, context,
                completion);
    }

    public int aioOptSetMetaContext(ContextCallback context) {
        return aioOptSetMetaContext(context, null);
    }

    public int aioOptSetMetaContext(ContextCallback context, CompletionCallback completion) {
        nonNull(context, "context");
        return aioMetaContextOption("aioOptSetMetaContext", Nbd.OPT_SET_META_CONTEXT, null, context, completion);
    }

    public int aioOptSetMetaContextQueries(List<String> queries, ContextCallback context) {
        return aioOptSetMetaContextQueries(queries, context, null);
    }

    public int aioOptSetMetaContextQueries(List<String> queries, ContextCallback context,
                                           CompletionCallback completion) {
        nonNull(queries, "queries");
        nonNull(context, "context");
        return aioMetaContextOption("aioOptSetMetaContextQueries", Nbd.OPT_SET_META_CONTEXT, queries, context,
                completion);
    }

    private int aioMetaContextOption(String method, int option, List<String> queries, ContextCallback context,
                                     CompletionCallback completion) {
        List<String> q = queries == null ? null : List.copyOf(queries);
        aioOption(method, (n, cfg) -> n.metaContext(option, cfg.exportName(), q != null ? q : cfg.metaContexts(),
                context::call, true), completion, 0);
        return 0;
    }

    // ---------------------------------------------------------------- export details

    private void requireExport(String method) {
        require(method);
        if (!negotiated.exportKnown) {
            throw error(method, "server has not returned export flags, you need to connect or call opt_info",
                    Errno.EINVAL);
        }
    }

    private boolean flag(String method, int transmissionFlag) {
        requireExport(method);
        return negotiated.export.has(transmissionFlag);
    }

    public long getSize() {
        requireExport("getSize");
        return negotiated.export.size;
    }

    public boolean isReadOnly() {
        return flag("isReadOnly", Nbd.TFLAG_READ_ONLY);
    }

    public boolean canFlush() {
        return flag("canFlush", Nbd.TFLAG_SEND_FLUSH);
    }

    public boolean canFua() {
        return flag("canFua", Nbd.TFLAG_SEND_FUA);
    }

    public boolean isRotational() {
        return flag("isRotational", Nbd.TFLAG_ROTATIONAL);
    }

    public boolean canTrim() {
        return flag("canTrim", Nbd.TFLAG_SEND_TRIM);
    }

    public boolean canZero() {
        return flag("canZero", Nbd.TFLAG_SEND_WRITE_ZEROES);
    }

    public boolean canFastZero() {
        return flag("canFastZero", Nbd.TFLAG_SEND_FAST_ZERO);
    }

    /** The DF flag needs structured replies as well as the server's flag. */
    public boolean canDf() {
        return flag("canDf", Nbd.TFLAG_SEND_DF) && negotiated.structuredReplies;
    }

    public boolean canMultiConn() {
        return flag("canMultiConn", Nbd.TFLAG_CAN_MULTI_CONN);
    }

    public boolean canCache() {
        return flag("canCache", Nbd.TFLAG_SEND_CACHE);
    }

    public boolean canBlockStatusPayload() {
        return flag("canBlockStatusPayload", Nbd.TFLAG_BLOCK_STAT_PAYLOAD) && negotiated.extendedHeaders;
    }

    /** Whether the server agreed to meta context {@code metacontext}. */
    public boolean canMetaContext(String metacontext) {
        nonNull(metacontext, "metacontext");
        require("canMetaContext");
        if (getNrMetaContexts() > 0 && !negotiated.metaContextsValid) {
            throw error("canMetaContext", "need a successful server meta context request first", Errno.EINVAL);
        }
        return negotiated.hasMetaContext(metacontext);
    }

    public String getProtocol() {
        require("getProtocol");
        String p = negotiated.protocol;
        if (p == null) {
            throw error("getProtocol", "server has not sent its greeting yet", Errno.EINVAL);
        }
        return p;
    }

    /** {@code size} of {@link BlockSize#PAYLOAD} is jnbd's write limit; the others are the server's (0: none). */
    public long getBlockSize(BlockSize sizeType) {
        nonNull(sizeType, "sizeType");
        requireExport("getBlockSize");
        return switch (sizeType) {
            case MINIMUM -> Integer.toUnsignedLong(negotiated.export.blockMinimum);
            case PREFERRED -> Integer.toUnsignedLong(negotiated.export.blockPreferred);
            case MAXIMUM -> Integer.toUnsignedLong(negotiated.export.blockMaximum);
            case PAYLOAD -> payloadMaximum();
        };
    }

    /** libnbd's rule: the server's maximum capped at 64 MiB, or 32 MiB when it gave none. */
    private long payloadMaximum() {
        long max = Integer.toUnsignedLong(negotiated.export.blockMaximum);
        return max == 0 ? 32L * 1024 * 1024 : Math.min(max, Nbd.MAX_REQUEST_SIZE);
    }

    /** The export's name as the server calls it (NBD_INFO_NAME with full info), else the name asked for. */
    public String getCanonicalExportName() {
        requireExport("getCanonicalExportName");
        String n = negotiated.export.canonicalName;
        return n != null ? n : exportName;
    }

    public String getExportDescription() {
        requireExport("getExportDescription");
        String d = negotiated.export.description;
        if (d == null) {
            throw error("getExportDescription", "server did not send a description", Errno.ENOTSUP);
        }
        return d;
    }

    /**
     * The NBD URI of the current connection (TCP, Unix or vsock): an nbds
     * scheme if TLS is required or was negotiated, with the TLS user name (if
     * set), {@code tls-certificates}, {@code tls-psk-file} and {@code tls-hostname}
     * (if set) and {@code tls-verify-peer=false} (if verification is off).
     */
    public String getUri() {
        require("getUri");
        NbdUri.Builder target = uriTarget;
        if (target == null) {
            throw error("getUri", "cannot construct a URI for this connection type", Errno.ENOTSUP);
        }
        return target.exportName(exportName).tls(tls == Tls.REQUIRE || negotiated.tlsNegotiated)
                .tlsUsername(tlsUsername).tlsCertificates(tlsCertificates).tlsPskFile(tlsPskFile)
                .tlsHostname(tlsHostname).tlsVerifyPeer(tlsVerifyPeer ? null : Boolean.FALSE).build().format();
    }

    // ---------------------------------------------------------------- commands
    //
    // Each command has one "prepare" step (state and argument checks, strict
    // mode) shared by its three forms: synchronous (fooBar), libnbd's aio
    // (aioFooBar, returning a cookie) and the CompletableFuture form
    // (fooBarAsync). The async forms check the state of the aio call's
    // libnbd-api.tsv entry.

    /** Reads {@code buf.length} bytes at {@code offset}. */
    public void pread(byte[] buf, long offset) {
        pread(buf, offset, 0);
    }

    public void pread(byte[] buf, long offset, int flags) {
        pread(ByteBuffer.wrap(nonNull(buf, "buf")), offset, flags);
    }

    /** Reads {@code buf.remaining()} bytes at {@code offset} into {@code buf}; advances its position. */
    public void pread(ByteBuffer buf, long offset) {
        pread(buf, offset, 0);
    }

    public void pread(ByteBuffer buf, long offset, int flags) {
        execute("pread", readCmd("pread", "pread", buf, offset, flags, null));
        buf.position(buf.limit());
    }

    /** Reads with structured replies, calling {@code chunk} for each data, hole or error chunk. */
    public void preadStructured(byte[] buf, long offset, ChunkCallback chunk) {
        preadStructured(buf, offset, chunk, 0);
    }

    public void preadStructured(byte[] buf, long offset, ChunkCallback chunk, int flags) {
        preadStructured(ByteBuffer.wrap(nonNull(buf, "buf")), offset, chunk, flags);
    }

    public void preadStructured(ByteBuffer buf, long offset, ChunkCallback chunk) {
        preadStructured(buf, offset, chunk, 0);
    }

    public void preadStructured(ByteBuffer buf, long offset, ChunkCallback chunk, int flags) {
        nonNull(chunk, "chunk");
        execute("preadStructured", readCmd("preadStructured", "preadStructured", buf, offset, flags, chunk));
        buf.position(buf.limit());
    }

    /** Writes all of {@code buf} at {@code offset}. */
    public void pwrite(byte[] buf, long offset) {
        pwrite(buf, offset, 0);
    }

    public void pwrite(byte[] buf, long offset, int flags) {
        pwrite(ByteBuffer.wrap(nonNull(buf, "buf")), offset, flags);
    }

    /** Writes {@code buf} (position to limit) at {@code offset}; advances its position. */
    public void pwrite(ByteBuffer buf, long offset) {
        pwrite(buf, offset, 0);
    }

    public void pwrite(ByteBuffer buf, long offset, int flags) {
        execute("pwrite", writeCmd("pwrite", "pwrite", buf, offset, flags));
        buf.position(buf.limit());
    }

    public void flush() {
        flush(0);
    }

    public void flush(int flags) {
        execute("flush", flushCmd("flush", "flush", flags));
    }

    public void trim(long count, long offset) {
        trim(count, offset, 0);
    }

    public void trim(long count, long offset, int flags) {
        execute("trim", trimCmd("trim", "trim", count, offset, flags));
    }

    public void cache(long count, long offset) {
        cache(count, offset, 0);
    }

    public void cache(long count, long offset, int flags) {
        execute("cache", cacheCmd("cache", "cache", count, offset, flags));
    }

    public void zero(long count, long offset) {
        zero(count, offset, 0);
    }

    public void zero(long count, long offset, int flags) {
        execute("zero", zeroCmd("zero", "zero", count, offset, flags));
    }

    /**
     * NBD_CMD_BLOCK_STATUS: calls {@code extent} once per negotiated meta
     * context with that context's extents from {@code offset}.
     */
    public void blockStatus(long count, long offset, ExtentCallback extent) {
        blockStatus(count, offset, extent, 0);
    }

    public void blockStatus(long count, long offset, ExtentCallback extent, int flags) {
        nonNull(extent, "extent");
        execute("blockStatus", blockStatusCmd("blockStatus", "blockStatus", count, offset, extent, flags));
    }

    /** NBD_CMD_BLOCK_STATUS with 64-bit extents (as extended headers report them). */
    public void blockStatus64(long count, long offset, Extent64Callback extent64) {
        blockStatus64(count, offset, extent64, 0);
    }

    public void blockStatus64(long count, long offset, Extent64Callback extent64, int flags) {
        nonNull(extent64, "extent64");
        execute("blockStatus64", blockStatusCmd("blockStatus64", "blockStatus64", count, offset, null, flags)
                .extent64(extent64));
    }

    /**
     * Block status for only the named meta contexts (a subset of those
     * negotiated). Needs extended headers and a server that accepts a block
     * status payload ({@link #canBlockStatusPayload()}).
     */
    public void blockStatusFilter(long count, long offset, List<String> contexts, Extent64Callback extent64) {
        blockStatusFilter(count, offset, contexts, extent64, 0);
    }

    public void blockStatusFilter(long count, long offset, List<String> contexts, Extent64Callback extent64,
                                  int flags) {
        nonNull(contexts, "contexts");
        nonNull(extent64, "extent64");
        execute("blockStatusFilter", blockStatusFilterCmd("blockStatusFilter", "blockStatusFilter", count, offset,
                contexts, extent64, flags));
    }

    // ---------------------------------------------------------------- libnbd's aio commands
    //
    // Each returns the command's cookie at once. The buffer must stay
    // untouched until the command completes; its position is not changed.
    // The completion callback runs on a jnbd thread, with no jnbd lock held,
    // once; returning 1 retires the command, otherwise aioCommandCompleted
    // retires it.

    public long aioPread(ByteBuffer buf, long offset) {
        return aioPread(buf, offset, null, 0);
    }

    public long aioPread(ByteBuffer buf, long offset, CompletionCallback completion) {
        return aioPread(buf, offset, completion, 0);
    }

    public long aioPread(ByteBuffer buf, long offset, CompletionCallback completion, int flags) {
        return aio(readCmd("aioPread", "aioPread", buf, offset, flags, null), "aioPread", completion);
    }

    public long aioPread(byte[] buf, long offset, CompletionCallback completion) {
        return aioPread(ByteBuffer.wrap(nonNull(buf, "buf")), offset, completion, 0);
    }

    public long aioPread(byte[] buf, long offset, CompletionCallback completion, int flags) {
        return aioPread(ByteBuffer.wrap(nonNull(buf, "buf")), offset, completion, flags);
    }

    public long aioPreadStructured(ByteBuffer buf, long offset, ChunkCallback chunk) {
        return aioPreadStructured(buf, offset, chunk, null, 0);
    }

    public long aioPreadStructured(ByteBuffer buf, long offset, ChunkCallback chunk, CompletionCallback completion) {
        return aioPreadStructured(buf, offset, chunk, completion, 0);
    }

    public long aioPreadStructured(ByteBuffer buf, long offset, ChunkCallback chunk, CompletionCallback completion,
                                   int flags) {
        nonNull(chunk, "chunk");
        return aio(readCmd("aioPreadStructured", "aioPreadStructured", buf, offset, flags, chunk),
                "aioPreadStructured", completion);
    }

    public long aioPwrite(ByteBuffer buf, long offset) {
        return aioPwrite(buf, offset, null, 0);
    }

    public long aioPwrite(ByteBuffer buf, long offset, CompletionCallback completion) {
        return aioPwrite(buf, offset, completion, 0);
    }

    public long aioPwrite(ByteBuffer buf, long offset, CompletionCallback completion, int flags) {
        return aio(writeCmd("aioPwrite", "aioPwrite", buf, offset, flags), "aioPwrite", completion);
    }

    public long aioPwrite(byte[] buf, long offset, CompletionCallback completion) {
        return aioPwrite(ByteBuffer.wrap(nonNull(buf, "buf")), offset, completion, 0);
    }

    public long aioPwrite(byte[] buf, long offset, CompletionCallback completion, int flags) {
        return aioPwrite(ByteBuffer.wrap(nonNull(buf, "buf")), offset, completion, flags);
    }

    public long aioFlush() {
        return aioFlush(null, 0);
    }

    public long aioFlush(CompletionCallback completion) {
        return aioFlush(completion, 0);
    }

    public long aioFlush(CompletionCallback completion, int flags) {
        return aio(flushCmd("aioFlush", "aioFlush", flags), "aioFlush", completion);
    }

    public long aioTrim(long count, long offset) {
        return aioTrim(count, offset, null, 0);
    }

    public long aioTrim(long count, long offset, CompletionCallback completion) {
        return aioTrim(count, offset, completion, 0);
    }

    public long aioTrim(long count, long offset, CompletionCallback completion, int flags) {
        return aio(trimCmd("aioTrim", "aioTrim", count, offset, flags), "aioTrim", completion);
    }

    public long aioCache(long count, long offset) {
        return aioCache(count, offset, null, 0);
    }

    public long aioCache(long count, long offset, CompletionCallback completion) {
        return aioCache(count, offset, completion, 0);
    }

    public long aioCache(long count, long offset, CompletionCallback completion, int flags) {
        return aio(cacheCmd("aioCache", "aioCache", count, offset, flags), "aioCache", completion);
    }

    public long aioZero(long count, long offset) {
        return aioZero(count, offset, null, 0);
    }

    public long aioZero(long count, long offset, CompletionCallback completion) {
        return aioZero(count, offset, completion, 0);
    }

    public long aioZero(long count, long offset, CompletionCallback completion, int flags) {
        return aio(zeroCmd("aioZero", "aioZero", count, offset, flags), "aioZero", completion);
    }

    public long aioBlockStatus(long count, long offset, ExtentCallback extent) {
        return aioBlockStatus(count, offset, extent, null, 0);
    }

    public long aioBlockStatus(long count, long offset, ExtentCallback extent, CompletionCallback completion) {
        return aioBlockStatus(count, offset, extent, completion, 0);
    }

    public long aioBlockStatus(long count, long offset, ExtentCallback extent, CompletionCallback completion,
                               int flags) {
        nonNull(extent, "extent");
        return aio(blockStatusCmd("aioBlockStatus", "aioBlockStatus", count, offset, extent, flags),
                "aioBlockStatus", completion);
    }

    public long aioBlockStatus64(long count, long offset, Extent64Callback extent64) {
        return aioBlockStatus64(count, offset, extent64, null, 0);
    }

    public long aioBlockStatus64(long count, long offset, Extent64Callback extent64, CompletionCallback completion) {
        return aioBlockStatus64(count, offset, extent64, completion, 0);
    }

    public long aioBlockStatus64(long count, long offset, Extent64Callback extent64, CompletionCallback completion,
                                 int flags) {
        nonNull(extent64, "extent64");
        return aio(blockStatusCmd("aioBlockStatus64", "aioBlockStatus64", count, offset, null, flags)
                .extent64(extent64), "aioBlockStatus64", completion);
    }

    public long aioBlockStatusFilter(long count, long offset, List<String> contexts, Extent64Callback extent64) {
        return aioBlockStatusFilter(count, offset, contexts, extent64, null, 0);
    }

    public long aioBlockStatusFilter(long count, long offset, List<String> contexts, Extent64Callback extent64,
                                     CompletionCallback completion) {
        return aioBlockStatusFilter(count, offset, contexts, extent64, completion, 0);
    }

    public long aioBlockStatusFilter(long count, long offset, List<String> contexts, Extent64Callback extent64,
                                     CompletionCallback completion, int flags) {
        nonNull(contexts, "contexts");
        nonNull(extent64, "extent64");
        return aio(blockStatusFilterCmd("aioBlockStatusFilter", "aioBlockStatusFilter", count, offset, contexts,
                extent64, flags), "aioBlockStatusFilter", completion);
    }

    /**
     * Sends NBD_CMD_DISC and returns; the handle becomes closed when the
     * server hangs up (watch {@link #aioIsClosed()}). No command may follow.
     */
    public void aioDisconnect() {
        aioDisconnect(0);
    }

    public void aioDisconnect(int flags) {
        String m = "aioDisconnect";
        require(m);
        checkFlags(m, flags, 0);
        try {
            transmission.submit(Command.of(Nbd.CMD_DISC, flags, 0, 0, null, null, null));
        } catch (NbdError e) {
            throw error(m, e);
        }
    }

    /**
     * True if the command with this cookie completed successfully, and retires
     * it; false if it is still in flight (or unknown, or already retired);
     * NbdException with the command's errno if it failed (and is retired).
     */
    public boolean aioCommandCompleted(long cookie) {
        if (cookie < 1) {
            throw error("aioCommandCompleted", "invalid aio cookie " + cookie, Errno.EINVAL);
        }
        Transmission t = transmission;
        return t != null && t.retire(cookie, "aioCommandCompleted");
    }

    /** The cookie of a completed command not yet retired, 0 if none has completed yet. */
    public long aioPeekCommandCompleted() {
        Transmission t = transmission;
        long cookie = t == null ? -1 : t.peekCompleted();
        if (cookie < 0) {
            throw error("aioPeekCommandCompleted", "no commands are in flight", Errno.EINVAL);
        }
        return cookie;
    }

    /** Commands sent and not yet answered by the server. */
    public int aioInFlight() {
        require("aioInFlight");
        Transmission t = transmission;
        return t == null ? 0 : t.inFlight();
    }

    // ---------------------------------------------------------------- CompletableFuture forms
    //
    // fooBarAsync is fooBar as a CompletableFuture: it completes normally when
    // the command succeeds and exceptionally with the NbdException the
    // synchronous call would throw. It completes on a jnbd thread; dependent
    // stages without an executor run there, and may issue further commands.
    // Cancelling the future does not recall the request (NBD cannot): the
    // buffer must stay untouched until the server has answered, which
    // aioInFlight() shows. Buffer positions are not changed.

    public CompletableFuture<Void> preadAsync(ByteBuffer buf, long offset) {
        return preadAsync(buf, offset, 0);
    }

    public CompletableFuture<Void> preadAsync(ByteBuffer buf, long offset, int flags) {
        return future(readCmd("preadAsync", "aioPread", buf, offset, flags, null), "preadAsync");
    }

    public CompletableFuture<Void> preadStructuredAsync(ByteBuffer buf, long offset, ChunkCallback chunk) {
        return preadStructuredAsync(buf, offset, chunk, 0);
    }

    public CompletableFuture<Void> preadStructuredAsync(ByteBuffer buf, long offset, ChunkCallback chunk, int flags) {
        nonNull(chunk, "chunk");
        return future(readCmd("preadStructuredAsync", "aioPreadStructured", buf, offset, flags, chunk),
                "preadStructuredAsync");
    }

    public CompletableFuture<Void> pwriteAsync(ByteBuffer buf, long offset) {
        return pwriteAsync(buf, offset, 0);
    }

    public CompletableFuture<Void> pwriteAsync(ByteBuffer buf, long offset, int flags) {
        return future(writeCmd("pwriteAsync", "aioPwrite", buf, offset, flags), "pwriteAsync");
    }

    public CompletableFuture<Void> flushAsync() {
        return flushAsync(0);
    }

    public CompletableFuture<Void> flushAsync(int flags) {
        return future(flushCmd("flushAsync", "aioFlush", flags), "flushAsync");
    }

    public CompletableFuture<Void> trimAsync(long count, long offset) {
        return trimAsync(count, offset, 0);
    }

    public CompletableFuture<Void> trimAsync(long count, long offset, int flags) {
        return future(trimCmd("trimAsync", "aioTrim", count, offset, flags), "trimAsync");
    }

    public CompletableFuture<Void> cacheAsync(long count, long offset) {
        return cacheAsync(count, offset, 0);
    }

    public CompletableFuture<Void> cacheAsync(long count, long offset, int flags) {
        return future(cacheCmd("cacheAsync", "aioCache", count, offset, flags), "cacheAsync");
    }

    public CompletableFuture<Void> zeroAsync(long count, long offset) {
        return zeroAsync(count, offset, 0);
    }

    public CompletableFuture<Void> zeroAsync(long count, long offset, int flags) {
        return future(zeroCmd("zeroAsync", "aioZero", count, offset, flags), "zeroAsync");
    }

    public CompletableFuture<Void> blockStatusAsync(long count, long offset, ExtentCallback extent) {
        return blockStatusAsync(count, offset, extent, 0);
    }

    public CompletableFuture<Void> blockStatusAsync(long count, long offset, ExtentCallback extent, int flags) {
        nonNull(extent, "extent");
        return future(blockStatusCmd("blockStatusAsync", "aioBlockStatus", count, offset, extent, flags),
                "blockStatusAsync");
    }

    public CompletableFuture<Void> blockStatus64Async(long count, long offset, Extent64Callback extent64) {
        return blockStatus64Async(count, offset, extent64, 0);
    }

    public CompletableFuture<Void> blockStatus64Async(long count, long offset, Extent64Callback extent64, int flags) {
        nonNull(extent64, "extent64");
        return future(blockStatusCmd("blockStatus64Async", "aioBlockStatus64", count, offset, null, flags)
                .extent64(extent64), "blockStatus64Async");
    }

    public CompletableFuture<Void> blockStatusFilterAsync(long count, long offset, List<String> contexts,
                                                          Extent64Callback extent64) {
        return blockStatusFilterAsync(count, offset, contexts, extent64, 0);
    }

    public CompletableFuture<Void> blockStatusFilterAsync(long count, long offset, List<String> contexts,
                                                          Extent64Callback extent64, int flags) {
        nonNull(contexts, "contexts");
        nonNull(extent64, "extent64");
        return future(blockStatusFilterCmd("blockStatusFilterAsync", "aioBlockStatusFilter", count, offset,
                contexts, extent64, flags), "blockStatusFilterAsync");
    }

    // ---------------------------------------------------------------- statistics

    /** Bytes sent to the server, handshake included. */
    public long statsBytesSent() {
        WireChannel ch = channel;
        return ch == null ? 0 : ch.bytesSent();
    }

    /** Protocol messages sent: options and requests. */
    public long statsChunksSent() {
        WireChannel ch = channel;
        return ch == null ? 0 : ch.chunksSent();
    }

    /** Bytes received from the server, handshake included. */
    public long statsBytesReceived() {
        WireChannel ch = channel;
        return ch == null ? 0 : ch.bytesReceived();
    }

    /** Protocol messages received: option replies, simple replies and structured reply chunks. */
    public long statsChunksReceived() {
        WireChannel ch = channel;
        return ch == null ? 0 : ch.chunksReceived();
    }

    // ---------------------------------------------------------------- command preparation

    private Command readCmd(String m, String call, ByteBuffer buf, long offset, int flags, ChunkCallback chunk) {
        nonNull(buf, "buf");
        long count = buf.remaining();
        try {
            require(call);
            if (buf.isReadOnly()) {
                throw error(m, "buffer is read-only", Errno.EINVAL);
            }
            checkFlags(m, flags, chunk != null ? CmdFlag.DF : 0);
            if ((flags & CmdFlag.DF) != 0 && strict(Strict.COMMANDS) && !canDfQuiet()) {
                throw error(m, "server does not support the DF flag", Errno.EINVAL);
            }
            checkRange(m, Nbd.CMD_READ, offset, count, Errno.EINVAL);
        } catch (NbdException e) {
            // As libnbd, which zeroes before any check: a refused read leaves zeroes, not old contents.
            if (preadInitialize && !buf.isReadOnly()) {
                Command.zero(buf);
            }
            throw e;
        }
        Command c = Command.of(Nbd.CMD_READ, flags, offset, count, buf, chunk, null);
        // Zeroed by the engine only where the server's data does not cover it (see Command.zeroPending).
        return preadInitialize ? c.initialize() : c;
    }

    private Command writeCmd(String m, String call, ByteBuffer buf, long offset, int flags) {
        nonNull(buf, "buf");
        require(call);
        if (strict(Strict.AUTO_FLAG)) {
            // The flag's meaning is fixed by what was negotiated, so libnbd sets it itself.
            flags = negotiated.extendedHeaders ? flags | CmdFlag.PAYLOAD_LEN : flags & ~CmdFlag.PAYLOAD_LEN;
        }
        checkFlags(m, flags, CmdFlag.FUA | CmdFlag.PAYLOAD_LEN);
        checkWritable(m, flags);
        if (strict(Strict.COMMANDS) && ((flags & CmdFlag.PAYLOAD_LEN) != 0) != negotiated.extendedHeaders) {
            throw error(m, "incorrect setting for PAYLOAD_LEN flag", Errno.EINVAL);
        }
        long count = buf.remaining();
        checkRange(m, Nbd.CMD_WRITE, offset, count, Errno.ENOSPC);
        return Command.of(Nbd.CMD_WRITE, flags, offset, count, buf, null, null);
    }

    private Command flushCmd(String m, String call, int flags) {
        require(call);
        checkFlags(m, flags, 0);
        if (strict(Strict.COMMANDS) && !negotiated.export.has(Nbd.TFLAG_SEND_FLUSH)) {
            throw error(m, "server does not support flush operations", Errno.EINVAL);
        }
        return Command.of(Nbd.CMD_FLUSH, flags, 0, 0, null, null, null);
    }

    private Command trimCmd(String m, String call, long count, long offset, int flags) {
        require(call);
        checkFlags(m, flags, CmdFlag.FUA);
        if (strict(Strict.COMMANDS) && !negotiated.export.has(Nbd.TFLAG_SEND_TRIM)) {
            throw error(m, "server does not support trim operations", Errno.EINVAL);
        }
        checkWritable(m, flags);
        checkRange(m, Nbd.CMD_TRIM, offset, count, Errno.EINVAL);
        return Command.of(Nbd.CMD_TRIM, flags, offset, count, null, null, null);
    }

    private Command cacheCmd(String m, String call, long count, long offset, int flags) {
        require(call);
        checkFlags(m, flags, 0);
        if (strict(Strict.COMMANDS) && !negotiated.export.has(Nbd.TFLAG_SEND_CACHE)) {
            throw error(m, "server does not support cache operations", Errno.EINVAL);
        }
        checkRange(m, Nbd.CMD_CACHE, offset, count, Errno.EINVAL);
        return Command.of(Nbd.CMD_CACHE, flags, offset, count, null, null, null);
    }

    private Command zeroCmd(String m, String call, long count, long offset, int flags) {
        require(call);
        checkFlags(m, flags, CmdFlag.FUA | CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO);
        if (strict(Strict.COMMANDS)) {
            if (!negotiated.export.has(Nbd.TFLAG_SEND_WRITE_ZEROES)) {
                throw error(m, "server does not support zero operations", Errno.EINVAL);
            }
            if ((flags & CmdFlag.FAST_ZERO) != 0 && !negotiated.export.has(Nbd.TFLAG_SEND_FAST_ZERO)) {
                throw error(m, "server does not support the fast zero flag", Errno.EINVAL);
            }
        }
        checkWritable(m, flags);
        checkRange(m, Nbd.CMD_WRITE_ZEROES, offset, count, Errno.ENOSPC);
        return Command.of(Nbd.CMD_WRITE_ZEROES, flags, offset, count, null, null, null);
    }

    private Command blockStatusCmd(String m, String call, long count, long offset, ExtentCallback extent, int flags) {
        require(call);
        checkFlags(m, flags, CmdFlag.REQ_ONE);
        return blockStatusCommon(m, count, offset, extent, flags);
    }

    /** The checks every block status command shares (after the state and flags checks). */
    private Command blockStatusCommon(String m, long count, long offset, ExtentCallback extent, int flags) {
        if (strict(Strict.COMMANDS)) {
            if (!negotiated.structuredReplies) {
                throw error(m, "server does not support structured replies", Errno.ENOTSUP);
            }
            if (!negotiated.metaContextsValid || negotiated.metaContexts.isEmpty()) {
                throw error(m, "did not negotiate any metadata contexts, either you did not call "
                        + "addMetaContext before connecting or the server does not support it", Errno.ENOTSUP);
            }
        }
        checkRange(m, Nbd.CMD_BLOCK_STATUS, offset, count, Errno.EINVAL);
        return Command.of(Nbd.CMD_BLOCK_STATUS, flags, offset, count, null, null, extent);
    }

    /**
     * NBD_CMD_BLOCK_STATUS with a payload: the effect length, then the ids of
     * the wanted contexts; the header's length is the payload's (PAYLOAD_LEN).
     */
    private Command blockStatusFilterCmd(String m, String call, long count, long offset, List<String> contexts,
                                         Extent64Callback extent64, int flags) {
        require(call);
        if (strict(Strict.AUTO_FLAG)) {
            if (!negotiated.extendedHeaders) {
                throw error(m, "server does not support extended headers", Errno.ENOTSUP);
            }
            flags |= CmdFlag.PAYLOAD_LEN;
        }
        if (strict(Strict.COMMANDS)) {
            if (!(negotiated.export.has(Nbd.TFLAG_BLOCK_STAT_PAYLOAD) && negotiated.extendedHeaders)) {
                throw error(m, "server does not support the block status payload flag", Errno.EINVAL);
            }
            if ((flags & CmdFlag.PAYLOAD_LEN) == 0) {
                throw error(m, "incorrect setting for PAYLOAD_LEN flag", Errno.EINVAL);
            }
        }
        ByteBuffer payload = ByteBuffer.allocate(8 + 4 * contexts.size()).putLong(count);
        for (String name : contexts) {
            long id = negotiated.metaContextsValid ? negotiated.metaContextId(name) : -1;
            if (id < 0) {
                throw error(m, "context " + name + " not negotiated", Errno.EINVAL);
            }
            payload.putInt((int) id);
        }
        payload.flip();
        checkFlags(m, flags, CmdFlag.REQ_ONE | CmdFlag.PAYLOAD_LEN);
        return blockStatusCommon(m, count, offset, null, flags).extent64(extent64).payload(payload);
    }

    private boolean canDfQuiet() {
        return negotiated.exportKnown && negotiated.export.has(Nbd.TFLAG_SEND_DF) && negotiated.structuredReplies;
    }

    private boolean strict(int flag) {
        return (strict & flag) != 0;
    }

    private void checkFlags(String m, int flags, int allowed) {
        if ((flags & ~0xffff) != 0 || (strict(Strict.FLAGS) && (flags & ~allowed) != 0)) {
            throw error(m, "invalid value for flag: 0x" + Integer.toHexString(flags), Errno.EINVAL);
        }
    }

    private void checkWritable(String m, int flags) {
        if (!strict(Strict.COMMANDS)) {
            return;
        }
        if (negotiated.export.has(Nbd.TFLAG_READ_ONLY)) {
            throw error(m, "server does not support write operations", Errno.EPERM);
        }
        if ((flags & CmdFlag.FUA) != 0 && !negotiated.export.has(Nbd.TFLAG_SEND_FUA)) {
            throw error(m, "server does not support the FUA flag", Errno.EINVAL);
        }
    }

    /**
     * libnbd's common command checks, in its order: zero size, bounds,
     * alignment, payload limit, request size; {@code boundsErrno} is per command.
     */
    private void checkRange(String m, int type, long offset, long count, int boundsErrno) {
        if (strict(Strict.ZERO_SIZE) && count == 0) {
            throw error(m, "count cannot be 0", Errno.EINVAL);
        }
        long size = negotiated.export.size;
        if (strict(Strict.BOUNDS) && (Long.compareUnsigned(offset, size) > 0
                || Long.compareUnsigned(count, size - offset) > 0)) {
            throw error(m, "request out of bounds", boundsErrno);
        }
        long min = Integer.toUnsignedLong(negotiated.export.blockMinimum);
        if (min > 0 && strict(Strict.ALIGN) && ((offset | count) & (min - 1)) != 0) {
            throw error(m, "request is unaligned", Errno.EINVAL);
        }
        if (type == Nbd.CMD_WRITE && strict(Strict.PAYLOAD) && count > payloadMaximum()) {
            throw error(m, "request too large: maximum payload size is " + payloadMaximum(), Errno.ERANGE);
        }
        long limit = (type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) ? Nbd.MAX_REQUEST_SIZE
                : negotiated.extendedHeaders ? Long.MAX_VALUE : 0xffffffffL;
        if (Long.compareUnsigned(count, limit) > 0) {
            throw error(m, "request too large: maximum request size is " + limit, Errno.ERANGE);
        }
    }

    // ---------------------------------------------------------------- running commands

    /** Sends {@code c}, waits for its reply (reading it on this thread if no one else is), throws on failure. */
    private void execute(String m, Command c) {
        Transmission t = transmission;
        if (t.inReaderCallback()) {
            c.zeroIfPending();
            throw error(m, "a synchronous command cannot be issued from a chunk or extent callback", Errno.EDEADLK);
        }
        try {
            t.submit(c.sync(m));
        } catch (NbdError e) {
            throw error(m, e);
        }
        t.await(c);
        NbdException failure = c.error() != 0 ? Transmission.exception(c, m) : null;
        c.recycle();
        if (failure != null) {
            throw failure;
        }
    }

    private long aio(Command c, String m, CompletionCallback completion) {
        try {
            return transmission.submit(c.aio(m, completion));
        } catch (NbdError e) {
            throw error(m, e);
        }
    }

    private CompletableFuture<Void> future(Command c, String m) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            transmission.submit(c.future(m, f));
        } catch (NbdError e) {
            f.completeExceptionally(error(m, e));
        }
        return f;
    }

    /**
     * Sends NBD_CMD_DISC and waits until the server closes the connection.
     * Commands in flight complete first. Permitted only once
     * connected, as shared/libnbd-api.tsv says (libnbd 1.22 also takes it while
     * negotiating, as {@link #optAbort()}).
     */
    public void shutdown() {
        shutdown(0);
    }

    public void shutdown(int flags) {
        String m = "shutdown";
        require(m);
        if ((flags & ~Shutdown.MASK) != 0) {
            throw error(m, "invalid value for flag: 0x" + Integer.toHexString(flags), Errno.EINVAL);
        }
        Transmission t = transmission;
        if (!t.discSent()) {
            try {
                t.submit(Command.of(Nbd.CMD_DISC, 0, 0, 0, null, null, null));
            } catch (NbdError e) {
                throw error(m, e);
            }
        }
        awaitClose(t);
    }

    /**
     * Waits for the server to hang up after NBD_CMD_DISC: without limit while
     * commands are in flight, then briefly, and then hangs up itself so that a
     * server that never closes cannot hold us.
     */
    private void awaitClose(Transmission t) {
        lock.lock();
        try {
            long idleSince = -1;
            while (state == State.READY) {
                if (t.inFlight() > 0) {
                    idleSince = -1;
                } else if (idleSince < 0) {
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince > TimeUnit.SECONDS.toNanos(2)) {
                    break;
                }
                changed.await(50, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
        if (state == State.READY) {
            debug.log("shutdown", "server did not close the connection after NBD_CMD_DISC; closing it");
            lock.lock();
            try {
                setState(State.CLOSED);
            } finally {
                lock.unlock();
            }
            t.terminate("connection shut down");
        }
    }

    // ---------------------------------------------------------------- subprocess, close

    /** Sends {@code signum} (0 means SIGTERM) to the subprocess started by a connect call. */
    public void killSubprocess(int signum) {
        if (signum < 0) {
            throw error("killSubprocess", "invalid signal number: " + signum, Errno.EINVAL);
        }
        Subprocess c = child;
        if (c == null) {
            throw error("killSubprocess", "no subprocess exists", Errno.ESRCH);
        }
        try {
            c.kill(signum == 0 ? 15 : signum);
        } catch (IOException e) {
            throw error("killSubprocess", "kill: " + e.getMessage(), Errno.ESRCH);
        }
    }

    /** The pid of the subprocess started by a connect call. */
    public long getSubprocessPid() {
        Subprocess c = child;
        if (c == null) {
            throw error("getSubprocessPid", "no subprocess exists", Errno.ESRCH);
        }
        return c.pid();
    }

    /**
     * Closes the connection and releases everything: the reply reader ends,
     * commands in flight fail, a subprocess is reaped (a socket-activated one
     * is sent SIGTERM first, as libnbd does). Idempotent; safe in any state and
     * from any thread.
     */
    @Override
    public void close() {
        List<AutoCloseable> toClose;
        Thread worker;
        lock.lock();
        try {
            if (released) {
                return;
            }
            released = true;
            toClose = new ArrayList<>(pendingConnect);
            pendingConnect.clear();
            worker = workerThread;
            if (state != State.CREATED) {
                setState(State.CLOSED);
            }
        } finally {
            lock.unlock();
        }
        debug.log("close", "closing handle");
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (Exception ignored) {
                // Best effort: the descriptor is being abandoned.
            }
        }
        Transmission t = transmission;
        if (t != null) {
            t.terminate("handle closed");
        }
        WireChannel ch = channel;
        if (ch != null) {
            ch.close();
        }
        if (worker != null && worker != Thread.currentThread()) {
            try {
                worker.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        reapChild();
    }

    private void reapChild() {
        Subprocess c = child;
        if (c != null) {
            // A server on a socketpair exits when it sees EOF; a socket-activated one may keep listening.
            c.terminate(socketActivationDir != null ? Duration.ZERO : Duration.ofSeconds(2));
        }
        Path dir = socketActivationDir;
        if (dir != null) {
            Connector.deleteQuietly(dir.resolve("sock"), dir);
        }
    }
}
