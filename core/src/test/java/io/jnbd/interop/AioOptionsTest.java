package io.jnbd.interop;

import io.jnbd.AioDirection;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The aio forms of opt mode, poll2, and the descriptor calls' Java meaning. */
class AioOptionsTest {

    private static NbdHandle negotiating(String... pluginArgs) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(pluginArgs));
        NbdHandle h = new NbdHandle();
        h.setOptMode(true);
        h.connectCommand(cmd);
        assertTrue(h.aioIsNegotiating());
        return h;
    }

    /** Polls until the handle leaves the connecting state an aio option put it in. */
    private static void settle(NbdHandle h) {
        while (h.aioIsConnecting()) {
            h.poll(-1);
        }
    }

    @Test
    void listThenInfoThenGo() throws Exception {
        Path dir = Servers.tempDir();
        Files.write(dir.resolve("a"), new byte[4096]);
        Files.write(dir.resolve("b"), new byte[8192]);
        try (NbdHandle h = negotiating("file", "dir=" + dir)) {
            List<String> names = new ArrayList<>();
            AtomicInteger listErr = new AtomicInteger(-1);
            h.aioOptList((name, description) -> {
                names.add(name);
                return 0;
            }, err -> {
                listErr.set(err.get());
                return 1;
            });
            settle(h);
            assertTrue(h.aioIsNegotiating());
            assertEquals(0, listErr.get());
            assertEquals(List.of("a", "b"), names.stream().sorted().toList());

            AtomicInteger infoErr = new AtomicInteger(-1);
            h.setExportName("missing");
            h.aioOptInfo(err -> {
                infoErr.set(err.get());
                return 1;
            });
            settle(h);
            assertEquals(2, infoErr.get(), "ENOENT for an export the server lacks");
            assertTrue(h.aioIsNegotiating(), "a refused option leaves the handle negotiating");

            h.setExportName("b");
            h.aioOptGo();
            settle(h);
            assertTrue(h.aioIsReady());
            assertEquals(8192, h.getSize());
        }
    }

    @Test
    void structuredReplyMetaContextsAndAbort() {
        try (NbdHandle h = new NbdHandle()) {
            h.setOptMode(true);
            h.setRequestStructuredReplies(false);
            h.setRequestExtendedHeaders(false);
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            AtomicInteger srErr = new AtomicInteger(-1);
            h.aioOptStructuredReply(err -> {
                srErr.set(err.get());
                return 1;
            });
            settle(h);
            assertEquals(0, srErr.get());
            assertTrue(h.getStructuredRepliesNegotiated());

            List<String> contexts = new ArrayList<>();
            assertEquals(0, h.aioOptListMetaContextQueries(List.of("base:"), name -> {
                contexts.add(name);
                return 0;
            }));
            settle(h);
            assertEquals(List.of("base:allocation"), contexts);

            h.aioOptAbort();
            while (!h.aioIsClosed()) {
                h.poll(1000);
            }
            assertEquals(22, assertThrows(NbdException.class, () -> h.optList((n, d) -> 0)).getErrno());
        }
    }

    @Test
    void poll2WakesWhenTheExtraChannelIsReadable() throws Exception {
        try (NbdHandle h = negotiating("memory", "1M")) {
            h.poll(0);
            Pipe pipe = Pipe.open();
            try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink()) {
                assertEquals(0, h.poll2(source, 50), "no progress, nothing to read");
                Thread.ofVirtual().start(() -> {
                    try {
                        Thread.sleep(50);
                        sink.write(ByteBuffer.wrap(new byte[]{1}));
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                assertEquals(1, h.poll2(source, 5000));
                assertTrue(source.isBlocking(), "the channel's blocking mode is restored");
            }
        }
    }

    @Test
    void descriptorCallsHaveAJavaMeaning() {
        try (NbdHandle h = new NbdHandle()) {
            assertEquals(0, h.aioGetDirection());
            h.aioNotifyRead();
            h.aioNotifyWrite();
            assertEquals(95, assertThrows(NbdException.class, h::aioGetFd).getErrno());
            h.connectCommand(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent", "memory", "1M"));
            assertEquals(AioDirection.READ, h.aioGetDirection());
            h.aioNotifyRead();
            h.pread(new byte[512], 0);
        }
    }

    /** libnbd's errors-poll-no-fd.c: before any connect there is nothing to poll. */
    @Test
    void pollFailsBeforeAnyConnect() {
        try (NbdHandle h = new NbdHandle()) {
            NbdException fd = assertThrows(NbdException.class, h::aioGetFd);
            assertTrue(fd.getMessage().startsWith("aioGetFd: "), fd.getMessage());
            NbdException poll = assertThrows(NbdException.class, () -> h.poll(1000));
            assertEquals(22, poll.getErrno());
            assertEquals("poll: nothing to poll for in state START", poll.getMessage());
            assertTrue(h.aioIsCreated());
        }
    }
}
