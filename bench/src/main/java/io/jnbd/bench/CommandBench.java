package io.jnbd.bench;

import io.jnbd.CompletionCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Time and heap allocation per command against a real server (bench/run.sh
 * starts nbdkit and passes {@code -p uri=...}; run with {@code -prof gc} for
 * {@code gc.alloc.rate.norm}, bytes per command, summed over all threads, so
 * the reader thread's share counts).
 *
 * <p>The asynchronous benchmarks issue {@value #BATCH} commands, each into its
 * own reused direct buffer, then wait for all of them: one operation is one
 * command with up to {@value #BATCH} in flight. The waiting itself allocates
 * nothing (a counter and park/unpark), and the futures are joined in order, so
 * at most one waiter node is allocated per batch. The synchronous ones are one
 * command at a time. Writes need a writable export (run.sh uses nbdkit's null
 * plugin); {@code size} shows whether allocation grows with the payload, which
 * it must not if payloads are never copied through heap buffers.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CommandBench {
    static final int BATCH = 64;

    @Param("")
    public String uri;

    @Param({"4096", "262144"})
    public int size;

    private NbdHandle handle;
    private long exportSize;
    private long nextOffset;
    private final ByteBuffer[] buffers = new ByteBuffer[BATCH];
    @SuppressWarnings("unchecked")
    private final CompletableFuture<Void>[] futures = new CompletableFuture[BATCH];
    private final Batch batch = new Batch();

    /** Counts a batch's completions down and wakes the benchmark thread at zero. */
    private static final class Batch implements CompletionCallback {
        private final AtomicInteger remaining = new AtomicInteger();
        private volatile Thread waiter;
        private volatile int errno;

        void start() {
            waiter = Thread.currentThread();
            remaining.set(BATCH);
        }

        @Override
        public int call(ErrorHolder error) {
            if (error.get() != 0) {
                errno = error.get();
            }
            if (remaining.decrementAndGet() == 0) {
                LockSupport.unpark(waiter);
            }
            // Retire the command now: nobody will ask aioCommandCompleted about it.
            return 1;
        }

        void await() {
            while (remaining.get() != 0) {
                LockSupport.park(this);
            }
            if (errno != 0) {
                throw new NbdException("a command of the batch failed", errno);
            }
        }
    }

    @Setup
    public void connect() {
        if (uri.isEmpty()) {
            throw new IllegalArgumentException("pass the server with -p uri=nbd+unix:///?socket=...");
        }
        handle = new NbdHandle();
        handle.connectUri(uri);
        exportSize = handle.getSize() / size * size;
        for (int i = 0; i < BATCH; i++) {
            buffers[i] = ByteBuffer.allocateDirect(size);
        }
    }

    @TearDown
    public void close() {
        handle.close();
    }

    /** Walks the export in order and wraps around, so every command is inside it. */
    private long offset() {
        long off = nextOffset;
        nextOffset = off + size >= exportSize ? 0 : off + size;
        return off;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void aioPread() {
        batch.start();
        for (ByteBuffer b : buffers) {
            handle.aioPread(b, offset(), batch);
        }
        batch.await();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void aioPwrite() {
        batch.start();
        for (ByteBuffer b : buffers) {
            handle.aioPwrite(b, offset(), batch);
        }
        batch.await();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void preadAsync() {
        for (int i = 0; i < BATCH; i++) {
            futures[i] = handle.preadAsync(buffers[i], offset());
        }
        for (CompletableFuture<Void> f : futures) {
            f.join();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void pwriteAsync() {
        for (int i = 0; i < BATCH; i++) {
            futures[i] = handle.pwriteAsync(buffers[i], offset());
        }
        for (CompletableFuture<Void> f : futures) {
            f.join();
        }
    }

    @Benchmark
    public void pread() {
        ByteBuffer b = buffers[0].clear();
        handle.pread(b, offset());
    }

    @Benchmark
    public void pwrite() {
        ByteBuffer b = buffers[0].clear();
        handle.pwrite(b, offset());
    }
}
