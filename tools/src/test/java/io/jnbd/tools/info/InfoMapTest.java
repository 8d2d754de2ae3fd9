package io.jnbd.tools.info;

import static io.jnbd.tools.info.Oracle.same;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jnbd info --map} and {@code --map --totals}, text and JSON, on
 * nbdkit's data plugin and qemu-nbd's allocation depth and dirty bitmaps,
 * against nbdinfo and against the outputs libnbd's info/info-map-*.sh expect.
 */
class InfoMapTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path dir;
    private static final List<Servers.Running> servers = new ArrayList<>();
    private static String data;
    private static String large;
    private static String weird;
    private static String empty;
    private static String depth;
    private static String bitmap;

    @BeforeAll
    static void start() throws Exception {
        Libnbd122.require();
        dir = Servers.tempDir();
        // nbdkit's sparse allocator has 32K pages: extents are aligned to them.
        data = start(Oracle.nbdkit(dir, "data", "data", "data=1 @131072 2", "size=1M"));
        large = start(Oracle.nbdkit(dir, "large", "data", "data=1 @131072 2 @6442450944 3", "size=8G"));
        empty = start(Oracle.nbdkit(dir, "null", "null"));
        // A "weird" server whose extents are all one byte long.
        Path script = dir.resolve("weird.sh");
        Files.writeString(script, """
                #!/bin/sh
                case "$1" in
                  get_size) echo 32 ;;
                  pread) head -c "$3" /dev/zero ;;
                  can_extents) exit 0 ;;
                  extents) if [ "$4" -ge 16 ] && [ "$4" -le 19 ]; then echo "$4 1 0"; else echo "$4 1 1"; fi ;;
                  *) exit 2 ;;
                esac
                """);
        script.toFile().setExecutable(true);
        weird = start(Oracle.nbdkit(dir, "weird", "sh", script.toString()));
        depth = start(Oracle.qemuNbd(dir, "depth", "-f", "qcow2", "-A", backingChain().toString()));
        bitmap = start(Oracle.qemuNbd(dir, "bitmap", "-f", "qcow2", "-B", "bitmap0", "-x", "hello", "-D", "world",
                dirtyImage().toString()));
    }

    /**
     * Four qcow2 files, each backed by the one before (info-map-qemu-allocation-depth.sh):
     * <pre>
     *    f1: XXXX----
     *    f2: --XXXX--
     *    f3: -XX--XX-
     *    f4: -X---X--
     * depth: 41233120
     * </pre>
     */
    private static Path backingChain() throws Exception {
        // Zeros rather than qemu-io's default 0xcd, which the host's file(1) and the chroot's name differently.
        Path f1 = dir.resolve("f1.qcow2");
        Path f2 = dir.resolve("f2.qcow2");
        Path f3 = dir.resolve("f3.qcow2");
        Path f4 = dir.resolve("f4.qcow2");
        Oracle.tool("qemu-img", "create", "-q", "-f", "qcow2", f1.toString(), "8M");
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 0 4M", f1.toString());
        Oracle.tool("qemu-img", "create", "-q", "-f", "qcow2", "-b", f1.toString(), "-F", "qcow2", f2.toString());
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 2M 4M", f2.toString());
        Oracle.tool("qemu-img", "create", "-q", "-f", "qcow2", "-b", f2.toString(), "-F", "qcow2", f3.toString());
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 1M 2M", "-c", "w -P 0 5M 2M", f3.toString());
        Oracle.tool("qemu-img", "create", "-q", "-f", "qcow2", "-b", f3.toString(), "-F", "qcow2", f4.toString());
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 1M 1M", "-c", "w -P 0 5M 1M", f4.toString());
        return f4;
    }

    /** Written areas that differ from the dirty ones (info-map-qemu-dirty-bitmap.sh). */
    private static Path dirtyImage() throws Exception {
        Path f = dir.resolve("dirty.qcow2");
        Oracle.tool("qemu-img", "create", "-q", "-f", "qcow2", f.toString(), "1M");
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 0 64k", f.toString());
        Oracle.tool("qemu-img", "bitmap", "--add", "--enable", "-f", "qcow2", f.toString(), "bitmap0");
        Oracle.tool("qemu-io", "-f", "qcow2", "-c", "w -P 0 64k 64k", "-c", "w -z 512k 64k", f.toString());
        return f;
    }

    private static String start(Servers.Running s) {
        servers.add(s);
        return s.unixUri("");
    }

    @AfterAll
    static void stop() throws Exception {
        servers.forEach(Servers.Running::close);
        MoreServers.deleteTree(dir);
    }

    /** The output with runs of spaces squeezed, as libnbd's tests compare it ({@code tr -s ' '}). */
    private static String squeezed(String out) {
        return out.replaceAll(" +", " ");
    }

    @Test
    void baseAllocation() throws Exception {
        // info-map-base-allocation.sh
        assertEquals("""
                 0 32768 0 data
                 32768 98304 3 hole,zero
                 131072 32768 0 data
                 163840 884736 3 hole,zero
                """, squeezed(same("--map", data).out()));
        same("--map=base:allocation", data);
        same("--map", "--colour", data);
        // info-map-base-allocation-json.sh
        JsonNode json = JSON.readTree(same("--map", "--json", data).out());
        assertEquals(4, json.size());
        assertEquals("{\"offset\":0,\"length\":32768,\"type\":0,\"description\":\"data\"}", json.get(0).toString());
        assertEquals("{\"offset\":163840,\"length\":884736,\"type\":3,\"description\":\"hole,zero\"}",
                json.get(3).toString());
    }

    @Test
    void totals() throws Exception {
        // info-map-totals.sh: 6.25% rounds to even, as C's printf does.
        assertEquals("""
                 65536 6.2% 0 data
                 983040 93.8% 3 hole,zero
                """, squeezed(same("--map", "--totals", data).out()));
        same("--map", "--total", "--colour", data);
        // info-map-totals-json.sh
        JsonNode json = JSON.readTree(same("--map", "--totals", "--json", data).out());
        assertEquals("{\"size\":65536,\"percent\":6.25,\"type\":0,\"description\":\"data\"}", json.get(0).toString());
        assertEquals("{\"size\":983040,\"percent\":93.75,\"type\":3,\"description\":\"hole,zero\"}",
                json.get(1).toString());
    }

    @Test
    void largeExport() throws Exception {
        // info-map-base-allocation-large.sh: 8G takes several 32-bit block status requests.
        assertEquals("""
                 0 32768 0 data
                 32768 98304 3 hole,zero
                 131072 32768 0 data
                 163840 6442287104 3 hole,zero
                6442450944 32768 0 data
                6442483712 2147450880 3 hole,zero
                """, squeezed(same("--map", large).out()));
        same("--map", "--totals", "--json", large);
    }

    @Test
    void oneByteExtentsAreMerged() throws Exception {
        // info-map-base-allocation-weird.sh
        assertEquals("""
                 0 16 1 hole
                 16 4 0 data
                 20 12 1 hole
                """, squeezed(same("--map", weird).out()));
        same("--map", "--json", weird);
        same("--map", "--totals", weird);
    }

    @Test
    void emptyExport() throws Exception {
        // info-map-base-allocation-zero.sh
        assertEquals("", same("--map", empty).out());
        assertEquals("[\n\n]\n", same("--map", "--json", empty).out());
        assertEquals("", same("--map", "--totals", empty).out());
        assertEquals("[]\n", same("--map", "--totals", "--json", empty).out());
    }

    @Test
    void qemuAllocationDepth() throws Exception {
        // info-map-qemu-allocation-depth.sh
        assertEquals("""
                 0 1048576 4 backing depth 4
                 1048576 1048576 1 local
                 2097152 1048576 2 backing depth 2
                 3145728 2097152 3 backing depth 3
                 5242880 1048576 1 local
                 6291456 1048576 2 backing depth 2
                 7340032 1048576 0 absent
                """, squeezed(same("--map=qemu:allocation-depth", depth).out()));
        same("--map=qemu:allocation-depth", "--colour", depth);
        same("--map=qemu:allocation-depth", "--totals", "--json", depth);
        same("--map", "--json", depth);
        same("--json", depth);
    }

    @Test
    void qemuDirtyBitmap() throws Exception {
        // info-map-qemu-dirty-bitmap.sh
        String uri = bitmap.replace("nbd+unix:///", "nbd+unix:///hello");
        assertEquals("""
                 0 65536 0 clean
                 65536 65536 1 dirty
                 131072 393216 0 clean
                 524288 65536 1 dirty
                 589824 458752 0 clean
                """, squeezed(same("--map=qemu:dirty-bitmap:bitmap0", uri).out()));
        same("--map=qemu:dirty-bitmap:bitmap0", "--colour", uri);
        same("--map=qemu:dirty-bitmap:bitmap0", "--totals", uri);
        same("--map=qemu:dirty-bitmap:bitmap0", "--json", uri);
    }

    @Test
    void qemuExportWithDescription() throws Exception {
        // info-description-qemu.sh, info-list-qemu.sh, info-list-json-qemu.sh
        String uri = bitmap.replace("nbd+unix:///", "nbd+unix:///hello");
        String text = same(uri).out();
        assertTrue(text.contains("export=\"hello\":\n\tdescription: world\n\texport-size: 1048576 (1M)\n"), text);
        assertTrue(text.contains("\t\tqemu:dirty-bitmap:bitmap0\n"), text);
        for (String u : List.of(bitmap, uri)) {
            assertTrue(same("--list", u).out().contains("export=\"hello\":\n\tdescription: world\n"));
            JsonNode json = JSON.readTree(same("--list", "--json", u).out());
            assertEquals("world", json.get("exports").get(0).get("description").asText());
            assertEquals(1048576, json.get("exports").get(0).get("export-size").asLong());
        }
        same("--json", "--colour", uri);
    }

    @Test
    void mapOfAContextTheServerLacks() throws Exception {
        Libnbd122.Result r = same("--map=qemu:dirty-bitmap:nosuch", bitmap.replace("///", "///hello"));
        assertEquals("jnbd info: --map: server does not support metadata context \"qemu:dirty-bitmap:nosuch\"\n",
                r.stderr());
        same("--map=qemu:allocation-depth", data);
    }
}
