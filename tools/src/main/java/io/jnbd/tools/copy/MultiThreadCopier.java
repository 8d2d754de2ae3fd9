package io.jnbd.tools.copy;

import io.jnbd.tools.ToolException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * nbdcopy's parallel copy: one thread per connection takes 128 MiB work
 * ranges in turn, asks the source which parts are zero, and reads the rest
 * asynchronously, {@code --requests} at a time (fewer if {@code --queue-size}
 * bytes would not hold them). Each finished read is split by zero detection
 * into writes and zeroing of the destination, issued from the completion
 * itself (on the connection's reader thread for NBD, at once for files).
 * Zero ranges are zeroed on the destination (or skipped when it is known to
 * be zero already), never read.
 *
 * <p>Read buffers are direct, {@code --request-size} each, one per request
 * allowed in flight, and reused for the whole copy. Any failed request fails
 * the whole copy: the first failure is what the tool reports.
 */
final class MultiThreadCopier {
    /** A thread's unit of work; a multiple of the largest request. */
    static final long THREAD_WORK_SIZE = 128L << 20;

    private final Endpoint src;
    private final Endpoint dst;
    private final Plan plan;
    private final Progress progress;
    private final AtomicLong nextOffset = new AtomicLong();
    private final AtomicReference<ToolException> failure = new AtomicReference<>();
    private final List<Worker> workers = new ArrayList<>();
    /** Zeroes to write where the destination cannot zero efficiently; shared, read only. */
    private final ByteBuffer zeroes;

    MultiThreadCopier(Endpoint src, Endpoint dst, Plan plan, Progress progress) {
        this.src = src;
        this.dst = dst;
        this.plan = plan;
        this.progress = progress;
        this.zeroes = ByteBuffer.allocateDirect(plan.requestSize()).asReadOnlyBuffer();
    }

    void run() {
        for (int i = 0; i < plan.connections(); i++) {
            workers.add(new Worker(i));
        }
        for (Worker w : workers) {
            w.thread = Thread.ofPlatform().name("jnbd-copy-" + w.index).unstarted(w);
        }
        workers.forEach(w -> w.thread.start());
        boolean interrupted = false;
        for (Worker w : workers) {
            while (true) {
                try {
                    w.thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    fail(new ToolException(1, "interrupted"));
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        ToolException e = failure.get();
        if (e != null) {
            throw e;
        }
    }

    private boolean failed() {
        return failure.get() != null;
    }

    /** Records the first failure and wakes every thread, which then stop. */
    private void fail(Throwable t) {
        ToolException e = t instanceof ToolException te ? te
                : new ToolException(1, t.getMessage() != null ? t.getMessage() : t.toString(), t);
        if (failure.compareAndSet(null, e)) {
            workers.forEach(w -> LockSupport.unpark(w.thread));
        }
    }

    /**
     * One connection's copying thread. It plans each work range (which
     * requests to read, which ranges to zero) and hands the reads to a fixed
     * set of chunks, one per request allowed in flight. A chunk whose data
     * has been written takes the next planned read itself, from the
     * completion that freed it, so the source keeps its requests in flight
     * with no hand-off between threads; the thread wakes only when a range's
     * plan has been taken up, to plan the next one.
     */
    private final class Worker implements Runnable {
        final int index;
        Thread thread;
        /** Chunks that may exist: --requests, and no more than --queue-size bytes of them. */
        private final int slots;
        /** Chunks at work plus zero requests in flight; the thread finishes when it reaches zero. */
        final AtomicInteger outstanding = new AtomicInteger();
        /** Set while the thread waits, so that completions wake it only then. */
        private volatile boolean waiting;
        // Guarded by this: planned reads not yet started (offset, length pairs), and chunks at rest.
        private long[] reads = new long[64];
        private int readsHead;
        private int readsTail;
        private final ArrayDeque<Chunk> idle = new ArrayDeque<>();
        private int created;

        Worker(int index) {
            this.index = index;
            long bySize = (plan.queueSize() + plan.requestSize() - 1) / plan.requestSize();
            this.slots = (int) Math.max(1, Math.min(plan.requests(), bySize));
        }

        @Override
        public void run() {
            try {
                copyRanges();
                await(() -> outstanding.get() == 0);
            } catch (Throwable t) {
                fail(t);
            }
        }

        private void copyRanges() {
            Extents extents = new Extents();
            int[] hint = new int[1];
            long offset;
            while (!failed() && (offset = nextOffset.getAndAdd(THREAD_WORK_SIZE)) < src.size) {
                long count = Math.min(THREAD_WORK_SIZE, src.size - offset);
                if (plan.extents()) {
                    src.extents(index, offset, count, extents);
                } else {
                    extents.clear();
                    extents.add(offset, count, false);
                }
                hint[0] = 0;
                // Zero requests in a row are merged into one zeroing of the destination.
                long zeroStart = -1;
                for (; count > 0; offset += plan.requestSize(), count -= plan.requestSize()) {
                    int len = (int) Math.min(count, plan.requestSize());
                    if (extents.onlyZeroes(hint, offset, len)) {
                        if (zeroStart < 0) {
                            zeroStart = offset;
                        }
                        progress.add(len);
                    } else {
                        if (zeroStart >= 0) {
                            fillWithZeroes(zeroStart, offset - zeroStart);
                            zeroStart = -1;
                        }
                        addToPlan(offset, len);
                    }
                }
                if (zeroStart >= 0) {
                    fillWithZeroes(zeroStart, offset - zeroStart);
                }
                // Start what chunks are free; busy ones take up the rest as they finish.
                dispatch();
                await(this::planTaken);
            }
        }

        private synchronized void addToPlan(long offset, int len) {
            if (readsTail + 2 > reads.length) {
                int n = readsTail - readsHead;
                long[] bigger = n + 2 > reads.length / 2 ? new long[reads.length * 2] : reads;
                System.arraycopy(reads, readsHead, bigger, 0, n);
                reads = bigger;
                readsHead = 0;
                readsTail = n;
            }
            reads[readsTail++] = offset;
            reads[readsTail++] = len;
        }

        private synchronized boolean planTaken() {
            return readsHead == readsTail;
        }

        /** Starts free (or new) chunks on planned reads, on this thread, until one or the other runs out. */
        private void dispatch() {
            while (!failed()) {
                Chunk c;
                synchronized (this) {
                    if (readsHead == readsTail) {
                        return;
                    }
                    c = idle.poll();
                    if (c == null) {
                        if (created == slots) {
                            return;
                        }
                        created++;
                        c = new Chunk(this, plan.requestSize());
                    }
                    c.offset = reads[readsHead++];
                    c.length = (int) reads[readsHead++];
                }
                outstanding.incrementAndGet();
                // A local source completes here and now; the chunk comes back as idle.
                c.read();
            }
        }

        /**
         * A chunk's data is written: it takes the next planned read, or rests.
         * On this worker's own thread it always rests (dispatch() starts the
         * next read there), so that a source and destination that complete at
         * once do not recurse.
         */
        void finished(Chunk c) {
            boolean next = false;
            synchronized (this) {
                if (!failed() && readsHead != readsTail && Thread.currentThread() != thread) {
                    c.offset = reads[readsHead++];
                    c.length = (int) reads[readsHead++];
                    next = true;
                } else {
                    idle.push(c);
                }
            }
            if (next) {
                if (planTaken()) {
                    wake(); // time to plan the next range
                }
                c.read();
            } else {
                outstanding.decrementAndGet();
                wake();
            }
        }

        /** Waits until {@code done} holds or the copy failed, starting chunks as they come to rest. */
        private void await(java.util.function.BooleanSupplier done) {
            while (!failed() && !done.getAsBoolean()) {
                dispatch();
                waiting = true;
                if (!failed() && !done.getAsBoolean() && !startable()) {
                    LockSupport.park(this);
                }
                waiting = false;
            }
        }

        private synchronized boolean startable() {
            return readsHead != readsTail && (!idle.isEmpty() || created < slots);
        }

        void wake() {
            if (waiting) {
                LockSupport.unpark(thread);
            }
        }

        /** Makes {@code [offset, offset + length)} of the destination read as zeroes (nbdcopy's fill_dst_range_with_zeroes). */
        void fillWithZeroes(long offset, long length) {
            if (plan.targetIsZero()) {
                return;
            }
            outstanding.incrementAndGet();
            if (dst.zeroAsync(index, offset, length, plan.allocated(), new Done(this, null, offset))) {
                return;
            }
            outstanding.decrementAndGet();
            // The destination cannot zero: write zeroes, synchronously, as nbdcopy does.
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(zeroes.capacity(), length - done);
                dst.write(index, zeroes.duplicate().limit(n), offset + done);
                done += n;
            }
        }
    }

    /**
     * A read buffer and the read into it; when the read completes, the writes
     * and zeroing of its contents. Counted: the read holds one reference,
     * each write in flight another; back to the pool at zero.
     */
    private final class Chunk extends Endpoint.Op {
        final Worker worker;
        final ByteBuffer buf;
        final MemorySegment memory;
        final AtomicInteger refs = new AtomicInteger();
        long offset;
        int length;

        Chunk(Worker worker, int capacity) {
            this.worker = worker;
            this.buf = ByteBuffer.allocateDirect(capacity);
            this.memory = MemorySegment.ofBuffer(buf);
        }

        /** Reads {@code length} bytes at {@code offset}; {@link #complete} carries on. */
        void read() {
            refs.set(1);
            try {
                src.readAsync(worker.index, buf.clear().limit(length), offset, this);
            } catch (Throwable t) {
                fail(t);
                release();
            }
        }

        /** The read finished: write what is data, zero what is zero (nbdcopy's finished_read). */
        @Override
        void complete(int errno) {
            try {
                if (failed()) {
                    return;
                }
                if (errno != 0) {
                    fail(new ToolException(1, "read at offset " + offset + " failed: " + Native.strerror(errno)));
                    return;
                }
                long sparse = plan.sparseSize();
                if (plan.allocated() || sparse == 0) {
                    write(offset, length);
                } else {
                    splitBySparseness(sparse);
                }
                progress.add(length);
            } catch (Throwable t) {
                fail(t);
            } finally {
                release();
            }
        }

        private void splitBySparseness(long sparse) {
            long start = offset;
            long end = start + length;
            long last = start;
            boolean lastIsZero = false;
            long i = Math.min((start + sparse - 1) / sparse * sparse, end);
            for (; i + sparse <= end; i += sparse) {
                boolean zero = isZero((int) (i - start), (int) sparse);
                if (zero != lastIsZero) {
                    flush(last, i - last, lastIsZero);
                    last = i;
                    lastIsZero = zero;
                }
            }
            flush(last, i - last, lastIsZero);
            // An unaligned tail, too short to test, is written as data.
            flush(i, end - i, false);
        }

        private void flush(long at, long len, boolean zero) {
            if (len == 0) {
                return;
            }
            if (zero) {
                worker.fillWithZeroes(at, len);
            } else {
                write(at, (int) len);
            }
        }

        /** Whether {@code len} bytes at {@code from} are all zero: the first 16, then each against the one 16 on. */
        private boolean isZero(int from, int len) {
            int head = Math.min(len, 16);
            for (int k = 0; k < head; k++) {
                if (memory.get(ValueLayout.JAVA_BYTE, from + k) != 0) {
                    return false;
                }
            }
            return len == head
                    || MemorySegment.mismatch(memory, from, from + len - 16, memory, from + 16, from + len) < 0;
        }

        private void write(long at, int len) {
            ByteBuffer b = len == length ? buf : buf.slice((int) (at - offset), len);
            refs.incrementAndGet();
            dst.writeAsync(worker.index, b, at, new Done(worker, this, at));
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                worker.finished(this);
            }
        }
    }

    /** A write of part of a chunk, or a zeroing (nbdcopy's finished_command for both). */
    private final class Done extends Endpoint.Op {
        private final Worker worker;
        /** The chunk written from; null for zeroing. */
        private final Chunk chunk;
        private final long offset;

        Done(Worker worker, Chunk chunk, long offset) {
            this.worker = worker;
            this.chunk = chunk;
            this.offset = offset;
        }

        @Override
        void complete(int errno) {
            if (errno != 0) {
                fail(new ToolException(1, "write at offset " + offset + " failed: " + Native.strerror(errno)));
            }
            if (chunk != null) {
                chunk.release();
            } else {
                worker.outstanding.decrementAndGet();
                worker.wake();
            }
        }
    }
}
