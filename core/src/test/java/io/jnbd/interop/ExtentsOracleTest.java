package io.jnbd.interop;

import io.jnbd.HandshakeFlag;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * base:allocation as jnbd reads it equals what libnbd's nbdinfo --map reports
 * for the same nbdkit export: random sparse data, the data plugin's holes,
 * and an extent list.
 */
class ExtentsOracleTest {

    /** Extents of base:allocation over the whole export, adjacent ones with the same flags merged, as nbdinfo prints them. */
    private static List<MoreServers.MapEntry> jnbdMap(NbdHandle h) {
        List<MoreServers.MapEntry> map = new ArrayList<>();
        long size = h.getSize();
        long offset = 0;
        while (offset < size) {
            long[] next = {offset};
            h.blockStatus(size - offset, offset, (ctx, off, entries, err) -> {
                for (int i = 0; i < entries.length; i += 2) {
                    long len = Math.min(Integer.toUnsignedLong(entries[i]), size - next[0]);
                    int flags = entries[i + 1];
                    MoreServers.MapEntry last = map.isEmpty() ? null : map.getLast();
                    if (last != null && last.flags() == flags && last.offset() + last.length() == next[0]) {
                        map.set(map.size() - 1, new MoreServers.MapEntry(last.offset(), last.length() + len, flags));
                    } else {
                        map.add(new MoreServers.MapEntry(next[0], len, flags));
                    }
                    next[0] += len;
                }
                return 0;
            });
            assertTrue(next[0] > offset, "block status made progress");
            offset = next[0];
        }
        return map;
    }

    private static void compare(String... pluginArgs) throws Exception {
        Path dir = Servers.tempDir();
        try (Servers.Running server = Servers.nbdkitUnix(dir, pluginArgs); NbdHandle h = new NbdHandle()) {
            // libnbd's meta-base-allocation.c: a context the server lacks is ignored.
            h.addMetaContext("x-libnbd:nosuch_context");
            h.addMetaContext("base:allocation");
            h.connectUnix(server.socket.toString());
            assertFalse(h.canMetaContext("x-libnbd:nosuch_context"));
            assertTrue(h.canMetaContext("base:allocation"));
            List<MoreServers.MapEntry> ours = jnbdMap(h);
            List<MoreServers.MapEntry> libnbds = MoreServers.nbdinfoMap(server.unixUri(""));
            assertEquals(libnbds, ours);
            assertTrue(ours.size() > 1, "a test of more than one extent: " + ours);
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    @Test
    void sparseRandom() throws Exception {
        compare("sparse-random", "64M", "seed=4242", "percent=30", "runlength=65536");
    }

    @Test
    void dataPluginHoles() throws Exception {
        compare("data", "1 2 3 @1048576 4 5 @4194304 6 @^1048576 7", "size=16M");
    }

    @Test
    void extentList() throws Exception {
        Path list = Servers.tempDir().resolve("extents");
        Files.writeString(list, "0 1M\n4M 2M\n10M 1M zero\n");
        compare("--filter=extentlist", "null", "16M", "extentlist=" + list);
    }

    @Test
    void everyHandshakeFlagCombination() {
        for (int flags = 0; flags <= HandshakeFlag.MASK; flags++) {
            try (NbdHandle h = new NbdHandle()) {
                h.setHandshakeFlags(flags);
                h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
                boolean fixed = (flags & HandshakeFlag.FIXED_NEWSTYLE) != 0;
                assertEquals(fixed ? "newstyle-fixed" : "newstyle", h.getProtocol(), "flags " + flags);
                assertEquals(fixed, h.getStructuredRepliesNegotiated(), "flags " + flags);
                byte[] data = {(byte) flags, 1, 2, 3};
                h.pwrite(data, 512);
                byte[] back = new byte[4];
                h.pread(back, 512);
                assertArrayEquals(data, back, "flags " + flags);
            }
        }
    }
}
