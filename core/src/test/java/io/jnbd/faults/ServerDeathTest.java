package io.jnbd.faults;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.ScriptedServer;
import io.jnbd.testing.ScriptedServer.Replies;
import io.jnbd.testing.ScriptedServer.Request;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.jnbd.testing.ScriptedServer.CMD_READ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server that dies with commands in flight: every one of them fails,
 * promptly and once, and the handle is dead.
 */
class ServerDeathTest extends FaultTestBase {
    private static final int READS = 8;
    /** A reset (the server died with our requests unread) is as honest an answer as end of stream. */
    private static final Set<Integer> CONNECTION_LOST = Set.of(ENOTCONN, 104);

    /** Starts {@link #READS} reads of 512 bytes, one per thread, each returning its failure or null. */
    private static List<Future<NbdException>> readsInFlight(NbdHandle h, ExecutorService threads) {
        List<Future<NbdException>> reads = new ArrayList<>();
        for (int i = 0; i < READS; i++) {
            long offset = 512L * i;
            reads.add(threads.submit(() -> {
                try {
                    h.pread(new byte[512], offset);
                    return null;
                } catch (NbdException e) {
                    return e;
                }
            }));
        }
        return reads;
    }

    /** Waits (within {@link #PROMPTLY}) for every read; each must have failed with one of {@code errnos}. */
    private static void allFail(List<Future<NbdException>> reads, Set<Integer> errnos) {
        List<NbdException> failures = assertTimeoutPreemptively(PROMPTLY, () -> {
            List<NbdException> all = new ArrayList<>();
            for (Future<NbdException> f : reads) {
                all.add(f.get());
            }
            return all;
        });
        for (NbdException e : failures) {
            assertTrue(e != null, "a read succeeded although the server died");
            assertTrue(e.getMessage().startsWith("pread: "), e.getMessage());
            assertTrue(errnos.contains(e.getErrno()), e.getErrno() + ": " + e.getMessage());
            // "pread: read: Connection reset by peer", not the reason twice over.
            String[] parts = e.getMessage().split(": ");
            assertNotEquals(parts[parts.length - 2], parts[parts.length - 1], e.getMessage());
        }
    }

    @Test
    void scriptedServerHangsUpWithEightReadsInFlight() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.STRUCTURED, 1 << 20);
                // Hang up only once every read is on the server's side of the wire.
                for (int i = 0; i < READS; i++) {
                    srv.readRequest(CMD_READ);
                }
            });
             NbdHandle h = newHandle();
             ExecutorService threads = Executors.newFixedThreadPool(READS)) {
            h.connectUnix(s.socket());
            allFail(readsInFlight(h, threads), Set.of(ENOTCONN));
            assertTrue(h.aioIsDead(), h.connectionState());
            assertEquals(READS, s.received().stream().filter(m -> m.startsWith("command " + CMD_READ)).count());
        }
    }

    /**
     * nbdkit holds each read for 2 s; killed while 8 are in flight, its
     * connection ends at once and so must all 8 reads.
     */
    @Test
    void nbdkitKilledWithEightReadsInFlight() throws Exception {
        CountDownLatch sent = new CountDownLatch(READS);
        try (NbdHandle h = newHandle(); ExecutorService threads = Executors.newFixedThreadPool(READS)) {
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "--filter=delay",
                    "memory", "1M", "delay-read=2"));
            // The debug log tells when each request has left; nothing else in the API says so.
            h.setDebugCallback((context, message) -> {
                if (message.startsWith("sent NBD_CMD_READ")) {
                    sent.countDown();
                }
                return 0;
            });
            h.setDebug(true);
            List<Future<NbdException>> reads = readsInFlight(h, threads);
            assertTrue(sent.await(2, TimeUnit.SECONDS), "reads were not sent");
            h.killSubprocess(9);
            allFail(reads, CONNECTION_LOST);
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    @Test
    void nbdkitDiesDuringARead() throws Exception {
        try (NbdHandle h = newHandle()) {
            // The eval plugin runs each callback as a child of nbdkit: this read kills the server itself.
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "eval",
                    "get_size=echo 1048576", "pread=kill -9 $PPID"));
            NbdException e = fails(() -> h.pread(new byte[512], 0));
            assertTrue(e.getMessage().startsWith("pread: "), e.getMessage());
            assertTrue(CONNECTION_LOST.contains(e.getErrno()), e.getErrno() + ": " + e.getMessage());
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    /**
     * A request cannot be written (the server stopped reading) while the
     * reader is halfway through a read's payload: the connection is closed
     * as on any failure, and that read is the reader's to finish: its
     * callback runs once, with the write's error, after the reader has
     * stopped writing into the buffer, which holds no half-read data.
     */
    @Test
    void connectionEndsWhileAReadPayloadArrives() throws Exception {
        int half = 32 * 1024;
        CountDownLatch firstHalfSent = new CountDownLatch(1);
        CountDownLatch checked = new CountDownLatch(1);
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.SIMPLE, 1 << 20);
                long cookie = srv.readRequest(CMD_READ).cookie();
                srv.simpleReply(cookie, 0, filled(half));
                srv.stopReading();
                firstHalfSent.countDown();
                // The rest never comes, and the server keeps the connection open: only the client can end it.
                checked.await(5, TimeUnit.SECONDS);
            });
             NbdHandle h = newHandle()) {
            h.connectUnix(s.socket());
            ByteBuffer buffer = ByteBuffer.allocateDirect(2 * half);
            List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
            CountDownLatch completed = new CountDownLatch(1);
            h.aioPread(buffer, 0, error -> {
                calls.add("error " + error.get() + ", " + countFilled(buffer) + " bytes of data in the buffer");
                completed.countDown();
                return 1;
            });
            assertTrue(firstHalfSent.await(2, TimeUnit.SECONDS));
            // The reader has the first half once the statistics count it; give it time to block on the rest.
            while (h.statsBytesReceived() < 16 + half) {
                Thread.sleep(1);
            }
            Thread.sleep(100);
            long flush = h.aioFlush(null);
            assertThrows(NbdException.class, () -> h.aioCommandCompleted(flush), "flush over a broken pipe");
            assertTrue(completed.await(2, TimeUnit.SECONDS), "the read never completed");
            Thread.sleep(100);
            assertEquals(List.of("error " + EPIPE + ", 0 bytes of data in the buffer"), calls);
            assertTrue(h.aioIsDead(), h.connectionState());
            assertEquals(0, h.aioInFlight());
            checked.countDown();
        }
    }

    /** An Error thrown by a chunk callback ends the connection; the read still completes, once. */
    @Test
    void errorThrownByAChunkCallbackStillCompletesTheRead() throws Exception {
        try (ScriptedServer s = ScriptedServer.start(srv -> {
                srv.handshake(Replies.STRUCTURED, 1 << 20);
                Request r = srv.readRequest(CMD_READ);
                srv.chunk(r.cookie(), ScriptedServer.REPLY_FLAG_DONE, ScriptedServer.REPLY_TYPE_OFFSET_DATA,
                        ScriptedServer.offsetData(r.offset(), (int) r.length()));
            });
             NbdHandle h = newHandle()) {
            h.connectUnix(s.socket());
            List<Integer> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            CountDownLatch completed = new CountDownLatch(1);
            h.aioPreadStructured(ByteBuffer.allocate(512), 0, (sub, off, status, err) -> {
                throw new AssertionError("a bug in the caller's chunk callback");
            }, error -> {
                errors.add(error.get());
                completed.countDown();
                return 1;
            });
            assertTrue(completed.await(2, TimeUnit.SECONDS), "the read never completed");
            Thread.sleep(100);
            assertEquals(List.of(EIO), errors);
            assertTrue(h.aioIsDead(), h.connectionState());
        }
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) 0xAA);
        return b;
    }

    private static int countFilled(ByteBuffer b) {
        int n = 0;
        for (int i = 0; i < b.capacity(); i++) {
            n += b.get(i) == (byte) 0xAA ? 1 : 0;
        }
        return n;
    }
}
