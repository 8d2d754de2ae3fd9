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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Option calls made by hand in opt mode, and the small queries that go with them. */
class NegotiationCallsTest {
    static final String BASE = "base:allocation";
    static final int EINVAL = 22;

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

    /** Names a context callback saw, and whether one of them was base:allocation. */
    static final class Seen {
        final List<String> names = new ArrayList<>();

        int add(String name) {
            names.add(name);
            return 0;
        }

        boolean base() {
            return names.contains(BASE);
        }
    }

    private static NbdHandle negotiating(boolean structuredReplies, String... args) {
        NbdHandle h = new NbdHandle();
        h.setOptMode(true);
        h.setRequestStructuredReplies(structuredReplies);
        h.connectCommand(nbdkit(args));
        assertTrue(h.aioIsNegotiating(), h.connectionState());
        return h;
    }

    /**
     * libnbd's opt-abort.c and 210-opt-abort.py; and shutdown-opt-mode.c's
     * negotiating cases: aioDisconnect is refused there, optAbort ends the
     * connection cleanly. shutdown is refused and changes nothing: jnbd
     * follows shared/libnbd-api.tsv (Connected only), where libnbd 1.22 would
     * send NBD_OPT_ABORT.
     */
    @Test
    void optAbortEndsNegotiationWithoutASize() {
        try (NbdHandle h = negotiating(true, "null")) {
            assertEquals("newstyle-fixed", h.getProtocol());
            assertTrue(h.getStructuredRepliesNegotiated());
            assertEquals(EINVAL, assertThrows(NbdException.class, h::aioDisconnect).getErrno());
            h.optAbort();
            assertTrue(h.aioIsClosed(), h.connectionState());
            assertEquals(EINVAL, assertThrows(NbdException.class, h::getSize).getErrno());
        }
        try (NbdHandle h = negotiating(true, "null")) {
            assertEquals(EINVAL, assertThrows(NbdException.class, h::shutdown).getErrno());
            assertTrue(h.aioIsNegotiating(), h.connectionState());
            h.optAbort();
            assertTrue(h.aioIsClosed(), h.connectionState());
        }
    }

    /** libnbd's opt-structured-twice.c: a repeated request may be refused, structured replies stay. */
    @Test
    void optStructuredReplyTwice() {
        try (NbdHandle h = negotiating(false, "memory", "1M")) {
            assertFalse(h.getStructuredRepliesNegotiated());
            assertTrue(h.optStructuredReply());
            assertTrue(h.getStructuredRepliesNegotiated());
            // nbdkit 1.32 accepts the second request, 1.34 and later refuse it: either is fine.
            h.optStructuredReply();
            assertTrue(h.aioIsNegotiating());
            assertTrue(h.getStructuredRepliesNegotiated());
            h.addMetaContext(BASE);
            h.optGo();
            assertTrue(h.canMetaContext(BASE));
            List<String> contexts = new ArrayList<>();
            h.blockStatus(65536, 0, (ctx, off, entries, err) -> {
                contexts.add(ctx);
                return 0;
            });
            assertEquals(List.of(BASE), contexts);
        }
    }

    /** libnbd's opt-list-meta.c and 240-opt-list-meta.py: listing is stateless. */
    @Test
    void optListMetaContextQueriesWithoutChangingState() {
        int max;
        try (NbdHandle h = negotiating(true, "memory", "1M")) {
            Seen all = new Seen();
            int n = h.optListMetaContext(all::add);
            assertEquals(all.names.size(), n);
            assertTrue(n >= 1 && all.base(), all.names.toString());
            max = n;

            h.addMetaContext("x-nosuch:");
            Seen bogus = new Seen();
            assertEquals(0, h.optListMetaContext(bogus::add));
            assertEquals(List.of(), bogus.names);

            h.addMetaContext(BASE);
            assertEquals(2, h.getNrMetaContexts());
            assertEquals(BASE, h.getMetaContext(1));
            Seen one = new Seen();
            assertEquals(1, h.optListMetaContext(one::add));
            assertEquals(List.of(BASE), one.names);

            // Listing learns nothing about the export, and forgets nothing optInfo learnt.
            assertThrows(NbdException.class, h::getSize);
            assertThrows(NbdException.class, () -> h.canMetaContext(BASE));
            h.optInfo();
            assertEquals(1 << 20, h.getSize());
            assertTrue(h.canMetaContext(BASE));
            h.clearMetaContexts();
            h.addMetaContext("x-nosuch:");
            assertEquals(0, h.optListMetaContext(new Seen()::add));
            assertEquals(1 << 20, h.getSize());
            assertTrue(h.canMetaContext(BASE));

            h.addMetaContext("base:");
            Seen prefix = new Seen();
            int p = h.optListMetaContext(prefix::add);
            assertTrue(p >= 1 && p <= max && p == prefix.names.size() && prefix.base(), prefix.names.toString());
            h.optAbort();
        }
        // Without structured replies a server may refuse to list; after optStructuredReply it must not.
        try (NbdHandle h = negotiating(false, "memory", "1M")) {
            long sent = h.statsBytesSent();
            Seen early = new Seen();
            try {
                int n = h.optListMetaContext(early::add);
                assertEquals(early.names.size(), n);
                assertTrue(n >= 1 && early.base(), early.names.toString());
            } catch (NbdException refused) {
                assertTrue(h.statsBytesSent() > sent, "the server refused, not jnbd: " + refused.getMessage());
            }
            assertTrue(h.optStructuredReply());
            Seen later = new Seen();
            int n = h.optListMetaContext(later::add);
            assertEquals(later.names.size(), n);
            assertTrue(n >= 1 && later.base(), later.names.toString());
            h.optAbort();
        }
    }

    /** libnbd's opt-set-meta.c and 250-opt-set-meta.py. */
    @Test
    void optSetMetaContextNeedsStructuredRepliesAndSelectsExactNames() {
        try (NbdHandle h = negotiating(false, "memory", "1M")) {
            assertFalse(h.getStructuredRepliesNegotiated());
            assertFalse(h.canMetaContext(BASE), "nothing requested: false rather than an error");
            h.addMetaContext(BASE);
            assertEquals(EINVAL, assertThrows(NbdException.class, () -> h.canMetaContext(BASE)).getErrno());

            Seen none = new Seen();
            assertThrows(NbdException.class, () -> h.optSetMetaContext(none::add), "needs structured replies");
            assertEquals(List.of(), none.names);
            assertTrue(h.optStructuredReply());
            assertThrows(NbdException.class, () -> h.canMetaContext(BASE));

            // nbdkit matches a prefix when listing but not when setting.
            h.clearMetaContexts();
            h.addMetaContext("base:");
            Seen wildcard = new Seen();
            assertEquals(0, h.optSetMetaContext(wildcard::add));
            assertEquals(List.of(), wildcard.names);
            assertFalse(h.canMetaContext(BASE));

            // Setting no contexts is no error and selects none.
            h.clearMetaContexts();
            assertEquals(0, h.optSetMetaContext(new Seen()::add));
            assertFalse(h.canMetaContext(BASE));

            h.addMetaContext("x-nosuch:context");
            h.addMetaContext(BASE);
            h.setRequestMetaContext(false);
            Seen one = new Seen();
            assertEquals(1, h.optSetMetaContext(one::add));
            assertEquals(List.of(BASE), one.names);
            assertTrue(h.canMetaContext(BASE));

            // What was set by hand survives optGo, which sends no request of its own now.
            h.clearMetaContexts();
            h.addMetaContext("x-nosuch:context");
            h.optGo();
            assertTrue(h.canMetaContext(BASE));
            Seen late = new Seen();
            assertThrows(NbdException.class, () -> h.optSetMetaContext(late::add));
            assertEquals(List.of(), late.names);
            assertTrue(h.canMetaContext(BASE));
            h.shutdown();
        }
        // A server without structured replies refuses the request itself.
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.addMetaContext(BASE);
            h.connectCommand(nbdkit("--no-sr", "memory", "1M"));
            assertFalse(h.getStructuredRepliesNegotiated());
            Seen refused = new Seen();
            assertThrows(NbdException.class, () -> h.optSetMetaContext(refused::add));
            assertEquals(List.of(), refused.names);
            assertThrows(NbdException.class, () -> h.canMetaContext(BASE));
            h.optGo();
            assertFalse(h.canMetaContext(BASE), "after optGo a failed request means no contexts");
            h.shutdown();
        }
    }

    /**
     * libnbd's opt-list-meta-queries.c and opt-set-meta-queries.c (and 245,
     * 255 in python/t): an explicit list, even an empty one, overrides the
     * handle's; a null list is refused (C: EFAULT).
     */
    @Test
    void explicitQueryListsOverrideTheHandlesList() {
        try (NbdHandle h = negotiating(true, "memory", "1M")) {
            Seen nothing = new Seen();
            assertThrows(NullPointerException.class, () -> h.optListMetaContextQueries(null, nothing::add));
            assertThrows(NullPointerException.class, () -> h.optSetMetaContextQueries(null, nothing::add));
            assertEquals(List.of(), nothing.names);

            h.addMetaContext("x-nosuch:");
            Seen all = new Seen();
            int n = h.optListMetaContextQueries(List.of(), all::add);
            assertTrue(n >= 1 && n == all.names.size() && all.base(), all.names.toString());
            h.clearMetaContexts();
            assertEquals(0, h.optListMetaContextQueries(List.of("x-nosuch:"), new Seen()::add));
            Seen pair = new Seen();
            assertEquals(1, h.optListMetaContextQueries(List.of("x-nosuch:", BASE), pair::add));
            assertEquals(List.of(BASE), pair.names);

            Seen wildcard = new Seen();
            assertEquals(0, h.optSetMetaContextQueries(List.of("base:"), wildcard::add));
            assertEquals(List.of(), wildcard.names);
            assertFalse(h.canMetaContext(BASE));
            h.addMetaContext(BASE);
            assertEquals(0, h.optSetMetaContextQueries(List.of(), new Seen()::add));
            assertFalse(h.canMetaContext(BASE));
            Seen set = new Seen();
            assertEquals(1, h.optSetMetaContextQueries(List.of("x-nosuch:context", BASE), set::add));
            assertEquals(List.of(BASE), set.names);
            assertTrue(h.canMetaContext(BASE));
            h.setRequestMetaContext(false);
            h.optGo();
            assertTrue(h.canMetaContext(BASE));
            h.shutdown();
        }
    }

    /** The export of libnbd's opt-info.sh: "" (0 bytes) and "good" (4) read-only, "b" (1) writable, no "a". */
    private static Path optInfoScript(Path dir) throws Exception {
        Path script = dir.resolve("opt-info.sh");
        Files.writeString(script, """
                #!/bin/sh
                case "$1" in
                    open)
                        if test "$3" = a; then echo ENOENT export not available >&2; exit 1; fi
                        echo "$3" ;;
                    get_size) printf %s "$2" | wc -c ;;
                    can_write) if test "$2" != b; then exit 3; fi ;;
                    pread) printf %s "$2" | dd bs=1 count=$3 skip=$4 2>/dev/null ;;
                    pwrite) dd of=/dev/null 2>/dev/null ;;
                    *) exit 2 ;;
                esac
                """);
        script.toFile().setExecutable(true);
        return script;
    }

    /** libnbd's opt-info.c and 230-opt-info.py. */
    @Test
    void optInfoPerExportAndWhatANameChangeForgets() throws Exception {
        Path dir = Servers.tempDir();
        try {
            Path script = optInfoScript(dir);
            try (NbdHandle h = new NbdHandle()) {
                h.setOptMode(true);
                h.connectCommand(nbdkit("sh", script.toString()));
                h.addMetaContext(BASE);
                assertThrows(NbdException.class, h::getSize);
                assertThrows(NbdException.class, h::isReadOnly);
                assertThrows(NbdException.class, () -> h.canMetaContext(BASE));

                h.optInfo();
                assertEquals(0, h.getSize());
                assertTrue(h.isReadOnly());
                assertTrue(h.canMetaContext(BASE));

                h.setExportName("b");
                assertThrows(NbdException.class, h::getSize);
                assertThrows(NbdException.class, h::isReadOnly);
                assertThrows(NbdException.class, () -> h.canMetaContext(BASE));

                h.setExportName("a");
                assertThrows(NbdException.class, h::optInfo);

                h.setExportName("b");
                h.setRequestMetaContext(false);
                h.optInfo();
                h.setExportName("b");
                assertEquals(1, h.getSize(), "setting the same name again forgets nothing");
                assertFalse(h.isReadOnly());
                assertThrows(NbdException.class, () -> h.canMetaContext(BASE));
                h.setRequestMetaContext(true);

                h.setExportName("a");
                assertThrows(NbdException.class, h::optGo);
                assertTrue(h.aioIsNegotiating());
                assertThrows(NbdException.class, h::getSize);
                assertThrows(NbdException.class, h::isReadOnly);

                h.setExportName("good");
                h.optGo();
                assertEquals(4, h.getSize());
                assertTrue(h.isReadOnly());
                assertTrue(h.canMetaContext(BASE));
                byte[] back = new byte[4];
                h.pread(back, 0);
                assertArrayEquals("good".getBytes(), back);

                // Too late to change the export: what was learnt stays.
                assertThrows(NbdException.class, () -> h.setExportName("a"));
                assertEquals("good", h.getExportName());
                assertThrows(NbdException.class, h::optInfo);
                assertEquals(4, h.getSize());
                assertTrue(h.canMetaContext(BASE));
                h.shutdown();
            }
            // Contexts set by optInfo persist through optGo when optGo requests none.
            try (NbdHandle h = new NbdHandle()) {
                h.setOptMode(true);
                h.connectCommand(nbdkit("sh", script.toString()));
                h.addMetaContext("x-unexpected:bogus");
                assertThrows(NbdException.class, () -> h.canMetaContext(BASE));
                h.optInfo();
                assertFalse(h.canMetaContext(BASE));
                h.setRequestMetaContext(false);
                h.addMetaContext(BASE);
                h.optGo();
                assertFalse(h.canMetaContext(BASE));
                h.shutdown();
            }
        } finally {
            MoreServers.deleteTree(dir);
        }
    }

    /**
     * libnbd's eflags.c programs (each flag both ways), get-size.c (an odd
     * size) and read-only-flag.c, against nbdkit's sh plugin as eflags-plugin.sh.
     */
    @Test
    void exportFlagsFollowTheServerBothWays() {
        Map<String, Predicate<NbdHandle>> flags = new LinkedHashMap<>();
        flags.put("can_flush", NbdHandle::canFlush);
        flags.put("can_fua", NbdHandle::canFua);
        flags.put("is_rotational", NbdHandle::isRotational);
        flags.put("can_trim", NbdHandle::canTrim);
        flags.put("can_zero", NbdHandle::canZero);
        flags.put("can_fast_zero", NbdHandle::canFastZero);
        flags.put("can_df", NbdHandle::canDf);
        flags.put("can_multi_conn", NbdHandle::canMultiConn);
        flags.put("can_cache", NbdHandle::canCache);
        for (var flag : flags.entrySet()) {
            for (boolean value : new boolean[]{true, false}) {
                String key = flag.getKey();
                List<String> args = new ArrayList<>();
                // As eflags-plugin.sh: writable, and zero on, so that the other flags are asked about.
                List<String> methods = new ArrayList<>(List.of("get_size=echo 123456789",
                        "pread=dd if=/dev/zero count=$3 iflag=count_bytes 2>/dev/null", "can_write=exit 0"));
                switch (key) {
                    // nbdkit advertises zero even when the plugin cannot (it emulates it): a filter hides it.
                    case "can_zero" -> {
                        if (!value) {
                            args.add("--filter=nozero");
                        }
                    }
                    // DF comes with structured replies; the client declines them for "false".
                    case "can_df" -> {
                    }
                    case "can_fua", "can_cache" -> methods.add(key + "=echo " + (value ? "native" : "none"));
                    default -> methods.add(key + "=exit " + (value ? 0 : 3));
                }
                if (!key.equals("can_zero")) {
                    methods.add("can_zero=exit 0");
                }
                args.add("eval");
                args.addAll(methods);
                try (NbdHandle h = new NbdHandle()) {
                    h.setRequestStructuredReplies(!key.equals("can_df") || value);
                    h.connectCommand(nbdkit(args.toArray(String[]::new)));
                    assertEquals(value, flag.getValue().test(h), key + " " + value);
                    assertEquals(123456789, h.getSize());
                    assertFalse(h.isReadOnly());
                    h.shutdown();
                }
            }
        }
        try (NbdHandle h = new NbdHandle()) {
            h.connectCommand(nbdkit("-r", "memory", "1M"));
            assertTrue(h.isReadOnly());
        }
    }
}
