package io.jnbd.server.internal;

import io.jnbd.server.BackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A sparse RAM disk (nbdkit's memory plugin): 64 KiB pages, allocated on
 * first write and freed when trimmed or zeroed whole (or zeroed until all
 * of a page is zero), so that unwritten ranges are holes in base:allocation.
 *
 * <p>Reads take no lock and hand out views of the pages. Changes to one page
 * hold its monitor, and a page leaves the map only under its monitor, marked
 * dead so that a writer that looked it up just before retries.
 */
public final class MemoryBackend extends SizedBackend implements SliceSource {
    static final int PAGE_SHIFT = 16;
    static final int PAGE_SIZE = 1 << PAGE_SHIFT;

    private static final class Page {
        /** Native memory, freed by the GC once neither the map nor a pending reply refers to it. */
        final MemorySegment segment = Arena.ofAuto().allocate(PAGE_SIZE, 4096);
        final ByteBuffer buffer = segment.asByteBuffer();
        boolean dead;
    }

    /**
     * A fresh page, or ENOSPC when the JVM may not reserve more native memory
     * (-XX:MaxDirectMemorySize, which {@code jnbd serve} sets to the machine's
     * RAM): the client's write fails, the connection and the server go on.
     */
    private static Page newPage() throws BackendException {
        try {
            return new Page();
        } catch (OutOfMemoryError e) {
            throw new BackendException(BackendException.ENOSPC, "the memory disk is out of memory: " + e.getMessage());
        }
    }

    private final ConcurrentSkipListMap<Long, Page> pages = new ConcurrentSkipListMap<>();

    public MemoryBackend(long size) {
        super(size);
    }

    /** Bytes of memory the written pages hold. */
    public long allocatedBytes() {
        return (long) pages.size() * PAGE_SIZE;
    }

    @Override
    public void slices(long offset, int length, List<ByteBuffer> out) {
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long index = pos >>> PAGE_SHIFT;
            int in = (int) (pos & (PAGE_SIZE - 1));
            int n = (int) Math.min(PAGE_SIZE - in, end - pos);
            Page p = pages.get(index);
            if (p == null) {
                // Coalesce a run of missing pages into zero buffers.
                Map.Entry<Long, Page> next = pages.ceilingEntry(index + 1);
                long holeEnd = next == null ? end : Math.min(end, next.getKey() << PAGE_SHIFT);
                Zeroes.slices(holeEnd - pos, out);
                pos = holeEnd;
                continue;
            }
            out.add(p.buffer.slice(in, n));
            pos += n;
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        long pos = offset;
        while (dst.hasRemaining()) {
            int in = (int) (pos & (PAGE_SIZE - 1));
            int n = Math.min(PAGE_SIZE - in, dst.remaining());
            Page p = pages.get(pos >>> PAGE_SHIFT);
            if (p == null) {
                Zeroes.fill(dst.slice(dst.position(), n));
            } else {
                dst.put(dst.position(), p.buffer, in, n);
            }
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws BackendException {
        long pos = offset;
        while (src.hasRemaining()) {
            long index = pos >>> PAGE_SHIFT;
            int in = (int) (pos & (PAGE_SIZE - 1));
            int n = Math.min(PAGE_SIZE - in, src.remaining());
            while (true) {
                Page p = pages.get(index);
                if (p == null) {
                    Page fresh = newPage();
                    p = pages.putIfAbsent(index, fresh);
                    if (p == null) {
                        p = fresh;
                    }
                }
                synchronized (p) {
                    if (!p.dead) {
                        p.buffer.put(in, src, src.position(), n);
                        break;
                    }
                }
            }
            src.position(src.position() + n);
            pos += n;
        }
    }

    @Override
    public boolean canTrim() {
        return true;
    }

    @Override
    public void trim(long offset, long length, boolean fua) {
        zero(offset, length, true, fua);
    }

    @Override
    public boolean canFastZero() {
        return true;
    }

    /** Frees whole pages; clears part of a page and frees it if that leaves it all zero. */
    @Override
    public void zero(long offset, long length, boolean mayTrim, boolean fua) {
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            Map.Entry<Long, Page> e = pages.ceilingEntry(pos >>> PAGE_SHIFT);
            if (e == null || (e.getKey() << PAGE_SHIFT) >= end) {
                return;
            }
            long index = e.getKey();
            long pageStart = index << PAGE_SHIFT;
            long from = Math.max(pos, pageStart);
            long to = Math.min(end, pageStart + PAGE_SIZE);
            Page p = e.getValue();
            synchronized (p) {
                if (!p.dead) {
                    if (to - from < PAGE_SIZE) {
                        p.segment.asSlice(from - pageStart, to - from).fill((byte) 0);
                    }
                    if (to - from == PAGE_SIZE || p.segment.mismatch(Zeroes.SEGMENT.asSlice(0, PAGE_SIZE)) < 0) {
                        p.dead = true;
                        pages.remove(index, p);
                    }
                }
            }
            pos = to;
        }
    }

    @Override
    public void extents(long offset, long length, ExtentSink sink) {
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            long index = pos >>> PAGE_SHIFT;
            Map.Entry<Long, Page> e = pages.ceilingEntry(index);
            long next;
            int flags;
            if (e != null && e.getKey() == index) {
                // A run of consecutive allocated pages is one data extent.
                long last = index;
                Map.Entry<Long, Page> f;
                while ((f = pages.higherEntry(last)) != null && f.getKey() == last + 1
                        && (last + 1) << PAGE_SHIFT < end) {
                    last++;
                }
                next = Math.min(end, (last + 1) << PAGE_SHIFT);
                flags = 0;
            } else {
                next = e == null ? end : Math.min(end, e.getKey() << PAGE_SHIFT);
                flags = ExtentSink.HOLE | ExtentSink.ZERO;
            }
            if (!sink.extent(next - pos, flags)) {
                return;
            }
            pos = next;
        }
    }
}
