package io.jnbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Backends that may block get several requests of one connection served at once. */
class ConcurrencyTest {

    /** Each read waits until four reads are inside the backend together: served one by one, none would finish. */
    @Test
    void slowBackendServesRequestsOfOneConnectionInParallel() throws Exception {
        CountDownLatch together = new CountDownLatch(4);
        Backend rendezvous = new Backend() {
            @Override
            public long size() {
                return 1 << 20;
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                together.countDown();
                try {
                    if (!together.await(10, TimeUnit.SECONDS)) {
                        throw new BackendException(BackendException.EIO, "reads were not served in parallel");
                    }
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                while (dst.hasRemaining()) {
                    dst.put((byte) (offset >>> 12));
                }
            }
        };
        try (NbdServer server = NbdServer.builder().export("", rendezvous).start(); NbdHandle h = new NbdHandle()) {
            h.connectUri(server.uri());
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            List<ByteBuffer> buffers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ByteBuffer b = ByteBuffer.allocate(4096);
                buffers.add(b);
                reads.add(h.preadAsync(b, 4096L * i));
            }
            CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            for (int i = 0; i < 4; i++) {
                assertEquals(i, buffers.get(i).get(4095));
            }
        }
    }

    @Test
    void nbdcopyThroughTheFileBackend() throws Exception {
        Oracle.requireLibnbd();
        Path dir = Servers.tempDir();
        try {
            byte[] data = new byte[6 << 20];
            new Random(5).nextBytes(data);
            Path in = dir.resolve("in");
            Path disk = dir.resolve("disk");
            Path out = dir.resolve("out");
            Files.write(in, data);
            try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength(data.length);
            }
            try (NbdServer server = NbdServer.builder().export("", Backend.file(disk, false))
                    .unixSocket(dir.resolve("s")).start()) {
                Oracle.Result w = Oracle.libnbd("nbdcopy", "--request-size=65536", in.toString(), server.uri());
                assertEquals(0, w.status(), w.stderr());
                Oracle.Result r = Oracle.libnbd("nbdcopy", server.uri(), out.toString());
                assertEquals(0, r.status(), r.stderr());
            }
            assertArrayEquals(data, Files.readAllBytes(disk));
            assertArrayEquals(data, Files.readAllBytes(out));
        } finally {
            MoreServers.deleteTree(dir);
        }
    }
}
