package io.jnbd.tools.info;

import static io.jnbd.tools.info.Oracle.chroot;
import static io.jnbd.tools.info.Oracle.jnbd;
import static io.jnbd.tools.info.Oracle.same;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jnbd.testing.MoreServers;
import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jnbd info}'s command line: servers run as {@code [ CMD ARGS ]},
 * {@code --help}, {@code --version}, usage errors and failures, with
 * nbdinfo's exit statuses.
 */
class InfoCommandLineTest {
    private static Path dir;
    private static Servers.Running memory;

    @BeforeAll
    static void start() throws Exception {
        Libnbd122.require();
        dir = Servers.tempDir();
        memory = Oracle.nbdkit(dir, "memory", "memory", "1M");
    }

    @AfterAll
    static void stop() throws Exception {
        memory.close();
        MoreServers.deleteTree(dir);
    }

    /** {@code ARGS [ nbdkit SERVER... ]} for each tool: jnbd runs the chroot's nbdkit, nbdinfo its own. */
    private static Libnbd122.Result sameWithSubprocess(List<String> args, String... server) throws Exception {
        List<String> ours = new ArrayList<>(args);
        ours.add("[");
        ours.addAll(chroot("nbdkit", server));
        ours.add("]");
        List<String> theirs = new ArrayList<>(args);
        theirs.add("[");
        theirs.add("nbdkit");
        theirs.addAll(List.of(server));
        theirs.add("]");
        return same(ours, theirs);
    }

    @Test
    void serverAsSubprocess() throws Exception {
        // info-cmd-json.sh: a subprocess has no meaningful URI, so none is shown.
        JsonNode json = new ObjectMapper().readTree(
                sameWithSubprocess(List.of("--json", "--"), "-r", "memory", "size=1M").out());
        assertEquals("newstyle-fixed", json.get("protocol").asText());
        assertTrue(json.get("exports").get(0).get("is_read_only").asBoolean());
        assertNull(json.get("exports").get(0).get("uri"), json::toString);
        // info-cmd-size.sh
        assertEquals("536870912\n", sameWithSubprocess(List.of("--size"), "memory", "size=512M").out());
        // info-cmd-map-totals.sh
        assertEquals("     65536   6.2%   0 data\n    983040  93.8%   3 hole,zero\n",
                sameWithSubprocess(List.of("--map", "--totals"), "data", "data=1 @131072 2", "size=1M").out());
        sameWithSubprocess(List.of(), "null", "1M");
        // Probing each listed export's content takes a connection, so a server, per export. (Without
        // the --, nbdinfo's getopt would take the server's --filter for its own option.)
        sameWithSubprocess(List.of("--list", "--content", "--"), "--filter=exportname", "memory", "1M",
                "exportname=a", "exportname=b", "exportname-list=explicit");
        assertEquals(2, sameWithSubprocess(List.of("--is", "read-only"), "memory", "1M").status());
        // Written after --, the brackets are plain words, which jnbd takes as nbdinfo does.
        List<String> words = new ArrayList<>(List.of("--size", "--", "["));
        words.addAll(chroot("nbdkit", "null", "4096"));
        words.add("]");
        assertEquals("4096\n", jnbd(words.toArray(String[]::new)).out());
    }

    @Test
    void contentIsProbedWithFile() throws Exception {
        String uri = memory.unixUri("");
        assertTrue(same(uri).out().contains("\tcontent: data\n"));
        assertTrue(!same("--no-content", uri).out().contains("content:"));
        assertTrue(!same("--list", uri).out().contains("content:"));
        assertTrue(same("--list", "--content", uri).out().contains("\tcontent: data\n"));
        // nbdkit's info plugin serves text which file(1) names the same in either Debian release.
        sameWithSubprocess(List.of(), "info", "mode=time");
    }

    @Test
    void helpVersionAndOptionLists() throws Exception {
        Libnbd122.Result help = jnbd("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--map"), help.out());
        // test-version.sh: the tool's name and version, then the library's.
        Libnbd122.Result version = jnbd("--version");
        assertEquals(0, version.status());
        assertTrue(version.out().matches("jnbd info \\S+\nlibnbd API 1\\.22\n"), version.out());
        // test-long-options.sh, test-short-options.sh
        String longOptions = jnbd("--long-options").out();
        for (String option : List.of("--list", "--map", "--version", "--can", "--isnt", "--totals", "--no-content")) {
            assertTrue(longOptions.contains(option + "\n"), longOptions);
        }
        String shortOptions = jnbd("--short-options").out();
        assertTrue(shortOptions.contains("-L\n") && shortOptions.contains("-V\n"), shortOptions);
    }

    @Test
    void optionsAsGetoptReadsThem() throws Exception {
        String uri = memory.unixUri("");
        // A repeated option is no error; the last --can or --cannot names the flag, but any --cannot negates.
        same("--json", "--json", "--size", uri);
        assertEquals(2, same("--cannot", "flush", "--can", "flush", uri).status());
        // --map takes its argument only after '=': here the URI is the server, not the context.
        same("--map", uri);
        same("--map=base:allocation", "--totals", uri);
    }

    @Test
    void usageErrorsExitWithOne() throws Exception {
        String uri = memory.unixUri("");
        for (List<String> args : List.of(List.<String>of(), List.of(uri, uri), List.of("--", "nbdkit", "null"),
                List.of("--bogus", uri), List.of("--can"))) {
            Libnbd122.Result theirs = Oracle.nbdinfo(args.toArray(String[]::new));
            Libnbd122.Result ours = jnbd(args.toArray(String[]::new));
            assertEquals(1, theirs.status(), args::toString);
            assertEquals(1, ours.status(), args::toString);
            assertEquals("", ours.out());
            assertTrue(ours.stderr().startsWith("jnbd info: ") && ours.stderr().contains("--help"), ours.stderr());
        }
        assertEquals("jnbd info: you cannot use --can, --cannot, --list, --map, --size and --uri together.\n",
                same("--size", "--map", uri).stderr());
        same("--list", "--can", "read", uri);
        same("--uri", "--size", uri);
        assertEquals("jnbd info: you cannot use --content and --no-content together.\n",
                same("--content", "--no-content", uri).stderr());
        assertEquals("jnbd info: you must use --totals only with --map option.\n", same("--totals", uri).stderr());
        assertEquals("jnbd info: unknown --can/--is/--has option: bogus\n", same("--can", "bogus", uri).stderr());
        assertEquals("jnbd info: unknown --cannot/--isnt/--hasnt option: bogus\n",
                same("--isnt", "bogus", uri).stderr());
    }

    @Test
    void unreachableServersAndBadUris() throws Exception {
        same("nbd+unix:///?socket=" + dir.resolve("nosuch.sock"));
        same("--json", "nbd://127.0.0.1:" + Servers.freePort() + "/");
        same("--can", "connect", "nbd://127.0.0.1:" + Servers.freePort() + "/");
        same("--size", "foo://bar");
        same("--map", "nbd+unix:///");
        same("not a URI");
        // The stack trace comes only with -v.
        Libnbd122.Result verbose = jnbd("-v", "--size", "foo://bar");
        assertEquals(1, verbose.status());
        assertTrue(verbose.stderr().contains("\tat "), verbose.stderr());
    }

    @Test
    void exportTheServerRefuses() throws Exception {
        try (Servers.Running strict = Oracle.nbdkit(dir, "strict", "--filter=exportname", "memory", "1M",
                "exportname=hello", "exportname-strict=true")) {
            String uri = strict.unixUri("nosuch");
            // The connection's fields are printed before the export fails, as nbdinfo does; status 1.
            Libnbd122.Result r = same(uri);
            assertTrue(r.stderr().endsWith(" for export: nosuch\n"
                    + "jnbd info: suggestion: to list all exports on the server, use --list\n"), r.stderr());
            same("--json", uri);
            same("--size", uri);
            same("--can", "flush", uri);
            same("--map", uri);
            assertEquals(0, same("--can", "connect", uri).status());
            same("--list", uri);
        }
    }

    @Test
    void listOnServersThatCannotList() throws Exception {
        // Oldstyle servers have no option haggling, so no NBD_OPT_LIST: nbdinfo fails, and so does jnbd.
        try (Servers.Running old = Oracle.nbdkit(dir, "old", "--oldstyle", "memory", "1M")) {
            assertEquals(1, same("--list", old.unixUri("")).status());
            assertEquals(1, same("--list", "--json", old.unixUri("")).status());
        }
    }

    @Test
    void nothingIsPrintedOnFailure() throws Exception {
        // info-atomic-output.sh: the export fails to open, and stdout stays empty.
        try (Servers.Running failing = Oracle.nbdkit(dir, "eval", "eval",
                "open=echo EIO fail >&2; exit 1", "get_size=echo 1048576", "pread=exit 1")) {
            Libnbd122.Result r = same("--size", failing.unixUri(""));
            assertEquals(1, r.status());
            assertEquals("", r.out());
        }
    }
}
