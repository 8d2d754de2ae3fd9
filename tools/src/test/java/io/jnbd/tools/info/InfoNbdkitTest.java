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
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jnbd info}'s default output, {@code --json}, {@code --list},
 * {@code --size}, {@code --uri} and {@code --can/--is/--has}, on nbdkit
 * exports, against nbdinfo's (libnbd's info/info-*.sh tests and more).
 */
class InfoNbdkitTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path dir;
    private static final List<Servers.Running> servers = new ArrayList<>();
    private static Servers.Running memory;
    private static Servers.Running readOnly;
    private static Servers.Running oldstyle;
    private static Servers.Running simple;
    private static Servers.Running nul;
    private static Servers.Running named;
    private static Servers.Running describedDefault;
    private static Servers.Running noZero;
    private static Servers.Running rotational;
    private static Servers.Running flags;
    private static Servers.Running files;

    @BeforeAll
    static void start() throws Exception {
        Libnbd122.require();
        dir = Servers.tempDir();
        memory = start("memory", "memory", "1M");
        readOnly = start("ro", "-r", "memory", "size=1M");
        oldstyle = start("old", "--oldstyle", "memory", "size=1M");
        simple = start("nosr", "--no-sr", "memory", "size=1M");
        nul = start("null", "null");
        named = start("named", "--filter=exportname", "memory", "1M", "exportname=hello", "exportname=goodbye",
                "exportname-strict=true", "exportname-list=explicit", "exportdesc=fixed:world");
        describedDefault = start("desc", "--filter=exportname", "memory", "1M", "default-export=hello",
                "exportdesc=fixed:world");
        noZero = start("nozero", "--filter=nozero", "null");
        rotational = start("rotational", "--filter=rotational", "null", "rotational=true");
        // Each export of this server has the flags its name lists, comma-separated.
        Path script = dir.resolve("flags.sh");
        Files.writeString(script, """
                #!/bin/sh
                has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }
                case "$1" in
                  open) echo "$3" ;;
                  get_size) echo 1024 ;;
                  pread) head -c "$3" /dev/zero ;;
                  can_write) exit 0 ;;
                  can_cache|can_fua) if has "$2" "${1#can_}"; then echo native; else echo none; fi ;;
                  can_*) if has "$2" "${1#can_}"; then exit 0; else exit 3; fi ;;
                  *) exit 2 ;;
                esac
                """);
        script.toFile().setExecutable(true);
        flags = start("flags", "sh", script.toString());
        // Export names that need quoting in a URI (info-uri-quoting.sh).
        Path d = Files.createDirectory(dir.resolve("files"));
        for (String name : List.of("%%", "hello world", "リソース")) {
            Files.write(d.resolve(name), new byte[512]);
        }
        files = start("files", "-r", "file", "dir=" + d);
    }

    private static Servers.Running start(String name, String... args) throws Exception {
        Servers.Running s = Oracle.nbdkit(dir, name, args);
        servers.add(s);
        return s;
    }

    @AfterAll
    static void stop() throws Exception {
        servers.forEach(Servers.Running::close);
        MoreServers.deleteTree(dir);
    }

    private static String uri(Servers.Running s) {
        return s.unixUri("");
    }

    @Test
    void textAndJsonMatchNbdinfo() throws Exception {
        String text = same(uri(memory)).out();
        // info-text.sh
        assertTrue(text.contains("\texport-size: 1048576 (1M)\n"), text);
        assertTrue(text.contains("\turi: nbd+unix:///?socket=" + memory.socket + "\n"), text);
        assertTrue(text.contains("\tcontexts:\n\t\tbase:allocation\n"), text);
        // info-json.sh
        JsonNode json = JSON.readTree(same("--json", uri(readOnly)).out());
        assertEquals("newstyle-fixed", json.get("protocol").asText());
        assertEquals(1048576, json.get("exports").get(0).get("export-size").asLong());
        assertTrue(json.get("exports").get(0).get("is_read_only").asBoolean());
        assertEquals("base:allocation", json.get("exports").get(0).get("contexts").get(0).asText());
        same("--json", "--no-content", uri(memory));
        same("--colour", uri(memory));
        same("--colour", "--no-colour", "--json", uri(memory));
    }

    @Test
    void protocolLineNamesThePackets() throws Exception {
        // info-packets.sh and info-oldstyle.sh
        assertTrue(same(uri(simple)).out().startsWith("protocol: newstyle-fixed without TLS, using simple packets\n"));
        assertTrue(same(uri(memory)).out().startsWith("protocol: newstyle-fixed without TLS, using "));
        assertTrue(same(uri(oldstyle)).out().startsWith("protocol: oldstyle without TLS, using simple packets\n"));
        same("--json", uri(oldstyle));
        same("--json", uri(simple));
    }

    @Test
    void emptyExport() throws Exception {
        // info-null.sh
        assertTrue(same("--list", uri(nul)).out().contains("\texport-size: 0\n"));
        same(uri(nul));
        same("--json", uri(nul));
    }

    @Test
    void descriptions() throws Exception {
        // info-description.sh
        String text = same(uri(describedDefault)).out();
        assertTrue(text.contains("export=\"hello\":\n\tdescription: world\n\texport-size: 1048576 (1M)\n"), text);
        same("--json", uri(describedDefault));
    }

    @Test
    void listAllExports() throws Exception {
        // info-list.sh and info-list-json.sh: the URI's export name may or may not be on the list.
        for (String export : List.of("nosuch", "hello")) {
            String uri = named.unixUri(export);
            String text = same("--list", uri).out();
            assertTrue(text.contains("export=\"hello\":\n\tdescription: world\n\texport-size: 1048576 (1M)\n"));
            assertTrue(text.contains("export=\"goodbye\":"), text);
            assertTrue(text.contains("\tcontexts:\n\t\tbase:allocation\n"), text);
            JsonNode json = JSON.readTree(same("--list", "--json", uri).out());
            assertEquals(2, json.get("exports").size());
            assertEquals("world", json.get("exports").get(0).get("description").asText());
        }
        same("-L", "--content", named.unixUri(""));
        same("--list", "--json", "--content", named.unixUri(""));
        same("--list", uri(simple));
        same("--list", "--json", uri(nul));
    }

    @Test
    void urisOfListedExportsAreQuoted() throws Exception {
        // info-uri-quoting.sh and info-list-uris.sh
        JsonNode json = JSON.readTree(same("--json", "--list", uri(files)).out());
        List<String> uris = new ArrayList<>();
        json.get("exports").forEach(e -> uris.add(e.get("export-name").asText() + " " + e.get("uri").asText()));
        String socket = "?socket=" + files.socket;
        assertTrue(uris.contains("%% nbd+unix:///%25%25" + socket), uris::toString);
        assertTrue(uris.contains("hello world nbd+unix:///hello%20world" + socket), uris::toString);
        assertTrue(uris.contains("リソース nbd+unix:///%E3%83%AA%E3%82%BD%E3%83%BC%E3%82%B9" + socket),
                uris::toString);
        same("--list", uri(files));
    }

    @Test
    void sizeAndUri() throws Exception {
        // info-size.sh, info-uri.sh, info-uri-json.sh
        assertEquals("1048576\n", same("--size", uri(memory)).out());
        assertEquals("0\n", same("--size", "--json", uri(nul)).out());
        assertEquals(uri(memory) + "\n", same("--uri", uri(memory)).out());
        assertEquals("\"" + uri(memory) + "\"\n", same("--uri", "--json", uri(memory)).out());
        same("--uri", named.unixUri("hello world"));
    }

    @Test
    void overTcp() throws Exception {
        int port = Servers.freePort();
        Path pid = dir.resolve("tcp.pid");
        List<String> cmd = Oracle.chroot("nbdkit", "-f", "--exit-with-parent", "-i", "127.0.0.1", "-p",
                Integer.toString(port), "-P", pid.toString(), "memory", "1M");
        try (Servers.Running s = Servers.start(cmd, pid, null, port)) {
            String uri = "nbd://127.0.0.1:" + port + "/";
            assertTrue(same(uri).out().contains("\turi: " + uri + "\n"));
            same("--json", "--list", "nbd://127.0.0.1:" + port);
            assertEquals(uri + "\n", same("--uri", "nbd://127.0.0.1:" + port).out());
        }
    }

    @Test
    void isAndCanExitWithZeroOrTwo() throws Exception {
        // info-is-read-only.sh, info-cannot.sh, info-can-connect.sh, info-can-read.sh
        assertEquals(0, same("--is", "read-only", uri(readOnly)).status());
        assertEquals(2, same("--can", "write", uri(readOnly)).status());
        assertEquals(0, same("--cannot", "write", uri(readOnly)).status());
        assertEquals(0, same("--can", "write", uri(memory)).status());
        assertEquals(0, same("--isnt", "read-only", uri(memory)).status());
        assertEquals(2, same("--is", "READ_ONLY", uri(memory)).status());
        assertEquals(0, same("--can", "connect", uri(memory)).status());
        assertEquals(0, same("--can", "read", uri(memory)).status());
        assertEquals(2, same("--is", "tls", uri(memory)).status());
        assertEquals(2, same("--is", "rotational", uri(memory)).status());
        assertEquals(0, same("--is", "rotational", uri(rotational)).status());
        assertTrue(same(uri(rotational)).out().contains("\tis_rotational: true\n"));
        assertEquals(0, same("--can", "df", uri(memory)).status());
        assertEquals(2, same("--can", "df", uri(simple)).status());
        assertEquals(2, same("--can", "block-status-payload", uri(memory)).status());
        // info-can-zero.sh
        assertEquals(0, same("--can", "zero", uri(nul)).status());
        assertEquals(2, same("--can", "zero", uri(noZero)).status());
        // info-can.sh: structured replies are the server's, not the export's.
        assertEquals(0, same("--has", "structured-reply", uri(memory)).status());
        assertEquals(2, same("--has", "structured-reply", uri(simple)).status());
        assertEquals(2, same("--has", "extended-headers", uri(simple)).status());
        assertEquals(0, same("--hasnt", "extended-headers", uri(oldstyle)).status());
        same("--has", "extended-headers", uri(memory));
        // A name the URI names, whether the server has it or not: --can connect only needs the connection.
        assertEquals(0, same("--can", "connect", named.unixUri("nosuch")).status());
    }

    @Test
    void eachExportFlag() throws Exception {
        // info-can.sh: each flag both ways, on a server whose export names say which flags it has
        // (not zero, which nbdkit emulates: info-can-zero's nozero filter tests that one). The sh
        // plugin runs a script per question, so the JSON output answers all flags at once.
        List<String> names = List.of("cache", "fua", "fast_zero", "flush", "multi_conn", "trim");
        JsonNode all = JSON.readTree(same("--json", flags.unixUri(String.join(",", names))).out());
        JsonNode none = JSON.readTree(same("--json", flags.unixUri("none")).out());
        for (String name : names) {
            assertTrue(all.get("exports").get(0).get("can_" + name).asBoolean(), name);
            assertTrue(!none.get("exports").get(0).get("can_" + name).asBoolean(), name);
        }
        assertEquals(0, same("--can", "fast-zero", flags.unixUri("fast_zero")).status());
        assertEquals(2, same("--can", "MultiConn", flags.unixUri("none")).status());
        assertEquals(0, same("--cannot", "cache", flags.unixUri("fua")).status());
        same("--colour", flags.unixUri("fua,trim"));
    }

    @Test
    void tls() throws Exception {
        // info-uri-nbds.sh, with a pre-shared key rather than certificates.
        Path psk = dir.resolve("keys.psk");
        Files.writeString(psk, "alice:" + HexFormat.of().formatHex(new byte[32]) + "\n");
        Path sock = dir.resolve("tls.sock");
        Path pid = dir.resolve("tls.pid");
        List<String> cmd = Oracle.chroot("nbdkit", "-f", "--exit-with-parent", "-U", sock.toString(), "-P",
                pid.toString(), "--tls=require", "--tls-psk=" + psk, "null", "size=1M");
        try (Servers.Running s = Servers.start(cmd, pid, sock, -1)) {
            String uri = "nbds+unix://alice@/?socket=" + sock + "&tls-psk-file=" + psk;
            JsonNode json = JSON.readTree(same("--json", uri).out());
            assertTrue(json.get("TLS").asBoolean());
            assertTrue(json.get("exports").get(0).get("uri").asText().startsWith("nbds+unix://alice@/?socket="));
            assertEquals(0, same("--is", "tls", uri).status());
            assertTrue(same(uri).out().startsWith("protocol: newstyle-fixed with TLS, using "));
            same("--uri", uri);
        }
    }
}
