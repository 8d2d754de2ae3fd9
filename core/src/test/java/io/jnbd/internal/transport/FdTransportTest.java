package io.jnbd.internal.transport;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jnbd.internal.posix.Fd;
import io.jnbd.internal.posix.Posix;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FdTransportTest {
    private Transport client;
    private Transport server;
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @BeforeEach
    void connect() throws IOException {
        assumeTrue(Posix.isAvailable());
        Fd[] pair = Posix.socketPair();
        client = new FdTransport(pair[0]);
        server = new FdTransport(pair[1]);
    }

    @AfterEach
    void close() {
        if (client != null) {
            client.close();
            server.close();
        }
        executor.shutdownNow();
    }

    private static byte[] readFully(Transport t, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (t.read(buf) < 0) {
                throw new IOException("EOF after " + buf.position());
            }
        }
        return buf.array();
    }

    @Test
    void writeSendsEveryBufferCompletely() throws Exception {
        // Several MiB: many partial writes, mixing heap and direct buffers.
        byte[] data = new byte[5 << 20];
        new Random(7).nextBytes(data);
        Future<byte[]> received = executor.submit(() -> readFully(server, data.length));
        ByteBuffer header = ByteBuffer.wrap(data, 0, 28);
        ByteBuffer payload = ByteBuffer.allocateDirect(3 << 20).put(data, 28, 3 << 20).flip();
        ByteBuffer tail = ByteBuffer.wrap(data, 28 + (3 << 20), data.length - 28 - (3 << 20));
        client.write(header, ByteBuffer.allocate(0), payload, tail);
        assertEquals(0, header.remaining() + payload.remaining() + tail.remaining());
        assertArrayEquals(data, received.get(10, TimeUnit.SECONDS));
    }

    @Test
    void shutdownOutputEndsTheStreamButNotTheReverseDirection() throws IOException {
        client.write(ByteBuffer.wrap("req".getBytes(US_ASCII)));
        client.shutdownOutput();
        assertArrayEquals("req".getBytes(US_ASCII), readFully(server, 3));
        assertEquals(-1, server.read(ByteBuffer.allocate(1)));
        server.write(ByteBuffer.wrap("rep".getBytes(US_ASCII)));
        assertArrayEquals("rep".getBytes(US_ASCII), readFully(client, 3));
    }

    @Test
    void closeUnblocksAReaderPromptlyAndIsIdempotent() throws Exception {
        Future<Integer> reader = executor.submit(() -> client.read(ByteBuffer.allocate(8)));
        Thread.sleep(100);
        client.close();
        assertEquals(-1, reader.get(1, TimeUnit.SECONDS));
        client.close();
        assertThrows(IOException.class, () -> client.write(ByteBuffer.allocate(1)));
        // The peer sees end of stream.
        assertEquals(-1, server.read(ByteBuffer.allocate(1)));
    }
}
