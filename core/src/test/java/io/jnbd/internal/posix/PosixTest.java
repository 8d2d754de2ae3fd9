package io.jnbd.internal.posix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PosixTest {
    @TempDir(factory = ShortTempDir.class)
    Path dir;

    @Test
    void availableOnThisLinux() {
        assertTrue(Posix.isAvailable());
    }

    @Test
    void sockaddrVmEncoding() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals(new byte[] {
            40, 0, 0, 0,
            0x39, 0x2a, 0, 0, // port 10809
            3, 0, 0, 0, // cid 3
            0, 0, 0, 0,
        }, Posix.sockaddrVm(3, 10809));
        assertArrayEquals(new byte[] {
            40, 0, 0, 0,
            0, 0, 0, (byte) 0x80,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            0, 0, 0, 0,
        }, Posix.sockaddrVm(-1, 0x80000000));
    }

    @Test
    void supportsVsockMatchesSocketCreation() {
        assumeTrue(Posix.isAvailable());
        int s = Libc.socket(Libc.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (s >= 0) {
            Libc.close(s);
        }
        assertEquals(s >= 0, Posix.supportsVsock());
    }

    /**
     * The error path of a vsock connect, without sending anything: this kernel has
     * no vsock loopback, so a well-formed connect to any cid would go to the
     * hypervisor. An address of the wrong family is rejected before a transport is chosen.
     */
    @Test
    void vsockConnectErrorClosesTheSocketAndNamesThePeer() throws IOException {
        assumeTrue(Posix.supportsVsock());
        byte[] invalid = Posix.sockaddrVm(3, 10809);
        invalid[0] = 41; // svm_family: AF_VSOCK is 40
        long before = openDescriptors();
        PosixException e = assertThrows(PosixException.class, () -> Posix.vsockConnect(invalid, "vsock cid 3 port 10809"));
        assertEquals(Libc.EINVAL, e.errno());
        assertEquals("connect to vsock cid 3 port 10809: Invalid argument", e.getMessage());
        assertEquals(before, openDescriptors(), "the socket was closed");
    }

    private static long openDescriptors() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void unixListenerAcceptsConnections() throws IOException {
        assumeTrue(Posix.isAvailable());
        Path path = dir.resolve("s");
        try (Fd listener = Posix.unixListener(path);
                SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            assertTrue(listener.isOpen());
            // Completes from the backlog without anyone calling accept.
            assertTrue(client.connect(UnixDomainSocketAddress.of(path)));
            assertEquals(4, client.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4})));
        }
    }

    @Test
    void unixListenerOnTakenPathFails() throws IOException {
        assumeTrue(Posix.isAvailable());
        Path path = dir.resolve("taken");
        Files.createFile(path);
        PosixException e = assertThrows(PosixException.class, () -> Posix.unixListener(path));
        assertEquals(98, e.errno()); // EADDRINUSE
        assertTrue(e.getMessage().startsWith("bind " + path + ": "), e.getMessage());
    }

    @Test
    void unixListenerRejectsPathsLongerThanSunPath() {
        assumeTrue(Posix.isAvailable());
        Path longPath = dir.resolve("x".repeat(120));
        PosixException e = assertThrows(PosixException.class, () -> Posix.unixListener(longPath));
        assertEquals(Libc.ENAMETOOLONG, e.errno());
        assertTrue(Files.notExists(longPath));
    }

    @Test
    void exceptionMessageUsesStrerror() {
        assumeTrue(Posix.isAvailable());
        PosixException e = new PosixException("connect", 111);
        assertEquals("connect: Connection refused", e.getMessage());
        assertEquals(111, e.errno());
    }
}
