package io.jnbd.interop;

import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Meta contexts against qemu-nbd 10: listing and selecting contexts in opt
 * mode, dirty bitmaps, allocation depth over a backing file, 64-bit block
 * status and the filtered form.
 */
class MetaContextTest {
    static final String BASE = "base:allocation";
    static final String DIRTY = "qemu:dirty-bitmap:b0";
    static final String DEPTH = "qemu:allocation-depth";
    static final long MIB = 1 << 20;
    static final long SIZE = 16 * MIB;

    static Path dir;
    static Servers.Running qemu;

    /**
     * An overlay over a backing file: data at 8 MiB only in the backing file,
     * data at 0 written before bitmap b0 was added, data at 4 MiB after it.
     */
    @BeforeAll
    static void start() throws Exception {
        dir = Servers.tempDir();
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        MoreServers.qemuImgCreate(base, "qcow2", SIZE);
        MoreServers.qemuIo(base, "qcow2", "write -P 3 8M 64k");
        MoreServers.run(List.of(Servers.require("qemu-img"), "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                base.toString(), top.toString()));
        MoreServers.qemuIo(top, "qcow2", "write -P 1 0 64k");
        MoreServers.run(List.of(Servers.require("qemu-img"), "bitmap", "--add", top.toString(), "b0"));
        MoreServers.qemuIo(top, "qcow2", "write -P 2 4M 64k");
        Path sock = dir.resolve("q.sock");
        Path pid = dir.resolve("q.pid");
        qemu = Servers.start(List.of(Servers.require("qemu-nbd"), "-t", "-k", sock.toString(), "--pid-file",
                pid.toString(), "-f", "qcow2", "-B", "b0", "-A", top.toString()), pid, sock, -1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (qemu != null) {
            qemu.close();
        }
        MoreServers.deleteTree(dir);
    }

    private static NbdHandle handle() {
        return new NbdHandle();
    }

    @Test
    void listAndSetInOptMode() {
        try (NbdHandle h = handle()) {
            h.setOptMode(true);
            h.addMetaContext(BASE);
            h.connectUnix(qemu.socket.toString());
            assertEquals("canMetaContext: need a successful server meta context request first",
                    assertThrows(NbdException.class, () -> h.canMetaContext(BASE)).getMessage());

            List<String> all = new ArrayList<>();
            int n = h.optListMetaContextQueries(List.of(), name -> {
                all.add(name);
                return 0;
            });
            assertEquals(all.size(), n);
            assertTrue(all.containsAll(List.of(BASE, DIRTY, DEPTH)), all.toString());

            List<String> qemuOnly = new ArrayList<>();
            h.optListMetaContextQueries(List.of("qemu:"), name -> {
                qemuOnly.add(name);
                return 0;
            });
            assertTrue(qemuOnly.containsAll(List.of(DIRTY, DEPTH)) && !qemuOnly.contains(BASE), qemuOnly.toString());

            List<String> listed = new ArrayList<>();
            assertEquals(1, h.optListMetaContext(name -> {
                listed.add(name);
                return 0;
            }), "the handle's own queries: base:allocation");
            assertEquals(List.of(BASE), listed);

            assertEquals(2, h.optSetMetaContextQueries(List.of(BASE, DIRTY), name -> 0));
            assertTrue(h.canMetaContext(BASE));
            assertTrue(h.canMetaContext(DIRTY));
            assertFalse(h.canMetaContext(DEPTH));

            // Keep what was set by hand: no automatic request on NBD_OPT_GO.
            h.setRequestMetaContext(false);
            h.optGo();
            Map<String, List<NbdExtent>> seen = blockStatus64(h, SIZE, 0, 0);
            assertEquals(List.of(BASE, DIRTY), List.copyOf(seen.keySet()));
        }
    }

    @Test
    void dirtyBitmapAndAllocationDepth() {
        try (NbdHandle h = handle()) {
            h.addMetaContext(BASE);
            h.addMetaContext(DIRTY);
            h.addMetaContext(DEPTH);
            h.connectUnix(qemu.socket.toString());
            assertTrue(h.getExtendedHeadersNegotiated());
            Map<String, List<NbdExtent>> seen = blockStatus64(h, SIZE, 0, 0);
            // Only the write made after the bitmap existed is dirty.
            assertEquals(1, flagsAt(seen.get(DIRTY), 4 * MIB) & 1);
            assertEquals(0, flagsAt(seen.get(DIRTY), 0) & 1);
            assertEquals(0, flagsAt(seen.get(DIRTY), 8 * MIB) & 1);
            // Allocation depth: 1 in the overlay, 2 in its backing file, 0 nowhere.
            assertEquals(1, flagsAt(seen.get(DEPTH), 0));
            assertEquals(1, flagsAt(seen.get(DEPTH), 4 * MIB));
            assertEquals(2, flagsAt(seen.get(DEPTH), 8 * MIB));
            assertEquals(0, flagsAt(seen.get(DEPTH), 12 * MIB));
            // base:allocation sees data wherever any layer has it.
            assertEquals(0, flagsAt(seen.get(BASE), 8 * MIB) & 1);
            assertEquals(3, flagsAt(seen.get(BASE), 12 * MIB) & 3);
        }
    }

    @Test
    void reqOneGivesOneExtentPerContext() {
        try (NbdHandle h = handle()) {
            h.addMetaContext(BASE);
            h.addMetaContext(DEPTH);
            h.connectUnix(qemu.socket.toString());
            Map<String, List<NbdExtent>> seen = blockStatus64(h, SIZE, 0, CmdFlag.REQ_ONE);
            assertEquals(2, seen.size());
            seen.values().forEach(extents -> assertEquals(1, extents.size(), extents.toString()));
            List<int[]> narrow = new ArrayList<>();
            h.blockStatus(SIZE, 0, (ctx, off, entries, err) -> {
                narrow.add(entries);
                return 0;
            }, CmdFlag.REQ_ONE);
            narrow.forEach(entries -> assertEquals(2, entries.length));
        }
    }

    @Test
    void filteredBlockStatusReportsOnlyTheNamedContexts() {
        try (NbdHandle h = handle()) {
            h.addMetaContext(BASE);
            h.addMetaContext(DIRTY);
            h.connectUnix(qemu.socket.toString());
            if (!h.canBlockStatusPayload()) {
                NbdException e = assertThrows(NbdException.class,
                        () -> h.blockStatusFilter(SIZE, 0, List.of(DIRTY), (c, o, x, err) -> 0));
                assertEquals(22, e.getErrno(), e.getMessage());
                return;
            }
            Map<String, List<NbdExtent>> seen = new TreeMap<>();
            h.blockStatusFilter(SIZE, 0, List.of(DIRTY), (ctx, off, extents, err) -> {
                seen.put(ctx, List.of(extents));
                return 0;
            });
            assertEquals(List.of(DIRTY), List.copyOf(seen.keySet()));
            NbdException unknown = assertThrows(NbdException.class,
                    () -> h.blockStatusFilter(SIZE, 0, List.of(DEPTH), (c, o, x, err) -> 0));
            assertEquals("blockStatusFilter: context qemu:allocation-depth not negotiated", unknown.getMessage());
        }
    }

    /**
     * libnbd's block-status-payload.sh: a filter naming every context is an
     * ordinary call, one naming some gets only those (PAYLOAD_LEN allowed),
     * also for one byte at the end, and an empty filter goes to the server,
     * which refuses it.
     */
    @Test
    void blockStatusFilterSelectsContexts() {
        try (NbdHandle h = handle()) {
            List<String> all = List.of(BASE, DIRTY, DEPTH);
            all.forEach(h::addMetaContext);
            h.connectUnix(qemu.socket.toString());
            assertTrue(h.canBlockStatusPayload());
            assertEquals(Set.copyOf(all), blockStatus64(h, SIZE, 0, 0).keySet());
            assertEquals(Set.copyOf(all), filtered(h, SIZE, 0, all, 0).keySet());
            assertEquals(Set.of(BASE, DEPTH), filtered(h, SIZE, 0, List.of(BASE, DEPTH), CmdFlag.PAYLOAD_LEN).keySet());
            assertEquals(Set.of(DIRTY), filtered(h, 1, SIZE - 1, List.of(DIRTY), 0).keySet());
            long sent = h.statsBytesSent();
            NbdException none = assertThrows(NbdException.class, () -> filtered(h, SIZE, 0, List.of(), 0));
            assertEquals(22, none.getErrno(), none.getMessage());
            assertTrue(h.statsBytesSent() > sent, "the server refused it, not jnbd");
            assertTrue(h.aioIsReady());
        }
    }

    private static Map<String, List<NbdExtent>> filtered(NbdHandle h, long count, long offset, List<String> names,
                                                        int flags) {
        Map<String, List<NbdExtent>> seen = new TreeMap<>();
        h.blockStatusFilter(count, offset, names, (ctx, off, extents, err) -> {
            assertEquals(offset, off);
            seen.put(ctx, List.of(extents));
            return 0;
        }, flags);
        return seen;
    }

    @Test
    void changingTheExportNameForgetsWhatWasLearnt() {
        try (NbdHandle h = handle()) {
            h.setOptMode(true);
            h.connectUnix(qemu.socket.toString());
            h.optInfo();
            assertEquals(SIZE, h.getSize());
            h.setExportName("");
            assertEquals(SIZE, h.getSize(), "the same name again forgets nothing");
            h.setExportName("other");
            assertEquals(22, assertThrows(NbdException.class, h::getSize).getErrno());
            h.setExportName("");
            assertEquals(22, assertThrows(NbdException.class, h::getSize).getErrno());
            h.optInfo();
            assertEquals(SIZE, h.getSize());
        }
    }

    private static Map<String, List<NbdExtent>> blockStatus64(NbdHandle h, long count, long offset, int flags) {
        Map<String, List<NbdExtent>> seen = new TreeMap<>();
        h.blockStatus64(count, offset, (ctx, off, extents, err) -> {
            assertEquals(offset, off);
            seen.put(ctx, List.of(extents));
            return 0;
        }, flags);
        return seen;
    }

    /** The flags of the extent covering {@code offset}, counting from 0. */
    private static long flagsAt(List<NbdExtent> extents, long offset) {
        long at = 0;
        for (NbdExtent e : extents) {
            if (offset < at + e.length()) {
                return e.flags();
            }
            at += e.length();
        }
        throw new AssertionError("no extent covers " + offset + " in " + extents);
    }
}
