package io.jnbd.tools.copy;

import io.jnbd.tools.ToolException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A regular file or a block device, read and written with positional I/O,
 * so many requests can be at work at once. Holes are found with
 * {@code SEEK_DATA}/{@code SEEK_HOLE} and made with {@code fallocate} (or
 * {@code BLKZEROOUT} on a block device), when native access allows.
 */
final class FileEndpoint extends Endpoint {
    private final boolean block;
    private final RandomAccessFile raf;
    private final FileChannel channel;
    /** A second descriptor of the same file for lseek, fallocate and sync_file_range; -1 without native access. */
    private int fd;
    private boolean seekHoleSupported;
    /** Which ways of zeroing still look possible; each is dropped after it fails once as unsupported. */
    private boolean canPunchHole = true;
    private boolean canZeroRange = true;
    private boolean canFallocate;
    private boolean canZeroout;
    /**
     * Per writing thread, the last {@value #WINDOWS} ranges written (offset,
     * length pairs, oldest first), whose pages are on their way to disk.
     */
    private final ThreadLocal<long[]> writeWindows = ThreadLocal.withInitial(() -> new long[2 * WINDOWS]);
    private static final int WINDOWS = 8;

    private FileEndpoint(String name, Path path, boolean block, RandomAccessFile raf, FileChannel channel)
            throws IOException {
        super(name);
        this.block = block;
        this.raf = raf;
        this.channel = channel;
        this.size = channel.size();
        this.canFallocate = !block;
        this.canZeroout = block;
        int nativeFd = Native.AVAILABLE
                ? Native.open(path.toString(), raf == null ? Native.O_RDONLY : Native.O_RDWR) : -1;
        this.fd = Math.max(nativeFd, -1);
    }

    /** Opens a file or block device to read. */
    static FileEndpoint openSource(String name, Path path, boolean block) throws IOException {
        FileEndpoint f = new FileEndpoint(name, path, block, null, FileChannel.open(path, StandardOpenOption.READ));
        f.seekHoleSupported = f.fd >= 0 && Native.lseek(f.fd, 0, Native.SEEK_HOLE) >= 0;
        return f;
    }

    /** Opens a file or block device to write, creating a file if there is none. */
    static FileEndpoint openDestination(String name, Path path, boolean block) throws IOException {
        // "rw" opens without truncating: a block device must stay what it is.
        RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw");
        try {
            return new FileEndpoint(name, path, block, raf, raf.getChannel());
        } catch (IOException | RuntimeException e) {
            raf.close();
            throw e;
        }
    }

    @Override
    String kind() {
        return "file_ops";
    }

    @Override
    boolean canExtents() {
        return seekHoleSupported;
    }

    @Override
    boolean canMultiConn() {
        return true; // one file, positional I/O from any thread
    }

    @Override
    boolean truncate(long newSize) {
        if (block) {
            return false;
        }
        try {
            // Empty first, so that nothing of the old contents survives and the file is all hole.
            raf.setLength(0);
            raf.setLength(newSize);
        } catch (IOException e) {
            throw failure("truncate", e);
        }
        size = newSize;
        return true;
    }

    @Override
    void flush() {
        try {
            channel.force(true);
        } catch (IOException e) {
            throw failure(null, e);
        }
    }

    @Override
    void close() {
        try {
            channel.close();
            if (raf != null) {
                raf.close();
            }
        } catch (IOException e) {
            throw failure("close", e);
        } finally {
            synchronized (this) {
                if (fd >= 0) {
                    Native.close(fd);
                    fd = -1;
                }
            }
        }
    }

    @Override
    int read(int conn, ByteBuffer buf, long offset) {
        int n = 0;
        try {
            while (buf.hasRemaining()) {
                int r = channel.read(buf, offset + n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
        } catch (IOException e) {
            throw failure(null, e);
        }
        return n;
    }

    @Override
    void write(int conn, ByteBuffer buf, long offset) {
        long at = offset;
        try {
            while (buf.hasRemaining()) {
                at += channel.write(buf, at);
            }
        } catch (IOException e) {
            throw failure(null, e);
        }
        evictWrites(offset, at - offset);
    }

    /**
     * nbdcopy's eviction of written pages: start writing this range to disk,
     * and drop from the page cache the range written {@value #WINDOWS} writes
     * ago (waiting for it to reach the disk first). A copy then does not fill
     * the page cache with pages nobody reads, whose allocation, on a virtual
     * machine that returns free memory to its host, costs more than the write.
     */
    private void evictWrites(long offset, long length) {
        if (fd < 0) {
            return;
        }
        long[] w = writeWindows.get();
        if (w[1] > 0) {
            Native.syncFileRange(fd, w[0], w[1], Native.SYNC_FILE_RANGE_WAIT_BEFORE | Native.SYNC_FILE_RANGE_WRITE
                    | Native.SYNC_FILE_RANGE_WAIT_AFTER);
            Native.fadvise(fd, w[0], w[1], Native.POSIX_FADV_DONTNEED);
        }
        System.arraycopy(w, 2, w, 0, w.length - 2);
        Native.syncFileRange(fd, offset, length, Native.SYNC_FILE_RANGE_WRITE);
        w[w.length - 2] = offset;
        w[w.length - 1] = length;
    }

    @Override
    void readAsync(int conn, ByteBuffer buf, long offset, Op op) {
        int start = buf.position();
        int want = buf.remaining();
        int got = read(conn, buf, offset);
        buf.position(start);
        if (got != want) {
            throw new ToolException(1, name + ": unexpected end of file");
        }
        op.complete(0);
    }

    @Override
    void writeAsync(int conn, ByteBuffer buf, long offset, Op op) {
        int start = buf.position();
        write(conn, buf, offset);
        buf.position(start);
        op.complete(0);
    }

    /** The zeroing methods nbdcopy tries, most efficient first, remembering which the file system refuses. */
    @Override
    synchronized boolean zero(int conn, long offset, long count, boolean allocate) {
        if (fd < 0) {
            return false;
        }
        if (!allocate && canPunchHole) {
            if (fallocate(Native.FALLOC_FL_PUNCH_HOLE | Native.FALLOC_FL_KEEP_SIZE, offset, count)) {
                return true;
            }
            canPunchHole = false;
        }
        if (canZeroRange) {
            if (fallocate(Native.FALLOC_FL_ZERO_RANGE, offset, count)) {
                return true;
            }
            canZeroRange = false;
        }
        if (canPunchHole && canFallocate) {
            if (fallocate(Native.FALLOC_FL_PUNCH_HOLE | Native.FALLOC_FL_KEEP_SIZE, offset, count)) {
                if (fallocate(0, offset, count)) {
                    return true;
                }
                canFallocate = false;
            } else {
                canPunchHole = false;
            }
        } else if (canZeroout && ((offset | count) & 511) == 0) {
            int r = Native.ioctlRange(fd, Native.BLKZEROOUT, offset, count);
            if (r == 0) {
                return true;
            }
            if (r != -Native.ENOTTY) {
                throw new ToolException(1, name + ": ioctl: BLKZEROOUT: " + Native.strerror(-r));
            }
            canZeroout = false;
        }
        return false;
    }

    /** True if done, false if not supported here; any other error fails the copy. */
    private boolean fallocate(int mode, long offset, long count) {
        int r = Native.fallocate(fd, mode, offset, count);
        if (r == 0) {
            return true;
        }
        if (r == -Native.EOPNOTSUPP) {
            return false;
        }
        throw new ToolException(1, name + ": fallocate: " + Native.strerror(-r));
    }

    @Override
    void extents(int conn, long offset, long count, Extents out) {
        if (!seekHoleSupported) {
            super.extents(conn, offset, count, out);
            return;
        }
        out.clear();
        long end = offset + count;
        long at = offset;
        // The descriptor's file position is shared: one lseek pair at a time.
        synchronized (this) {
            while (at < end) {
                long data = Native.lseek(fd, at, Native.SEEK_DATA);
                if (data == -Native.ENXIO) {
                    data = end;
                } else if (data < 0) {
                    throw new ToolException(1, name + ": lseek: SEEK_DATA: " + Native.strerror((int) -data));
                }
                if (data > at) {
                    out.add(at, Math.min(data, end) - at, true);
                }
                at = data;
                if (at >= end) {
                    break;
                }
                long hole = Native.lseek(fd, at, Native.SEEK_HOLE);
                if (hole < 0) {
                    throw new ToolException(1, name + ": lseek: SEEK_HOLE: " + Native.strerror((int) -hole));
                }
                out.add(at, Math.min(hole, end) - at, false);
                at = hole;
            }
        }
    }

    private ToolException failure(String call, IOException e) {
        return new ToolException(1, name + ": " + (call == null ? "" : call + ": ") + LocalFiles.reason(e), e);
    }
}
