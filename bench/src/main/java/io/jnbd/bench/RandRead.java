package io.jnbd.bench;

import io.jnbd.CompletionCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Random reads on one connection for a fixed time: fio's
 * {@code --rw=randread --ioengine=nbd} with jnbd as the client.
 *
 * <p>{@code --qd} requests of {@code --block} bytes are kept in flight at
 * random block-aligned offsets below {@code --range}. With
 * {@code --api=callback} (the default for a depth above 1) each slot issues its
 * next {@code aioPread} from the completion callback of the previous one; with
 * {@code --api=sync} (the default at depth 1) each slot is a thread calling
 * {@code pread} in a loop. Latency is from just before the call that sends a
 * request until its completion is seen (the callback runs, or pread returns),
 * as fio's {@code lat} is.
 *
 * <p>Runs {@code --warmup} seconds unmeasured, then {@code --seconds} measured,
 * and prints one line: {@code RESULT randread key=value ...}, with IOPS and
 * latency over the requests that completed in the measured window.
 */
public final class RandRead {

    /** The shared clock: when measuring starts and when requests stop. */
    private record Window(long start, long end) {
        boolean contains(long t) {
            return t >= start && t < end;
        }
    }

    /** One request in flight at a time, with its own random stream and histogram (no sharing between slots). */
    private static final class Slot implements CompletionCallback, Runnable {
        private final NbdHandle handle;
        private final ByteBuffer buffer;
        private final long blocks;
        private final SplittableRandom random;
        private final Window window;
        private final CountDownLatch done;
        private final AtomicReference<Throwable> failure;
        final LatencyHistogram latencies = new LatencyHistogram();
        private long submitted;

        Slot(NbdHandle handle, int block, long range, SplittableRandom random, Window window, CountDownLatch done,
             AtomicReference<Throwable> failure) {
            this.handle = handle;
            this.buffer = ByteBuffer.allocateDirect(block);
            this.blocks = range / block;
            this.random = random;
            this.window = window;
            this.done = done;
            this.failure = failure;
        }

        private long nextOffset() {
            return random.nextLong(blocks) * buffer.capacity();
        }

        /** Sends the next aioPread, or finishes the slot once the window has closed. */
        void issue() {
            if (System.nanoTime() >= window.end || failure.get() != null) {
                done.countDown();
                return;
            }
            long off = nextOffset();
            buffer.clear();
            submitted = System.nanoTime();
            try {
                handle.aioPread(buffer, off, this);
            } catch (NbdException e) {
                failure.compareAndSet(null, e);
                done.countDown();
            }
        }

        @Override
        public int call(ErrorHolder error) {
            long now = System.nanoTime();
            if (error.get() != 0) {
                failure.compareAndSet(null, new NbdException("aioPread failed", error.get()));
            } else if (window.contains(now)) {
                latencies.record(now - submitted);
            }
            issue();
            // Retire the command now: nobody will ask aioCommandCompleted about it.
            return 1;
        }

        /** The synchronous form: this slot's own thread, one pread at a time. */
        @Override
        public void run() {
            try {
                while (System.nanoTime() < window.end && failure.get() == null) {
                    long off = nextOffset();
                    buffer.clear();
                    long t0 = System.nanoTime();
                    handle.pread(buffer, off);
                    long t1 = System.nanoTime();
                    if (window.contains(t1)) {
                        latencies.record(t1 - t0);
                    }
                }
            } catch (NbdException e) {
                failure.compareAndSet(null, e);
            } finally {
                done.countDown();
            }
        }
    }

    private RandRead() {
    }

    public static void main(String[] args) throws InterruptedException {
        Options o = new Options(args);
        String uri = o.string("uri", null);
        int qd = o.integer("qd", 64);
        int block = o.integer("block", 4096);
        long range = o.size("range", -1);
        double seconds = o.decimal("seconds", 10);
        double warmup = o.decimal("warmup", 2);
        String api = o.string("api", qd == 1 ? "sync" : "callback");
        o.rejectUnknown();
        if (uri == null || !(api.equals("callback") || api.equals("sync"))) {
            throw new IllegalArgumentException("usage: RandRead --uri=NBD-URI [--qd=Q] [--block=B] [--range=R] "
                    + "[--seconds=S] [--warmup=W] [--api=callback|sync]");
        }

        try (NbdHandle h = new NbdHandle()) {
            h.connectUri(uri);
            long span = range < 0 ? h.getSize() : Math.min(range, h.getSize());

            long t0 = System.nanoTime();
            Window window = new Window(t0 + (long) (warmup * 1e9), t0 + (long) ((warmup + seconds) * 1e9));
            CountDownLatch done = new CountDownLatch(qd);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // A fixed seed, so that every run reads the same offsets (fio's randrepeat does the same).
            SplittableRandom seeds = new SplittableRandom(1);
            List<Slot> slots = new ArrayList<>();
            for (int i = 0; i < qd; i++) {
                slots.add(new Slot(h, block, span, seeds.split(), window, done, failure));
            }
            for (int i = 0; i < qd; i++) {
                if (api.equals("sync")) {
                    Thread.ofPlatform().name("randread-" + i).start(slots.get(i));
                } else {
                    slots.get(i).issue();
                }
            }

            sleepUntil(window.start);
            long alloc0 = HeapAllocation.total();
            sleepUntil(window.end);
            long alloc1 = HeapAllocation.total();
            done.await();

            if (failure.get() != null) {
                throw new IllegalStateException("a read failed", failure.get());
            }
            LatencyHistogram all = new LatencyHistogram();
            for (Slot s : slots) {
                all.add(s.latencies);
            }
            double measured = (window.end - window.start) / 1e9;
            System.out.println(String.format(Locale.ROOT,
                    "RESULT randread api=%s qd=%d block=%d seconds=%.3f ops=%d iops=%.1f lat_mean_us=%.2f "
                            + "lat_p50_us=%.2f lat_p99_us=%.2f alloc_bytes_per_op=%.1f",
                    api, qd, block, measured, all.count(), all.count() / measured, all.meanNanos() / 1e3,
                    all.percentileNanos(0.50) / 1e3, all.percentileNanos(0.99) / 1e3,
                    (double) (alloc1 - alloc0) / Math.max(1, all.count())));
        }
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }
}
