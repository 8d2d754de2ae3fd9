package io.jnbd.interop;

import io.jnbd.BlockSize;
import io.jnbd.CmdFlag;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.Strict;
import io.jnbd.testing.Servers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * nbdkit filters that take features away or inject failures: what the client
 * is told, what strict mode refuses locally, and what the server answers when
 * strict mode lets the request through. Each test runs its own nbdkit -s.
 */
class NbdkitFiltersTest {
    static final int EPERM = 1;
    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;

    static List<String> nbdkit(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Servers.require("nbdkit"), "-s", "--exit-with-parent"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static NbdHandle connect(String... args) {
        NbdHandle h = new NbdHandle();
        h.connectCommand(nbdkit(args));
        return h;
    }

    /** {@code theirs} is the server's answer, not a repeat of jnbd's own refusal {@code mine}. */
    static void assertFromServer(NbdException mine, NbdException theirs) {
        assertFalse(theirs.getMessage().startsWith(mine.getMessage()), theirs.getMessage());
    }

    @Test
    void readOnlyServerRefusesWrites() {
        // nbdkit 1.32 has no readonly filter (it came in 1.36); -r makes the whole server read-only.
        try (NbdHandle h = connect("-r", "memory", "1M")) {
            assertTrue(h.isReadOnly());
            byte[] one = {1};
            NbdException mine = assertThrows(NbdException.class, () -> h.pwrite(one, 0));
            assertEquals(EPERM, mine.getErrno());
            assertTrue(mine.getMessage().startsWith("pwrite: server does not support write operations"),
                    mine.getMessage());

            h.setStrictMode(0);
            NbdException theirs = assertThrows(NbdException.class, () -> h.pwrite(one, 0));
            assertEquals(EPERM, theirs.getErrno(), theirs.getMessage());
            assertFromServer(mine, theirs);
            assertTrue(h.aioIsReady());
            byte[] back = new byte[1];
            h.pread(back, 0);
            assertEquals(0, back[0], "the refused write changed nothing");
        }
    }

    @Test
    void nozeroHidesWriteZeroes() {
        try (NbdHandle h = connect("--filter=nozero", "memory", "1M")) {
            assertFalse(h.canZero());
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 7);
            h.pwrite(data, 0);
            NbdException mine = assertThrows(NbdException.class, () -> h.zero(4096, 0));
            assertEquals(EINVAL, mine.getErrno());
            assertTrue(mine.getMessage().startsWith("zero: server does not support zero operations"),
                    mine.getMessage());

            h.setStrictMode(h.getStrictMode() & ~Strict.COMMANDS);
            NbdException theirs = assertThrows(NbdException.class, () -> h.zero(4096, 0));
            assertEquals(EINVAL, theirs.getErrno(), theirs.getMessage());
            assertFromServer(mine, theirs);
            assertTrue(h.aioIsReady());
            byte[] back = new byte[4096];
            h.pread(back, 0);
            assertArrayEquals(data, back, "the refused zero changed nothing");
        }
    }

    /*
     * nbdkit 1.32's blocksize filter fixes up alignment itself and advertises a minimum
     * of 1, so the minimum the client must honour comes from the blocksize-policy filter.
     */
    @Test
    void minimumBlockSizeIsEnforcedLocallyUnlessAlignIsCleared() {
        try (NbdHandle h = connect("--filter=blocksize-policy", "memory", "1M", "blocksize-minimum=4096",
                "blocksize-error-policy=error")) {
            assertEquals(4096, h.getBlockSize(BlockSize.MINIMUM));
            NbdException mine = assertThrows(NbdException.class, () -> h.pread(new byte[100], 10));
            assertEquals(EINVAL, mine.getErrno());
            assertTrue(mine.getMessage().startsWith("pread: request is unaligned"), mine.getMessage());
            h.pread(new byte[4096], 4096);

            h.setStrictMode(h.getStrictMode() & ~Strict.ALIGN);
            // This server rejects unaligned requests itself: the error proves the request went out.
            NbdException theirs = assertThrows(NbdException.class, () -> h.pread(new byte[100], 10));
            assertEquals(EINVAL, theirs.getErrno(), theirs.getMessage());
            assertFromServer(mine, theirs);
            assertTrue(h.aioIsReady());
        }
    }

    @Test
    void unalignedRequestsGoOutAndWorkWhereTheServerAllowsThem() {
        try (NbdHandle h = connect("--filter=blocksize-policy", "memory", "1M", "blocksize-minimum=4096")) {
            assertEquals(4096, h.getBlockSize(BlockSize.MINIMUM));
            h.setStrictMode(h.getStrictMode() & ~Strict.ALIGN);
            byte[] data = "not aligned at all".getBytes(StandardCharsets.US_ASCII);
            h.pwrite(data, 10);
            byte[] back = new byte[data.length];
            h.pread(back, 10);
            assertArrayEquals(data, back);
        }
    }

    @ParameterizedTest(name = "structured replies {0}")
    @ValueSource(booleans = {true, false})
    void injectedErrorsCarryTheirErrnoAndLeaveTheHandleReady(boolean structured) {
        try (NbdHandle h = new NbdHandle()) {
            h.setRequestStructuredReplies(structured);
            h.connectCommand(nbdkit("--filter=error", "memory", "1M", "error-pread=EIO", "error-pread-rate=100%",
                    "error-pwrite=ENOSPC", "error-pwrite-rate=100%"));
            assertEquals(structured, h.getStructuredRepliesNegotiated());
            for (int i = 0; i < 3; i++) {
                NbdException e = assertThrows(NbdException.class, () -> h.pread(new byte[4096], 0));
                assertEquals(EIO, e.getErrno(), e.getMessage());
                assertTrue(h.aioIsReady());
            }
            NbdException w = assertThrows(NbdException.class, () -> h.pwrite(new byte[4096], 0));
            assertEquals(ENOSPC, w.getErrno(), w.getMessage());
            assertTrue(h.aioIsReady());
            // Commands the filter leaves alone still work.
            h.flush();
            h.zero(4096, 0);
        }
    }

    @Test
    void fuaOnAServerWithoutFua() {
        // fuamode=none is the default; nbdkit 1.32 rejects the word itself, so it is left out.
        try (NbdHandle h = connect("--filter=fua", "memory", "1M")) {
            assertFalse(h.canFua());
            byte[] data = {1, 2, 3};
            NbdException mine = assertThrows(NbdException.class, () -> h.pwrite(data, 0, CmdFlag.FUA));
            assertEquals(EINVAL, mine.getErrno());
            assertTrue(mine.getMessage().startsWith("pwrite: server does not support the FUA flag"),
                    mine.getMessage());
            h.pwrite(data, 0);

            h.setStrictMode(h.getStrictMode() & ~Strict.COMMANDS);
            NbdException theirs = assertThrows(NbdException.class, () -> h.pwrite(data, 0, CmdFlag.FUA));
            assertEquals(EINVAL, theirs.getErrno(), theirs.getMessage());
            assertFromServer(mine, theirs);
            assertTrue(h.aioIsReady());
        }
    }
}
