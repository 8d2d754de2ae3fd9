package io.jnbd.internal.posix;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * Downcalls into glibc.
 *
 * <p>Calls that report failure through errno return {@code -errno} instead of
 * -1, kernel style, so callers can retry EINTR without exceptions. The
 * posix_spawn family returns its error number directly, as in C.
 *
 * <p>Initialising this class fails (with a {@link LinkageError}) if a required
 * symbol is missing or native access is denied; {@link Posix#isAvailable()}
 * probes for that.
 */
final class Libc {
    private Libc() {
    }

    static final int EINTR = 4;
    static final int EBADF = 9;
    static final int EINVAL = 22;
    static final int ENAMETOOLONG = 36;
    static final int ENOSYS = 38;
    static final int ENOTSOCK = 88;
    static final int ENXIO = 6;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;

    static final int AF_UNIX = 1;
    static final int AF_VSOCK = 40;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int F_DUPFD = 0;
    static final int F_DUPFD_CLOEXEC = 1030;
    static final int F_SETFD = 2;
    static final int FD_CLOEXEC = 1;
    static final int SOMAXCONN = 4096;
    static final int WNOHANG = 1;
    static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    static final short POSIX_SPAWN_SETSIGMASK = 0x08;

    /** glibc x86_64 has 80 and 336 bytes; room to spare in case a port differs. */
    static final long SPAWN_STRUCT_SIZE = 1024;
    static final long SIGSET_SIZE = 128;

    /** struct msghdr and struct iovec of 64-bit Linux. */
    static final long MSGHDR_SIZE = 56;
    static final long MSGHDR_IOV_OFFSET = 16;
    static final long MSGHDR_IOVLEN_OFFSET = 24;
    static final long IOVEC_SIZE = 16;

    /**
     * The charset the JDK itself uses for file names and command lines, so
     * paths and argv reach the kernel as {@code java.io.File} would send them.
     */
    static final Charset NATIVE_CHARSET = nativeCharset();

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private static final MethodHandle READ = errnoCall("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle WRITEV = errnoCall("writev", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle SENDMSG = errnoCall("sendmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CLOSE = errnoCall("close", JAVA_INT, JAVA_INT);
    private static final MethodHandle SHUTDOWN = errnoCall("shutdown", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle SOCKET = errnoCall("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle SOCKETPAIR =
            errnoCall("socketpair", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle CONNECT = errnoCall("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle BIND = errnoCall("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LISTEN = errnoCall("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle ACCEPT4 = errnoCall("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    /** open(2) without the variadic mode argument: only for opening existing files. */
    private static final MethodHandle OPEN = errnoCall("open", JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LSEEK = errnoCall("lseek", JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT);
    private static final MethodHandle FCNTL = LINKER.downcallHandle(symbol("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    private static final MethodHandle WAITPID = errnoCall("waitpid", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle KILL = errnoCall("kill", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle STRERROR = plainCall("strerror", ADDRESS, JAVA_INT);
    private static final MethodHandle SIGEMPTYSET = plainCall("sigemptyset", JAVA_INT, ADDRESS);
    private static final MethodHandle FA_INIT = plainCall("posix_spawn_file_actions_init", JAVA_INT, ADDRESS);
    private static final MethodHandle FA_DESTROY = plainCall("posix_spawn_file_actions_destroy", JAVA_INT, ADDRESS);
    private static final MethodHandle FA_ADDDUP2 =
            plainCall("posix_spawn_file_actions_adddup2", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    private static final MethodHandle FA_ADDCLOSE =
            plainCall("posix_spawn_file_actions_addclose", JAVA_INT, ADDRESS, JAVA_INT);
    /** glibc 2.34 and later; null before. */
    private static final MethodHandle FA_ADDCLOSEFROM = LIBC.find("posix_spawn_file_actions_addclosefrom_np")
            .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)))
            .orElse(null);
    private static final MethodHandle ATTR_INIT = plainCall("posix_spawnattr_init", JAVA_INT, ADDRESS);
    private static final MethodHandle ATTR_DESTROY = plainCall("posix_spawnattr_destroy", JAVA_INT, ADDRESS);
    private static final MethodHandle ATTR_SETFLAGS =
            plainCall("posix_spawnattr_setflags", JAVA_INT, ADDRESS, JAVA_SHORT);
    private static final MethodHandle ATTR_SETSIGDEFAULT =
            plainCall("posix_spawnattr_setsigdefault", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle ATTR_SETSIGMASK =
            plainCall("posix_spawnattr_setsigmask", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle POSIX_SPAWNP =
            plainCall("posix_spawnp", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);

    private static Charset nativeCharset() {
        for (String property : new String[] {"sun.jnu.encoding", "native.encoding"}) {
            String name = System.getProperty(property);
            if (name != null && Charset.isSupported(name)) {
                return Charset.forName(name);
            }
        }
        return StandardCharsets.UTF_8;
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static MethodHandle errnoCall(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(symbol(name), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle plainCall(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(symbol(name), FunctionDescriptor.of(result, args));
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static long check(long result, MemorySegment capture) {
        return result == -1 ? -errno(capture) : result;
    }

    private static int check(int result, MemorySegment capture) {
        return result == -1 ? -errno(capture) : result;
    }

    /** invokeExact declares Throwable; only unchecked ones can come out of these handles. */
    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    static long read(int fd, MemorySegment buf, long count) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((long) READ.invokeExact(cs, fd, buf, count), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static long writev(int fd, MemorySegment iov, int iovcnt) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((long) WRITEV.invokeExact(cs, fd, iov, iovcnt), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static long sendmsg(int fd, MemorySegment msg, int flags) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((long) SENDMSG.invokeExact(cs, fd, msg, flags), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** Linux releases the descriptor even when close reports an error (EINTR included): never retry. */
    static int close(int fd) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) CLOSE.invokeExact(cs, fd), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int shutdown(int fd, int how) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) SHUTDOWN.invokeExact(cs, fd, how), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int socket(int domain, int type, int protocol) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) SOCKET.invokeExact(cs, domain, type, protocol), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int socketpair(int domain, int type, int protocol, MemorySegment sv) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) SOCKETPAIR.invokeExact(cs, domain, type, protocol, sv), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int connect(int fd, MemorySegment addr, int addrlen) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) CONNECT.invokeExact(cs, fd, addr, addrlen), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int bind(int fd, MemorySegment addr, int addrlen) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) BIND.invokeExact(cs, fd, addr, addrlen), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int listen(int fd, int backlog) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) LISTEN.invokeExact(cs, fd, backlog), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int accept4(int fd, int flags) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) ACCEPT4.invokeExact(cs, fd, MemorySegment.NULL, MemorySegment.NULL, flags), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int open(MemorySegment path, int flags) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) OPEN.invokeExact(cs, path, flags), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((long) LSEEK.invokeExact(cs, fd, offset, whence), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** fcntl with an int argument (F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, ...). */
    static int fcntl(int fd, int cmd, int arg) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) FCNTL.invokeExact(cs, fd, cmd, arg), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int waitpid(int pid, MemorySegment status, int options) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) WAITPID.invokeExact(cs, pid, status, options), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int kill(int pid, int signal) {
        MemorySegment cs = CAPTURE.get();
        try {
            return check((int) KILL.invokeExact(cs, pid, signal), cs);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int sigemptyset(MemorySegment set) {
        return intCall(SIGEMPTYSET, set);
    }

    static int fileActionsInit(MemorySegment actions) {
        return intCall(FA_INIT, actions);
    }

    static int fileActionsDestroy(MemorySegment actions) {
        return intCall(FA_DESTROY, actions);
    }

    static int fileActionsAddDup2(MemorySegment actions, int fd, int newfd) {
        try {
            return (int) FA_ADDDUP2.invokeExact(actions, fd, newfd);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int fileActionsAddClose(MemorySegment actions, int fd) {
        try {
            return (int) FA_ADDCLOSE.invokeExact(actions, fd);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static boolean hasAddCloseFrom() {
        return FA_ADDCLOSEFROM != null;
    }

    static int fileActionsAddCloseFrom(MemorySegment actions, int from) {
        try {
            return (int) FA_ADDCLOSEFROM.invokeExact(actions, from);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int spawnAttrInit(MemorySegment attr) {
        return intCall(ATTR_INIT, attr);
    }

    static int spawnAttrDestroy(MemorySegment attr) {
        return intCall(ATTR_DESTROY, attr);
    }

    static int spawnAttrSetFlags(MemorySegment attr, short flags) {
        try {
            return (int) ATTR_SETFLAGS.invokeExact(attr, flags);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int spawnAttrSetSigDefault(MemorySegment attr, MemorySegment set) {
        return intCall(ATTR_SETSIGDEFAULT, attr, set);
    }

    static int spawnAttrSetSigMask(MemorySegment attr, MemorySegment set) {
        return intCall(ATTR_SETSIGMASK, attr, set);
    }

    /** Returns 0 or the error number; exec failures (ENOENT, EACCES, ...) are reported here too. */
    static int posixSpawnp(MemorySegment pid, MemorySegment file, MemorySegment actions, MemorySegment attr,
            MemorySegment argv, MemorySegment envp) {
        try {
            return (int) POSIX_SPAWNP.invokeExact(pid, file, actions, attr, argv, envp);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    private static int intCall(MethodHandle handle, MemorySegment arg) {
        try {
            return (int) handle.invokeExact(arg);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    private static int intCall(MethodHandle handle, MemorySegment arg1, MemorySegment arg2) {
        try {
            return (int) handle.invokeExact(arg1, arg2);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }
}
