package io.jnbd.internal.posix;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FdTest {
    private Fd a;
    private Fd b;
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @BeforeEach
    void pair() throws IOException {
        assumeTrue(Posix.isAvailable());
        Fd[] pair = Posix.socketPair();
        a = pair[0];
        b = pair[1];
    }

    @AfterEach
    void closeAll() {
        if (a != null) {
            a.close();
            b.close();
        }
        executor.shutdownNow();
    }

    static byte[] readExactly(Fd fd, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (fd.read(buf) < 0) {
                throw new IOException("EOF after " + buf.position() + " bytes");
            }
        }
        return buf.array();
    }

    @Test
    void heapBuffersCrossThePair() throws IOException {
        ByteBuffer out = ByteBuffer.wrap("hello, heap".getBytes(US_ASCII));
        assertEquals(11, a.write(out));
        assertFalse(out.hasRemaining());
        assertEquals("hello, heap", new String(readExactly(b, 11), US_ASCII));
    }

    @Test
    void directBuffersCrossThePair() throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(64);
        out.put("direct".getBytes(US_ASCII)).flip();
        assertEquals(6, a.write(out));
        ByteBuffer in = ByteBuffer.allocateDirect(64);
        in.position(10);
        int n = b.read(in);
        assertEquals(6, n);
        assertEquals(16, in.position());
        byte[] got = new byte[6];
        in.get(10, got);
        assertEquals("direct", new String(got, US_ASCII));
    }

    @Test
    void readOnlyBuffersCanBeWrittenButNotReadInto() throws IOException {
        ByteBuffer heap = ByteBuffer.wrap("ro".getBytes(US_ASCII)).asReadOnlyBuffer();
        ByteBuffer direct = ByteBuffer.allocateDirect(2).put("!!".getBytes(US_ASCII)).flip().asReadOnlyBuffer();
        assertEquals(4, a.write(new ByteBuffer[] {heap, direct}));
        assertEquals("ro!!", new String(readExactly(b, 4), US_ASCII));
        assertThrows(ReadOnlyBufferException.class, () -> b.read(ByteBuffer.allocate(1).asReadOnlyBuffer()));
    }

    @Test
    void gatheringWriteKeepsOrderAndAdvancesEveryBuffer() throws IOException {
        ByteBuffer direct = ByteBuffer.allocateDirect(3).put("DEF".getBytes(US_ASCII)).flip();
        ByteBuffer[] srcs = {
            ByteBuffer.wrap("abc".getBytes(US_ASCII)),
            ByteBuffer.allocate(0),
            direct,
            ByteBuffer.wrap("xxghix".getBytes(US_ASCII), 2, 3),
        };
        assertEquals(9, a.write(srcs));
        for (ByteBuffer src : srcs) {
            assertFalse(src.hasRemaining());
        }
        assertEquals("abcDEFghi", new String(readExactly(b, 9), US_ASCII));
    }

    @Test
    void largeGatheringWritesArriveIntactWhilePartial() throws Exception {
        // Larger than the socket buffer and the 1 MiB bounce, so writes are partial.
        byte[] data = new byte[3 << 20];
        new Random(42).nextBytes(data);
        Future<byte[]> reader = executor.submit(() -> readExactly(b, data.length));
        ByteBuffer heap = ByteBuffer.wrap(data, 0, 2 << 20);
        ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20).put(data, 2 << 20, 1 << 20).flip();
        ByteBuffer[] srcs = {heap, direct};
        long total = 0;
        int calls = 0;
        while (heap.hasRemaining() || direct.hasRemaining()) {
            total += a.write(srcs);
            calls++;
        }
        assertEquals(data.length, total);
        assertTrue(calls > 1);
        assertArrayEquals(data, reader.get(10, TimeUnit.SECONDS));
    }

    @Test
    void shutdownOutputGivesEndOfStream() throws IOException {
        a.write(ByteBuffer.wrap(new byte[] {7}));
        a.shutdown(Fd.SHUT_WR);
        ByteBuffer in = ByteBuffer.allocate(8);
        assertEquals(1, b.read(in));
        assertEquals(-1, b.read(in));
        // The other direction still works.
        b.write(ByteBuffer.wrap(new byte[] {9}));
        assertArrayEquals(new byte[] {9}, readExactly(a, 1));
    }

    @Test
    void emptyBuffersNeedNoCall() throws IOException {
        assertEquals(0, a.read(ByteBuffer.allocate(0)));
        assertEquals(0, a.write(ByteBuffer.allocate(0)));
    }

    @Test
    void closeFromAnotherThreadUnblocksRead() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        Future<Integer> reader = executor.submit(() -> {
            started.countDown();
            return a.read(ByteBuffer.allocate(16));
        });
        started.await();
        Thread.sleep(100);
        assertFalse(reader.isDone());
        long t0 = System.nanoTime();
        a.close();
        assertEquals(-1, reader.get(1, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1));
        assertFalse(a.isOpen());
    }

    @Test
    void closeFromAnotherThreadUnblocksWrite() throws Exception {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            ByteBuffer big = ByteBuffer.allocateDirect(16 << 20);
            try {
                while (true) {
                    a.write(big);
                    big.clear();
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, executor);
        Thread.sleep(200);
        assertFalse(writer.isDone());
        a.close();
        Exception e = assertThrows(Exception.class, () -> writer.get(1, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause() instanceof PosixException, e.toString());
    }

    @Test
    void closeIsIdempotentAndLaterCallsFailWithEbadf() {
        a.close();
        a.close();
        assertFalse(a.isOpen());
        PosixException e = assertThrows(PosixException.class, () -> a.read(ByteBuffer.allocate(1)));
        assertEquals(Libc.EBADF, e.errno());
        assertTrue(e.getMessage().startsWith("read: "), e.getMessage());
        e = assertThrows(PosixException.class, () -> a.write(ByteBuffer.allocate(1)));
        assertEquals(Libc.EBADF, e.errno());
    }

    @Test
    void closeWhileIdleKeepsPeerConnectedForOtherHolders() throws IOException {
        // A descriptor copy, as a spawned child would hold it.
        int n = b.acquire("test");
        int copy;
        try {
            copy = Libc.fcntl(n, Libc.F_DUPFD_CLOEXEC, 0);
        } finally {
            b.release();
        }
        assertTrue(copy >= 0);
        try (Fd dup = new Fd(copy)) {
            b.close();
            a.write(ByteBuffer.wrap(new byte[] {1, 2}));
            assertArrayEquals(new byte[] {1, 2}, readExactly(dup, 2));
        }
    }

    @Test
    void writeToClosedPeerIsEpipeNotSigpipe() {
        b.close();
        PosixException e = assertThrows(PosixException.class, () -> {
            while (true) {
                a.write(ByteBuffer.allocate(4096));
            }
        });
        assertEquals(32, e.errno());
        assertEquals("write: Broken pipe", e.getMessage());
    }
}
