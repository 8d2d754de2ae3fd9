package io.jnbd.internal.posix;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The few Linux calls the JDK does not offer: AF_VSOCK sockets, socket pairs
 * as plain descriptors, and child processes that get a chosen descriptor as
 * chosen numbers (stdin/stdout for {@code connect_command}, fd 3 for systemd
 * socket activation). Linux only; see {@link #isAvailable()}.
 */
public final class Posix {
    private Posix() {
    }

    private static final int SOCKADDR_VM_SIZE = 16;
    /** sun_path of struct sockaddr_un, including the terminating NUL. */
    private static final int SUN_PATH_SIZE = 108;
    private static final int SUN_PATH_OFFSET = 2;

    /** Starts argv (the words after the script) with LISTEN_PID set to the shell's pid, which exec keeps. */
    private static final String SET_LISTEN_PID = "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"";

    private static final boolean AVAILABLE = probe();

    private static boolean probe() {
        if (!"Linux".equals(System.getProperty("os.name")) || ValueLayout.ADDRESS.byteSize() != 8) {
            return false;
        }
        try {
            MethodHandles.lookup().ensureInitialized(Libc.class);
            return true;
        } catch (LinkageError | ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether native calls work here: 64-bit Linux, every needed libc symbol
     * resolves, and native access is enabled for this module.
     */
    public static boolean isAvailable() {
        return AVAILABLE;
    }

    private static void requireAvailable(String operation) throws PosixException {
        if (!AVAILABLE) {
            throw new PosixException(operation + " (no native access to libc on this platform)", Libc.ENOSYS);
        }
    }

    /** A connected pair of AF_UNIX stream sockets, close-on-exec. */
    public static Fd[] socketPair() throws IOException {
        requireAvailable("socketpair");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(JAVA_INT, 2);
            int r = Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, sv);
            if (r < 0) {
                throw new PosixException("socketpair", -r);
            }
            return new Fd[] {new Fd(sv.getAtIndex(JAVA_INT, 0)), new Fd(sv.getAtIndex(JAVA_INT, 1))};
        }
    }

    /** Whether this kernel can create AF_VSOCK stream sockets (says nothing about reaching any peer). */
    public static boolean supportsVsock() {
        if (!AVAILABLE) {
            return false;
        }
        int s = Libc.socket(Libc.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (s < 0) {
            return false;
        }
        Libc.close(s);
        return true;
    }

    /**
     * Encodes struct sockaddr_vm in host byte order.
     *
     * @param cid the context id, unsigned (-1 is VMADDR_CID_ANY)
     * @param port the port, unsigned (-1 is VMADDR_PORT_ANY)
     */
    public static byte[] sockaddrVm(int cid, int port) {
        return ByteBuffer.allocate(SOCKADDR_VM_SIZE)
                .order(ByteOrder.nativeOrder())
                .putShort((short) Libc.AF_VSOCK)
                .putShort((short) 0)
                .putInt(port)
                .putInt(cid)
                .array();
    }

    /**
     * Connects an AF_VSOCK stream socket, blocking until connected or failed.
     *
     * @param cid the peer's context id, unsigned
     * @param port the peer's port, unsigned
     * @throws PosixException naming cid and port, with the errno of socket(2) or connect(2)
     */
    public static Fd vsockConnect(int cid, int port) throws IOException {
        return vsockConnect(sockaddrVm(cid, port),
                "vsock cid " + Integer.toUnsignedString(cid) + " port " + Integer.toUnsignedString(port));
    }

    /**
     * The socket and connect steps of {@link #vsockConnect(int, int)} for any
     * encoded address. Tests use an address the kernel rejects before choosing
     * a vsock transport: on a machine without vsock loopback, any well-formed
     * connect leaves the machine through the guest-to-host transport.
     */
    static Fd vsockConnect(byte[] sockaddr, String peer) throws IOException {
        requireAvailable("connect to " + peer);
        int s = Libc.socket(Libc.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new PosixException("socket(AF_VSOCK) for " + peer, -s);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocateFrom(JAVA_BYTE, sockaddr);
            int r;
            // A signal aborts a vsock connect and resets the socket, so it can simply be redone.
            do {
                r = Libc.connect(s, addr, sockaddr.length);
            } while (r == -Libc.EINTR);
            if (r < 0) {
                Libc.close(s);
                throw new PosixException("connect to " + peer, -r);
            }
        }
        return new Fd(s);
    }

    /**
     * A listening AF_UNIX stream socket bound to {@code path} (a file the
     * caller deletes when done), close-on-exec, backlog SOMAXCONN.
     *
     * @throws PosixException ENAMETOOLONG if the path does not fit sockaddr_un, or the errno of bind/listen
     */
    public static Fd unixListener(Path path) throws IOException {
        byte[] name = path.toString().getBytes(Libc.NATIVE_CHARSET);
        requireAvailable("bind " + path);
        if (name.length == 0 || indexOfNul(name) >= 0) {
            throw new PosixException("bind " + path, Libc.EINVAL);
        }
        if (name.length >= SUN_PATH_SIZE) {
            throw new PosixException("bind " + path, Libc.ENAMETOOLONG);
        }
        int s = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new PosixException("socket(AF_UNIX)", -s);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(SUN_PATH_OFFSET + SUN_PATH_SIZE, 8);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_UNIX);
            MemorySegment.copy(name, 0, addr, JAVA_BYTE, SUN_PATH_OFFSET, name.length);
            int r = Libc.bind(s, addr, SUN_PATH_OFFSET + name.length + 1);
            if (r < 0) {
                Libc.close(s);
                throw new PosixException("bind " + path, -r);
            }
            r = Libc.listen(s, Libc.SOMAXCONN);
            if (r < 0) {
                Libc.close(s);
                throw new PosixException("listen " + path, -r);
            }
        }
        return new Fd(s);
    }

    /**
     * Takes ownership of a descriptor this process inherited (stdin in
     * nbdkit's {@code -s} mode, the listening sockets of systemd socket
     * activation from fd 3 up) and marks it close-on-exec.
     */
    public static Fd inherited(int number) throws IOException {
        requireAvailable("use inherited descriptor " + number);
        int r = Libc.fcntl(number, Libc.F_SETFD, Libc.FD_CLOEXEC);
        if (r < 0) {
            throw new PosixException("descriptor " + number, -r);
        }
        return new Fd(number);
    }

    /** Waits for a connection on a listening socket (accept4, close-on-exec); EINTR is retried. */
    public static Fd accept(Fd listener) throws IOException {
        int n = listener.acquire("accept");
        try {
            int r;
            do {
                r = Libc.accept4(n, Libc.SOCK_CLOEXEC);
            } while (r == -Libc.EINTR);
            if (r < 0) {
                throw new PosixException("accept", -r);
            }
            return new Fd(r);
        } finally {
            listener.release();
        }
    }

    /** Opens an existing file read-only, close-on-exec (for {@link Fd#seekData} and {@link Fd#seekHole}). */
    public static Fd openReadOnly(Path path) throws IOException {
        requireAvailable("open " + path);
        try (Arena arena = Arena.ofConfined()) {
            int r = Libc.open(cString(arena, path.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (r < 0) {
                throw new PosixException("open " + path, -r);
            }
            return new Fd(r);
        }
    }

    /**
     * Starts {@code argv} (argv[0] looked up in this process's PATH) with
     * {@code fd} as each of {@code childFds}. The child inherits stderr
     * unless 2 is among {@code childFds}; other descriptors from 3 up are
     * closed, all signals have their default action, and none is blocked.
     *
     * @param extraEnv variables to set, on top of this process's environment
     * @param removeEnv variables of this process's environment not to pass on
     * @throws PosixException naming argv[0] if it cannot be started (ENOENT, EACCES, ...)
     */
    public static Subprocess spawn(List<String> argv, Map<String, String> extraEnv, Set<String> removeEnv,
            Fd fd, int... childFds) throws IOException {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv is empty");
        }
        if (childFds.length == 0) {
            throw new IllegalArgumentException("no child descriptor numbers");
        }
        String what = "spawn " + argv.get(0);
        requireAvailable(what);
        int maxTarget = 0;
        for (int target : childFds) {
            if (target < 0) {
                throw new IllegalArgumentException("negative descriptor number " + target);
            }
            maxTarget = Math.max(maxTarget, target);
        }
        int closeFrom = Math.max(3, maxTarget + 1);
        Map<String, String> env = new LinkedHashMap<>(System.getenv());
        env.keySet().removeAll(removeEnv);
        env.putAll(extraEnv);
        List<String> envStrings = new ArrayList<>(env.size());
        env.forEach((k, v) -> envStrings.add(k + "=" + v));

        int number = fd.acquire(what);
        try (Arena arena = Arena.ofConfined()) {
            // Above every target, so each dup2 really duplicates (which clears
            // close-on-exec) and closefrom removes this copy afterwards.
            int high = Libc.fcntl(number, Libc.F_DUPFD_CLOEXEC, Math.max(10, closeFrom));
            if (high < 0) {
                throw new PosixException(what + ": fcntl(F_DUPFD_CLOEXEC)", -high);
            }
            try {
                return spawn(arena, what, argv, envStrings, high, childFds, closeFrom);
            } finally {
                Libc.close(high);
            }
        } finally {
            fd.release();
        }
    }

    private static Subprocess spawn(Arena arena, String what, List<String> argv, List<String> env, int high,
            int[] childFds, int closeFrom) throws PosixException {
        MemorySegment actions = arena.allocate(Libc.SPAWN_STRUCT_SIZE, 16);
        check(what, Libc.fileActionsInit(actions));
        try {
            for (int target : childFds) {
                check(what, Libc.fileActionsAddDup2(actions, high, target));
            }
            for (int gap = 3; gap < closeFrom; gap++) {
                if (!contains(childFds, gap)) {
                    check(what, Libc.fileActionsAddClose(actions, gap));
                }
            }
            if (Libc.hasAddCloseFrom()) {
                check(what, Libc.fileActionsAddCloseFrom(actions, closeFrom));
            }
            MemorySegment attr = arena.allocate(Libc.SPAWN_STRUCT_SIZE, 16);
            check(what, Libc.spawnAttrInit(attr));
            try {
                // Every bit, not sigfillset: that leaves out glibc's internal
                // signals 32 and 33, which the spawned child would then ignore.
                MemorySegment all = arena.allocate(Libc.SIGSET_SIZE, 8).fill((byte) 0xff);
                MemorySegment none = arena.allocate(Libc.SIGSET_SIZE, 8);
                check(what, Libc.sigemptyset(none));
                check(what, Libc.spawnAttrSetFlags(attr,
                        (short) (Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSIGMASK)));
                check(what, Libc.spawnAttrSetSigDefault(attr, all));
                check(what, Libc.spawnAttrSetSigMask(attr, none));
                MemorySegment pid = arena.allocate(JAVA_INT);
                check(what, Libc.posixSpawnp(pid, cString(arena, argv.get(0)), actions, attr,
                        cStringArray(arena, argv), cStringArray(arena, env)));
                return new Subprocess(pid.get(JAVA_INT, 0));
            } finally {
                Libc.spawnAttrDestroy(attr);
            }
        } finally {
            Libc.fileActionsDestroy(actions);
        }
    }

    /**
     * Starts {@code argv} the way systemd socket activation does: with
     * {@code listener} as fd 3, LISTEN_FDS=1, LISTEN_FDNAMES={@code fdName}
     * ("unknown" if empty) and LISTEN_PID set to the child's own pid. The
     * pid is only known in the child, so {@code /bin/sh} sets it and then
     * execs argv, which keeps the pid.
     */
    public static Subprocess spawnSocketActivated(List<String> argv, Fd listener, String fdName)
            throws IOException {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv is empty");
        }
        List<String> shell = new ArrayList<>(argv.size() + 3);
        shell.addAll(List.of("/bin/sh", "-c", SET_LISTEN_PID));
        shell.addAll(argv);
        String name = fdName == null || fdName.isEmpty() ? "unknown" : fdName;
        return spawn(shell, Map.of("LISTEN_FDS", "1", "LISTEN_FDNAMES", name),
                Set.of("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"), listener, 3);
    }

    private static void check(String what, int errorNumber) throws PosixException {
        if (errorNumber != 0) {
            throw new PosixException(what, errorNumber < 0 ? Libc.EINVAL : errorNumber);
        }
    }

    private static boolean contains(int[] values, int value) {
        return Arrays.stream(values).anyMatch(v -> v == value);
    }

    private static int indexOfNul(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static MemorySegment cString(Arena arena, String s) {
        byte[] bytes = s.getBytes(Libc.NATIVE_CHARSET);
        if (indexOfNul(bytes) >= 0) {
            throw new IllegalArgumentException("NUL character in " + s);
        }
        MemorySegment c = arena.allocate(bytes.length + 1L);
        MemorySegment.copy(bytes, 0, c, JAVA_BYTE, 0, bytes.length);
        return c;
    }

    /** A NULL-terminated char *[]. */
    private static MemorySegment cStringArray(Arena arena, List<String> strings) {
        MemorySegment array = arena.allocate(ADDRESS, strings.size() + 1L);
        for (int i = 0; i < strings.size(); i++) {
            array.setAtIndex(ADDRESS, i, cString(arena, strings.get(i)));
        }
        return array;
    }
}
