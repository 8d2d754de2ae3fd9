package io.jnbd;

import io.jnbd.internal.ApiTable;
import io.jnbd.internal.ApiTable.PublicState;
import io.jnbd.testing.ApiMethods;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Walks every libnbd call of {@link NbdHandle} (each overload) through the six
 * public handle states, reached with real servers. Where libnbd-api.tsv
 * forbids the call it must fail exactly as libnbd does, whatever its
 * arguments, and change nothing; where it permits the call, the state check
 * must let it through.
 */
class StateWalkTest {
    private static final int EINVAL = 22;
    private static final int ENOTCONN = 107;
    private static final int ESRCH = 3;

    /** The walk covered this many calls when written; adding calls raises it, losing one is a regression. */
    private static final int MIN_WALKED = 117;

    /** Every public NbdHandle method named after a libnbd call, in a stable order so that runs repeat. */
    private static final List<Method> CALLS = ApiMethods.publicMethods().stream()
            .filter(m -> ApiTable.all().containsKey(m.getName()))
            .toList();

    /**
     * Calls that, when permitted, start or end a connection, an option or a
     * command: the handle would not stay in the state being walked, so each
     * such call gets a handle of its own.
     */
    private static final Pattern DISRUPTIVE = Pattern.compile("(connect|aioConnect)([A-Z].*)?|(opt|aioOpt)[A-Z].*"
            + "|shutdown|aioDisconnect|killSubprocess|aio(Pread|Pwrite|Flush|Trim|Cache|Zero|BlockStatus).*");

    /**
     * Without vsock loopback, a vsock connect to any cid leaves the machine
     * (to the hypervisor), so these are made only where they must be refused.
     */
    private static final Set<String> VSOCK_CONNECTS = Set.of("connectVsock", "aioConnectVsock");

    /** Calls that only report: what a refused call must leave as it was. */
    private static final Pattern REPORTER = Pattern.compile(
            "(get|is|can|supports|stats|aioIs|aioGet)[A-Z].*|connectionState|aioInFlight|aioPeekCommandCompleted");

    private static final String DUMMY_STRING = "jnbd-state-walk";
    /** Longer than NBD's 4096-byte limit on names. */
    private static final String TOO_LONG = "x".repeat(4097);

    /**
     * Valid arguments, or invalid ones (bad flags, sizes, names, an empty
     * argv): libnbd checks the state before the arguments, so a refused call
     * must fail the same way with either.
     */
    private enum Args { VALID, INVALID }

    @TempDir
    static Path dir;
    /** Bound but not listening: connecting to its port is refused, and no other program can take the port. */
    private static SocketChannel refusing;

    @BeforeAll
    static void reservePort() throws IOException {
        refusing = SocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterAll
    static void releasePort() throws IOException {
        refusing.close();
    }

    @ParameterizedTest
    @EnumSource(PublicState.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void everyCallKeepsToItsStates(PublicState state) {
        List<String> failures = new ArrayList<>();
        try (Shared shared = new Shared(state)) {
            for (Method m : CALLS) {
                ApiTable.Call call = ApiTable.call(m.getName());
                if (!call.allowedIn(state)) {
                    for (Args args : Args.values()) {
                        checkRefused(shared.handle(), state, m, call, args, failures);
                    }
                } else if (!VSOCK_CONNECTS.contains(m.getName())) {
                    checkPermitted(shared, state, m, failures);
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " state rule failures in " + state + ":\n" + String.join("\n", failures));
        }
    }

    /** libnbd's errors-not-connected: a refused read still clears the caller's buffer (pread_initialize). */
    @Test
    void refusedReadStillClearsTheBuffer() {
        try (NbdHandle h = new NbdHandle()) {
            byte[] buf = new byte[512];
            Arrays.fill(buf, (byte) '1');
            NbdException e = assertThrows(NbdException.class, () -> h.pread(buf, 0));
            assertEquals("pread: invalid state: START: the handle must be connected with the server", e.getMessage());
            assertEquals(ENOTCONN, e.getErrno());
            assertArrayEquals(new byte[512], buf);
        }
    }

    @Test
    void walkCoversTheApi() {
        Set<String> walked = CALLS.stream().map(Method::getName).collect(Collectors.toCollection(TreeSet::new));
        List<String> missing = ApiTable.all().keySet().stream().filter(n -> !walked.contains(n)).toList();
        System.out.println("StateWalkTest walks " + walked.size() + " of " + ApiTable.all().size()
                + " libnbd calls (" + CALLS.size() + " methods); no Java method yet: " + missing);
        assertTrue(walked.size() >= MIN_WALKED, "only " + walked.size() + " calls walked: " + walked);
    }

    private static void checkRefused(NbdHandle h, PublicState state, Method m, ApiTable.Call call, Args args,
                                     List<String> failures) {
        String expected = m.getName() + ": invalid state: " + shortName(h) + ": the handle must be "
                + call.permittedText();
        int errno = state == PublicState.CREATED ? ENOTCONN : EINVAL;
        Map<String, String> before = report(h);
        Throwable t = invoke(h, m, args);
        String what = ApiMethods.signature(m) + " with " + args.name().toLowerCase(Locale.ROOT) + " arguments";
        if (!(t instanceof NbdException e && e.getMessage().equals(expected) && e.getErrno() == errno)) {
            failures.add(what + ": expected NbdException \"" + expected + "\" (errno " + errno + "), got "
                    + describe(t));
        }
        Map<String, String> after = report(h);
        if (!before.equals(after)) {
            List<String> changed = before.keySet().stream()
                    .filter(k -> !before.get(k).equals(after.get(k)))
                    .map(k -> k + ": " + before.get(k) + " -> " + after.get(k))
                    .toList();
            failures.add(what + ": refused, yet changed " + changed);
        }
    }

    /** On the shared handle, or on one of its own where the call would move the handle on. */
    private static void checkPermitted(Shared shared, PublicState state, Method m, List<String> failures) {
        if (!DISRUPTIVE.matcher(m.getName()).matches()) {
            checkPermitted(shared.handle(), state, m, failures);
            return;
        }
        NbdHandle own = reach(state);
        try {
            checkPermitted(own, state, m, failures);
        } finally {
            discard(own);
        }
    }

    private static void checkPermitted(NbdHandle h, PublicState state, Method m, List<String> failures) {
        Throwable t = invoke(h, m, Args.VALID);
        if (t == null) {
            return;
        }
        // libnbd reports every failure as an error, so anything but NbdException is a jnbd bug.
        if (!(t instanceof NbdException) || t.getMessage().contains("invalid state")) {
            failures.add(ApiMethods.signature(m) + ": permitted in " + state + ", got " + describe(t));
        }
    }

    /** Calls {@code m} with arguments of {@code kind}; returns what it threw, or null. */
    private static Throwable invoke(NbdHandle h, Method m, Args kind) {
        Object[] args = arguments(h, m, kind);
        try {
            m.invoke(h, args);
            return null;
        } catch (InvocationTargetException e) {
            return e.getCause();
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        } finally {
            for (Object a : args) {
                // A refused connectSocket leaves the channel with the caller.
                if (a instanceof SocketChannel c) {
                    try {
                        c.close();
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
    }

    /**
     * Arguments of {@code kind} that can reach nothing outside the test:
     * connect calls always go to a refused port, an absent socket or a
     * command that exits at once; vsock ones, only ever refused, to cid 1
     * (never the host's cid 2).
     */
    private static Object[] arguments(NbdHandle h, Method m, Args kind) {
        String absent = dir.resolve("absent.sock").toString();
        return switch (m.getName()) {
            case "connectTcp", "aioConnectTcp" -> new Object[] {"127.0.0.1", refusingPort()};
            case "connectUnix", "aioConnectUnix" -> new Object[] {absent};
            case "connectUri", "aioConnectUri" -> new Object[] {"nbd+unix:///?socket=" + absent};
            case "connectVsock", "aioConnectVsock" -> new Object[] {1, 1};
            default -> Arrays.stream(m.getParameterTypes()).map(t -> dummy(h, m, t, kind)).toArray();
        };
    }

    private static Object dummy(NbdHandle h, Method m, Class<?> type, Args kind) {
        boolean valid = kind == Args.VALID;
        if (type == boolean.class) {
            // The opposite of the current value, so that a refused setter which still applied shows.
            return !(currentValue(h, m) instanceof Boolean b && b);
        }
        if (type == int.class) {
            return valid ? 0 : -1;
        }
        if (type == long.class) {
            return valid ? 512L : -1L;
        }
        if (type == String.class) {
            return valid ? DUMMY_STRING : TOO_LONG;
        }
        if (type == List.class) {
            return valid ? List.of("true") : List.of();
        }
        if (type == byte[].class) {
            return new byte[512];
        }
        if (type == ByteBuffer.class) {
            return ByteBuffer.allocate(512);
        }
        if (type == SocketChannel.class) {
            return hungUpSocket();
        }
        if (type == java.nio.channels.SelectableChannel.class) {
            // poll2's extra channel: a pipe nobody writes to, so only the handle can wake the poll.
            try {
                return java.nio.channels.Pipe.open().source();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        if (type == SocketAddress.class) {
            return valid ? UnixDomainSocketAddress.of(dir.resolve("absent.sock"))
                    : InetSocketAddress.createUnresolved(DUMMY_STRING + ".invalid", 1);
        }
        if (type.isEnum()) {
            Object current = currentValue(h, m);
            return Arrays.stream(type.getEnumConstants()).filter(c -> c != current).findFirst().orElseThrow();
        }
        if (type.isInterface() && type.getPackage() == NbdHandle.class.getPackage()) {
            return callback(type);
        }
        throw new AssertionError("no dummy argument of type " + type.getName() + " for " + ApiMethods.signature(m));
    }

    private static String refusingPort() {
        try {
            return Integer.toString(((InetSocketAddress) refusing.getLocalAddress()).getPort());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A connected socket whose peer has hung up: connectSocket reads EOF where the greeting should be. */
    private static SocketChannel hungUpSocket() {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel client = SocketChannel.open(server.getLocalAddress());
            server.accept().close();
            return client;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** What {@code setFoo}'s getter {@code getFoo} reports now, or null. */
    private static Object currentValue(NbdHandle h, Method setter) {
        if (!setter.getName().startsWith("set")) {
            return null;
        }
        try {
            return NbdHandle.class.getMethod("get" + setter.getName().substring(3)).invoke(h);
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
            return null;
        }
    }

    /** A callback that does nothing and returns 0 (success to libnbd). */
    private static Object callback(Class<?> type) {
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) ->
                switch (method.getName()) {
                    case "equals" -> proxy == args[0];
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "toString" -> "dummy " + type.getSimpleName();
                    default -> 0;
                });
    }

    /** Everything the reporting calls say, failures included. */
    private static Map<String, String> report(NbdHandle h) {
        Map<String, String> r = new LinkedHashMap<>();
        for (Method m : CALLS) {
            if (m.getParameterCount() == 0 && m.getReturnType() != void.class
                    && REPORTER.matcher(m.getName()).matches()) {
                try {
                    r.put(m.getName(), String.valueOf(m.invoke(h)));
                } catch (InvocationTargetException e) {
                    r.put(m.getName(), describe(e.getCause()));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return r;
    }

    // ---------------------------------------------------------------- reaching the states

    private static List<String> nbdkit() {
        return List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M");
    }

    private static NbdHandle reach(PublicState state) {
        NbdHandle h = new NbdHandle();
        try {
            switch (state) {
                case CREATED -> {
                }
                case CONNECTING -> {
                    // sleep never sends a greeting, so the handshake waits for one.
                    h.aioConnectCommand(List.of("sleep", "30"));
                    awaitChild(h);
                }
                case NEGOTIATING -> {
                    h.setOptMode(true);
                    h.connectCommand(nbdkit());
                }
                case CONNECTED -> h.connectCommand(nbdkit());
                case CLOSED -> {
                    h.connectCommand(nbdkit());
                    h.shutdown();
                }
                case DEAD -> {
                    h.connectCommand(nbdkit());
                    h.killSubprocess(9);
                    awaitDeath(h);
                }
            }
            assertEquals(state, publicState(h), h.connectionState());
            return h;
        } catch (RuntimeException | Error e) {
            discard(h);
            throw e;
        }
    }

    /**
     * The state must hold still during the walk: wait until the connect thread
     * has spawned the child, after which nothing happens until the greeting.
     */
    private static void awaitChild(NbdHandle h) {
        while (true) {
            h.poll(-1);
            try {
                h.getSubprocessPid();
                // The child and the state change are published under the handle's lock, which poll takes.
                h.poll(0);
                return;
            } catch (NbdException e) {
                assertEquals(ESRCH, e.getErrno(), e.getMessage());
            }
        }
    }

    private static void awaitDeath(NbdHandle h) {
        while (h.aioIsReady()) {
            try {
                h.poll(-1);
            } catch (NbdException e) {
                // The first poll after the death reports its cause; the death is what we wait for.
            }
        }
    }

    /** close() gives a subprocess 2 s to exit on EOF, which sleep never does: kill it first. */
    private static void discard(NbdHandle h) {
        if (h.aioIsConnecting()) {
            try {
                h.killSubprocess(9);
            } catch (NbdException e) {
                // Not spawned yet, or gone already: close() has nothing to wait for.
            }
        }
        h.close();
    }

    /** The handle most calls of one state share; replaced if a permitted call moved it on. */
    private static final class Shared implements AutoCloseable {
        private final PublicState state;
        private NbdHandle handle;

        Shared(PublicState state) {
            this.state = state;
            this.handle = reach(state);
        }

        NbdHandle handle() {
            if (publicState(handle) != state) {
                discard(handle);
                handle = reach(state);
            }
            return handle;
        }

        @Override
        public void close() {
            discard(handle);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static PublicState publicState(NbdHandle h) {
        if (h.aioIsCreated()) {
            return PublicState.CREATED;
        } else if (h.aioIsConnecting()) {
            return PublicState.CONNECTING;
        } else if (h.aioIsNegotiating()) {
            return PublicState.NEGOTIATING;
        } else if (h.aioIsReady() || h.aioIsProcessing()) {
            return PublicState.CONNECTED;
        } else if (h.aioIsClosed()) {
            return PublicState.CLOSED;
        } else if (h.aioIsDead()) {
            return PublicState.DEAD;
        }
        throw new AssertionError("no aioIs* call claims state " + h.connectionState());
    }

    /** libnbd's short state name, the part of connectionState() before the colon. */
    private static String shortName(NbdHandle h) {
        String s = h.connectionState();
        return s.substring(0, s.indexOf(": "));
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "success";
        }
        String s = t.getClass().getSimpleName() + ": " + t.getMessage();
        return t instanceof NbdException e ? s + " (errno " + e.getErrno() + ")" : s;
    }
}
