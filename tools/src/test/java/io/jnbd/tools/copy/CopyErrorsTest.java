package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.tools.testing.Libnbd122;
import org.junit.jupiter.api.Test;

/**
 * Failures are never silent (CVE-2022-0485 was nbdcopy ignoring them): each
 * case of libnbd's copy-nbd-error test, with nbdkit's error filter making
 * reads, writes, zeroing or block status fail.
 */
class CopyErrorsTest extends CopyFixture {

    private static void failsWith(String message, Libnbd122.Result r) {
        assertEquals(1, r.status(), r::stderr);
        assertTrue(r.stderr().lines().anyMatch(l -> l.matches(message)), () -> message + " not in " + r.stderr());
    }

    @Test
    void failedReadsFailTheCopy() {
        failsWith("jnbd copy: read at offset \\d+ failed: Input/output error",
                copy("--", nbdkit("--filter=error", "pattern", "5M", "error-pread-rate=0.5"), "null:"));
        failsWith("jnbd copy: read at offset \\d+ failed: Input/output error",
                copy("--", nbdkit("--filter=error", "pattern", "5M", "error-pread-rate=1"), "null:"));
    }

    @Test
    void failedReadInSynchronousModeFailsTheCopy() {
        failsWith("jnbd copy: .*nbdkit: pread: .*Input/output error", copy("--synchronous", "--",
                nbdkit("--filter=error", "pattern", "5M", "error-pread-rate=1"), "null:"));
    }

    @Test
    void sparseSourceNeedsNoReads() {
        succeeded(copy("--", nbdkit("--filter=error", "null", "5M", "error-pread-rate=1"), "null:"));
    }

    @Test
    void serverRefusingMetaContextsIsReadInFull() throws Exception {
        // --no-meta-contexts is newer than the host's nbdkit: the chroot's 1.42 runs as the subprocess.
        Libnbd122.require();
        succeeded(copy("--", "[", "chroot", Libnbd122.ROOT.toString(), "nbdkit", "--exit-with-parent",
                "--no-meta-contexts", "pattern", "5M", "]", "null:"));
    }

    @Test
    void sourceWithoutBlockStatusIsReadInFull() {
        // The pattern plugin has no extents, so nbdkit answers block status for it without the filter.
        succeeded(copy("--", nbdkit("--filter=error", "pattern", "5M", "error-extents-rate=1"), "null:"));
    }

    @Test
    void failedBlockStatusFailsTheCopy() {
        failsWith("jnbd copy: .*blockStatus64: .*Input/output error",
                copy("--", nbdkit("--filter=error", "memory", "5M", "error-extents-rate=1"), "null:"));
    }

    @Test
    void failedWritesFailTheCopy() {
        failsWith("jnbd copy: write at offset \\d+ failed: Input/output error", copy("--", nbdkit("pattern", "5M"),
                nbdkit("--filter=error", "--filter=noextents", "memory", "5M", "error-pwrite-rate=0.5")));
    }

    @Test
    void zeroingNeedsNoWrites() {
        succeeded(copy("--", nbdkit("null", "5M"),
                nbdkit("--filter=error", "--filter=noextents", "memory", "5M", "error-pwrite-rate=1")));
    }

    @Test
    void failedZeroingFailsTheCopy() {
        failsWith("jnbd copy: write at offset \\d+ failed: Input/output error",
                copy("--", nbdkit("null", "5M"), nbdkit("--filter=error", "memory", "5M", "error-zero-rate=1")));
    }

    @Test
    void zeroDestinationNeedsNeitherWritesNorZeroing() {
        succeeded(copy("--destination-is-zero", "--", nbdkit("null", "5M"),
                nbdkit("--filter=error", "memory", "5M", "error-pwrite-rate=1", "error-zero-rate=1")));
    }

    @Test
    void destinationWithoutZeroGetsZeroesWritten() {
        succeeded(copy("--", nbdkit("null", "5M"),
                nbdkit("--filter=nozero", "--filter=error", "memory", "5M", "error-zero-rate=1")));
    }

    @Test
    void failedZeroesWrittenByHandFailTheCopy() {
        Libnbd122.Result r = copy("--", nbdkit("null", "5M"),
                nbdkit("--filter=nozero", "--filter=error", "memory", "5M", "error-pwrite-rate=1"));
        failsWith("jnbd copy: .*nbdkit: pwrite: .*Input/output error", r);
    }

    @Test
    void failingServerCommandIsNamed() {
        failsWith("jnbd copy: .*nbdkit: connectSystemdSocketActivation: .*",
                copy("--", nbdkit("no-such-plugin-for-jnbd"), "null:"));
    }

    @Test
    void unreachableUriIsNamed() {
        failsWith("jnbd copy: nbd\\+unix:///\\?socket=/nonexistent/sock: connectUri: .*",
                copy("nbd+unix:///?socket=/nonexistent/sock", "null:"));
    }

    @Test
    void failedFileWriteFailsTheCopy() {
        // /dev/full: every write fails with ENOSPC.
        failsWith("jnbd copy: /dev/full: No space left on device",
                copy("--", nbdkit("pattern", "1M"), "/dev/full"));
    }
}
