package io.jnbd.bench;

import io.jnbd.CompletionCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * Sequential read throughput to nowhere: nbdcopy's {@code SOURCE null:} with
 * jnbd as the client.
 *
 * <p>Opens {@code --connections} handles to {@code --uri} (multi-conn: each
 * reads its own contiguous share of the first {@code --size} bytes) and keeps
 * {@code --requests} reads of {@code --request-size} bytes in flight on each.
 * Every in-flight slot owns one direct buffer, reused for all its reads, so
 * the payload goes from the socket straight into it. A slot's next read is
 * issued from the completion of its previous one: with {@code --api=callback}
 * from libnbd's completion callback ({@code aioPread}), with
 * {@code --api=future} from a {@code whenComplete} stage of
 * {@code preadAsync}'s future.
 *
 * <p>Reads it all {@code --passes} times over the same connections and
 * buffers, and prints one line per pass: {@code RESULT seqread pass=N
 * key=value ...}. The clock runs from a pass's first request to its last
 * reply (connecting is not timed); {@code alloc_bytes_per_op} is the heap
 * allocated by the whole JVM over that time divided by the number of reads.
 */
public final class SeqRead {

    /** One connection's share of the export and its progress. */
    private static final class Stream {
        final NbdHandle handle;
        final long start;
        final AtomicLong next;
        final long end;
        final int requestSize;
        final CountDownLatch slotsDone;
        final AtomicReference<Throwable> failure;

        Stream(NbdHandle handle, long start, long end, int requestSize, int slots,
               AtomicReference<Throwable> failure) {
            this.handle = handle;
            this.start = start;
            this.next = new AtomicLong(start);
            this.end = end;
            this.requestSize = requestSize;
            this.slotsDone = new CountDownLatch(slots);
            this.failure = failure;
        }

        /** The next offset to read, or -1 once the share is exhausted or anything failed. */
        long claim() {
            if (failure.get() != null) {
                return -1;
            }
            long off = next.getAndAdd(requestSize);
            return off < end ? off : -1;
        }

        long requests() {
            return (end - start + requestSize - 1) / requestSize;
        }

        void fail(Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    /**
     * One request in flight, over and over. It is its own completion callback
     * and its own future stage, so issuing the next read allocates nothing in
     * this class.
     */
    private static final class Slot implements CompletionCallback, BiConsumer<Void, Throwable> {
        private final ByteBuffer buffer;
        private final boolean future;
        /** The share this slot reads in the current pass; set before its first read of the pass. */
        Stream stream;

        Slot(int requestSize, boolean future) {
            this.buffer = ByteBuffer.allocateDirect(requestSize);
            this.future = future;
        }

        void issue() {
            long off = stream.claim();
            if (off < 0) {
                stream.slotsDone.countDown();
                return;
            }
            buffer.clear().limit((int) Math.min(stream.requestSize, stream.end - off));
            try {
                if (future) {
                    stream.handle.preadAsync(buffer, off).whenComplete(this);
                } else {
                    stream.handle.aioPread(buffer, off, this);
                }
            } catch (NbdException e) {
                stream.fail(e);
                stream.slotsDone.countDown();
            }
        }

        @Override
        public int call(ErrorHolder error) {
            if (error.get() != 0) {
                stream.fail(new NbdException("aioPread failed", error.get()));
            }
            issue();
            // Retire the command now: nobody will ask aioCommandCompleted about it.
            return 1;
        }

        @Override
        public void accept(Void ignored, Throwable t) {
            if (t != null) {
                stream.fail(t);
            }
            issue();
        }
    }

    private SeqRead() {
    }

    public static void main(String[] args) throws InterruptedException {
        Options o = new Options(args);
        String uri = o.string("uri", null);
        int connections = o.integer("connections", 1);
        int requests = o.integer("requests", 64);
        int requestSize = o.integer("request-size", 256 * 1024);
        long size = o.size("size", -1);
        String api = o.string("api", "callback");
        int passes = o.integer("passes", 1);
        o.rejectUnknown();
        if (uri == null || !(api.equals("callback") || api.equals("future"))) {
            throw new IllegalArgumentException("usage: SeqRead --uri=NBD-URI [--connections=N] [--requests=Q] "
                    + "[--request-size=S] [--size=T] [--api=callback|future] [--passes=P]");
        }

        NbdHandle[] handles = new NbdHandle[connections];
        try {
            for (int i = 0; i < connections; i++) {
                handles[i] = new NbdHandle();
                // The URI may name the benchmark's own TLS credentials (tls-certificates=, tls-psk-file=).
                handles[i].setUriAllowLocalFile(true);
                handles[i].connectUri(uri);
            }
            long exportSize = handles[0].getSize();
            long total = size < 0 ? exportSize : Math.min(size, exportSize);
            if (connections > 1 && !handles[0].canMultiConn()) {
                throw new IllegalStateException("the server does not advertise multi-conn; nbdcopy would use "
                        + "one connection");
            }
            Slot[] slots = new Slot[connections * requests];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Slot(requestSize, api.equals("future"));
            }
            // Pass 1 includes the JIT's warm-up, as a one-off copy would; later passes show the steady state.
            for (int pass = 1; pass <= passes; pass++) {
                readOnce(handles, slots, requests, requestSize, total, api, pass);
            }
        } finally {
            for (NbdHandle h : handles) {
                if (h != null) {
                    // As nbdcopy: NBD_CMD_DISC and, over TLS, close_notify before the socket closes.
                    try {
                        h.shutdown();
                    } catch (NbdException e) {
                        // The connection already failed; the failure was reported.
                    }
                    h.close();
                }
            }
        }
    }

    private static void readOnce(NbdHandle[] handles, Slot[] slots, int requests, int requestSize, long total,
                                 String api, int pass) throws InterruptedException {
        int connections = handles.length;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Stream[] streams = new Stream[connections];
        for (int i = 0; i < connections; i++) {
            long start = total / connections * i;
            long end = i == connections - 1 ? total : total / connections * (i + 1);
            streams[i] = new Stream(handles[i], start, end, requestSize, requests, failure);
            for (int q = 0; q < requests; q++) {
                slots[i * requests + q].stream = streams[i];
            }
        }

        long alloc0 = HeapAllocation.total();
        long t0 = System.nanoTime();
        for (Slot s : slots) {
            s.issue();
        }
        for (Stream s : streams) {
            s.slotsDone.await();
        }
        long t1 = System.nanoTime();
        long alloc1 = HeapAllocation.total();

        if (failure.get() != null) {
            throw new IllegalStateException("a read failed", failure.get());
        }
        double seconds = (t1 - t0) / 1e9;
        long ops = 0;
        for (Stream s : streams) {
            ops += s.requests();
        }
        System.out.println(String.format(Locale.ROOT,
                "RESULT seqread api=%s pass=%d connections=%d requests=%d request_size=%d bytes=%d seconds=%.4f "
                        + "bytes_per_sec=%.0f alloc_bytes_per_op=%.1f",
                api, pass, connections, requests, requestSize, total, seconds, total / seconds,
                (double) (alloc1 - alloc0) / ops));
    }
}
