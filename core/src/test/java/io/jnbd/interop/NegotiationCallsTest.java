package io.jnbd.interop;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Tls;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Option calls made by hand in opt mode, and the small queries that go with them. */
class NegotiationCallsTest {

    private static List<String> nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void structuredRepliesAndMetaContextsByHand() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setRequestStructuredReplies(false);
            h.setRequestExtendedHeaders(false);
            h.addMetaContext("base:allocation");
            h.connectCommand(nbdkit("memory", "1M"));
            assertFalse(h.getStructuredRepliesNegotiated());
            assertTrue(h.optStructuredReply());
            assertTrue(h.getStructuredRepliesNegotiated());
            // nbdkit 1.32 predates extended headers.
            assertFalse(h.optExtendedHeaders());
            List<String> set = new ArrayList<>();
            assertEquals(1, h.optSetMetaContext(name -> {
                set.add(name);
                return 0;
            }));
            assertEquals(List.of("base:allocation"), set);
            assertTrue(h.canMetaContext("base:allocation"));
            h.optGo();
            assertFalse(h.isRotational());
        }
    }

    @Test
    void extendedHeadersByHandWithQemu() throws Exception {
        Path dir = Servers.tempDir();
        Path image = dir.resolve("img");
        MoreServers.qemuImgCreate(image, "raw", 1 << 20);
        try (Servers.Running qemu = MoreServers.qemuNbdUnix(dir, "raw", image); NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setRequestExtendedHeaders(false);
            h.connectUnix(qemu.socket.toString());
            assertFalse(h.getExtendedHeadersNegotiated());
            assertTrue(h.optExtendedHeaders());
            assertTrue(h.getExtendedHeadersNegotiated());
            assertTrue(h.getStructuredRepliesNegotiated(), "extended headers imply structured replies");
            h.optGo();
            h.pwrite(new byte[512], 0);
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void rotationalFlagFromTheServer() {
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("eval", "get_size=echo 1048576", "is_rotational=echo true",
                    "pread=dd if=/dev/zero count=$3 iflag=count_bytes 2>/dev/null"));
            assertTrue(h.isRotational());
            h.pread(new byte[512], 0);
        }
    }

    @Test
    void uriPoliciesAndQueries() throws Exception {
        try (NbdHandle h = new NbdHandle()) {
            assertTrue(h.isUri("nbd+unix:///?socket=/tmp/s"));
            assertTrue(h.isUri("NBDS://example.com/disk"));
            assertFalse(h.isUri("/dev/sda"));
            assertFalse(h.isUri("http://example.com/"));
            h.setUriAllowTls(Tls.DISABLE);
            NbdException e = assertThrows(NbdException.class, () -> h.connectUri("nbds+unix:///?socket=/tmp/none"));
            assertEquals(1, e.getErrno(), e.getMessage());
            assertTrue(h.aioIsCreated(), "a refused URI changes nothing");
        }
        try (NbdHandle h = new NbdHandle()) {
            boolean kernelHasVsock = Files.readString(Path.of("/proc/net/protocols")).contains("AF_VSOCK");
            assertEquals(kernelHasVsock, h.supportsVsock());
        }
    }
}
