package io.jnbd.tools.copy;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

/**
 * The Linux file calls that copying needs and the JDK lacks: finding holes
 * ({@code lseek SEEK_DATA/SEEK_HOLE}), making them ({@code fallocate},
 * {@code BLKZEROOUT}), pushing written pages out of the page cache
 * ({@code sync_file_range}, {@code posix_fadvise}), writing to a descriptor given by number
 * ({@code --progress=FD}) and errno's text. Each call returns {@code -errno}
 * on failure, kernel style. When native access is not permitted,
 * {@link #AVAILABLE} is false and copying does without these.
 */
final class Native {
    private Native() {
    }

    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;
    static final int FALLOC_FL_KEEP_SIZE = 1;
    static final int FALLOC_FL_PUNCH_HOLE = 2;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;
    /** {@code _IO(0x12, 127)}: zero a byte range of a block device. */
    static final long BLKZEROOUT = 0x127f;
    static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;
    static final int SYNC_FILE_RANGE_WRITE = 2;
    static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;
    static final int POSIX_FADV_DONTNEED = 4;

    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int ENOTTY = 25;
    static final int EOPNOTSUPP = 95;

    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /**
     * Whether the calls can be made: Linux, 64 bits, and native access
     * permitted (linking {@code lseek}, which every user of this class
     * needs, is what finds out).
     */
    static final boolean AVAILABLE = linkable();

    private static boolean linkable() {
        try {
            return "Linux".equals(System.getProperty("os.name")) && ADDRESS.byteSize() == 8 && Lseek.H != null;
        } catch (RuntimeException | LinkageError e) {
            // No native access (a restricted method refused) or a missing symbol.
            return false;
        }
    }

    // One holder class per call, so that a copy links only the calls it makes: each
    // downcall handle costs a few milliseconds of start-up.
    private static final class Open {
        static final MethodHandle H = call("open", true, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    }

    private static final class Close {
        static final MethodHandle H = call("close", true, JAVA_INT, JAVA_INT);
    }

    private static final class Lseek {
        static final MethodHandle H = call("lseek", true, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT);
    }

    private static final class Fallocate {
        static final MethodHandle H = call("fallocate", true, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG);
    }

    private static final class Ioctl {
        static final MethodHandle H = call("ioctl", true, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
    }

    private static final class Write {
        static final MethodHandle H = call("write", true, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    }

    private static final class Strerror {
        static final MethodHandle H = call("strerror", false, ADDRESS, JAVA_INT);
    }

    private static final class SyncFileRange {
        static final MethodHandle H =
                call("sync_file_range", false, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
    }

    private static final class Fadvise {
        static final MethodHandle H = call("posix_fadvise", false, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
    }

    private static MethodHandle call(String name, boolean errno, MemoryLayout result, MemoryLayout... args) {
        Linker linker = Linker.nativeLinker();
        MemorySegment symbol = linker.defaultLookup().find(name)
                .orElseThrow(() -> new LinkageError("no " + name + " in libc"));
        Linker.Option[] options = errno
                ? new Linker.Option[] {Linker.Option.captureCallState("errno")}
                : new Linker.Option[0];
        // A restricted method: this throws, rather than the first call, when native access is denied.
        return linker.downcallHandle(symbol, FunctionDescriptor.of(result, args), options);
    }

    /** Opens {@code path}; returns the descriptor or {@code -errno}. */
    static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            MemorySegment p = arena.allocateFrom(path, StandardCharsets.UTF_8);
            int r;
            do {
                r = (int) Open.H.invokeExact(state, p, flags | O_CLOEXEC, 0);
            } while (r < 0 && errno(state) == EINTR);
            return r < 0 ? -errno(state) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            // Only descriptors opened for lseek and fallocate come here: a failed close loses nothing.
            int unused = (int) Close.H.invokeExact(arena.allocate(CAPTURE_LAYOUT), fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code lseek}; the new offset or {@code -errno}. */
    static long lseek(int fd, long offset, int whence) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            long r = (long) Lseek.H.invokeExact(state, fd, offset, whence);
            return r < 0 ? -errno(state) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fallocate}; 0 or {@code -errno}. */
    static int fallocate(int fd, int mode, long offset, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            int r = (int) Fallocate.H.invokeExact(state, fd, mode, offset, length);
            return r < 0 ? -errno(state) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, uint64_t[2] {offset, length})}; 0 or {@code -errno}. */
    static int ioctlRange(int fd, long request, long offset, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            MemorySegment range = arena.allocate(JAVA_LONG, 2);
            range.setAtIndex(JAVA_LONG, 0, offset);
            range.setAtIndex(JAVA_LONG, 1, length);
            int r = (int) Ioctl.H.invokeExact(state, fd, request, range);
            return r < 0 ? -errno(state) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes all of {@code bytes} to descriptor {@code fd}; 0 or {@code -errno}. */
    static int write(int fd, byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, bytes);
            long done = 0;
            while (done < bytes.length) {
                long r = (long) Write.H.invokeExact(state, fd, buf.asSlice(done), bytes.length - done);
                if (r < 0) {
                    if (errno(state) == EINTR) {
                        continue;
                    }
                    return -errno(state);
                }
                done += r;
            }
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code sync_file_range}, a hint: its result does not matter. */
    static void syncFileRange(int fd, long offset, long length, int flags) {
        try {
            int unused = (int) SyncFileRange.H.invokeExact(fd, offset, length, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code posix_fadvise}, a hint: its result does not matter. */
    static void fadvise(int fd, long offset, long length, int advice) {
        try {
            int unused = (int) Fadvise.H.invokeExact(fd, offset, length, advice);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** glibc's text for {@code errno} ("Input/output error"), or "errno N" without native access. */
    static String strerror(int errno) {
        if (!AVAILABLE) {
            return "errno " + errno;
        }
        try {
            MemorySegment s = (MemorySegment) Strerror.H.invokeExact(errno);
            return s.reinterpret(1024).getString(0, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
