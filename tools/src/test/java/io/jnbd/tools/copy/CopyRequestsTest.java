package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Exactly which requests reach the destination, logged by nbdkit's eval
 * plugin: libnbd's copy-sparse, copy-sparse-allocated, copy-sparse-no-extents,
 * copy-sparse-request-size and copy-sparse-to-stream tests, whose expected
 * logs these are.
 */
class CopyRequestsTest extends CopyFixture {
    /** One byte at 0, 1G-1, 4G-1 and 4G: data in four 32 KiB blocks of a 4G+1 export. */
    private static final String SPARSE_DATA = "data=1 @1073741823 1 @4294967295 1 @4294967296 1";
    private static final long K32 = 32768;
    private static final long M128 = 128L << 20;

    /** An export of {@code size} that logs each pwrite, trim and zero as "NAME COUNT OFFSET [FLAGS]" into {@code log}. */
    private static List<String> loggingDestination(String size, Path log) {
        return nbdkit("eval", "get_size= echo " + size + " ",
                "pwrite= cat >/dev/null; echo $@ >> " + log + " ",
                "trim= echo $@ >> " + log + " ",
                "zero= echo $@ >> " + log + " ");
    }

    /** The log, ordered by name, count, offset (requests are sent in parallel, so in no fixed order). */
    private static List<String> requests(Path log) throws Exception {
        return sorted(Files.readAllLines(log).stream());
    }

    private static List<String> sorted(Stream<String> lines) {
        return lines.map(String::strip).sorted(Comparator.<String, String>comparing(l -> l.split(" ")[0])
                .thenComparingLong(l -> Long.parseLong(l.split(" ")[1]))
                .thenComparingLong(l -> Long.parseLong(l.split(" ")[2]))).toList();
    }

    /** The zeroing nbdcopy does for SPARSE_DATA with 32 KiB requests: whole work ranges, and the gaps around the data. */
    private static List<String> sparseZeroes(String flags) {
        List<String> z = new ArrayList<>();
        z.add("zero " + (M128 - K32) + " " + K32 + flags);
        z.add("zero " + (M128 - K32) + " " + (7 * M128) + flags);
        z.add("zero " + (M128 - K32) + " " + (31 * M128) + flags);
        LongStream.range(1, 31).filter(i -> i != 7).forEach(i -> z.add("zero " + M128 + " " + i * M128 + flags));
        return z;
    }

    private static List<String> sparseWrites() {
        return List.of("pwrite 1 4294967296", "pwrite 32768 0", "pwrite 32768 1073709056", "pwrite 32768 4294934528");
    }

    @Test
    void holesBecomeZeroRequestsThatMayTrim() throws Exception {
        Path log = dir.resolve("log");
        succeeded(copy("-S", "0", "--request-size=32768", "--", nbdkit("data", SPARSE_DATA),
                loggingDestination("7E", log)));
        List<String> expected = new ArrayList<>(sparseWrites());
        expected.addAll(sparseZeroes(" may_trim"));
        assertEquals(sorted(expected.stream()), requests(log));
    }

    @Test
    void allocatedZeroesWithoutTrim() throws Exception {
        Path log = dir.resolve("log");
        succeeded(copy("--allocated", "--request-size=32K", "--", nbdkit("data", SPARSE_DATA),
                loggingDestination("7E", log)));
        List<String> expected = new ArrayList<>(sparseWrites());
        expected.addAll(sparseZeroes(""));
        assertEquals(sorted(expected.stream()), requests(log));
    }

    /** With --no-extents -S 0, every request is read and written whole: 32 writes of {@code each} bytes. */
    private void writesEverything(long each, String data, String size) throws Exception {
        Path log = dir.resolve("log");
        succeeded(copy("--request-size=" + each, "--no-extents", "-S", "0", "--", nbdkit("data", data),
                loggingDestination(size, log)));
        assertEquals(LongStream.range(0, 32).mapToObj(i -> "pwrite " + each + " " + i * each).toList(), requests(log));
    }

    @Test
    void noExtentsReadsAndWritesEverything() throws Exception {
        writesEverything(32L << 20, "data=1 @1073741823 1", "7E");
    }

    @Test
    void requestSizeSplitsWrites() throws Exception {
        writesEverything(1 << 20, "data=1 @33554431 1", "33554432");
    }

    @Test
    void zeroDetectionInDataMakesZeroRequests() throws Exception {
        Path log = dir.resolve("log");
        // Without extents, only -S finds the zeroes: 4 KiB blocks, merged, zeroed.
        succeeded(copy("--no-extents", "--request-size=1M", "--", nbdkit("data", "data=1 @1048575 1", "size=2M"),
                loggingDestination("2097152", log)));
        assertEquals(List.of("pwrite 4096 0", "pwrite 4096 1044480", "zero 1040384 4096 may_trim",
                "zero 1048576 1048576 may_trim"), requests(log));
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void sparseSourceToStreamReadsOnlyData() {
        // 512 kbit/s: reading the 1 GiB hole would take hours; its two 32 KiB data blocks take a second.
        // /dev/null is a character device, so a stream, copied in order as the zeroes are written.
        succeeded(copy("--", nbdkit("data", "data= 1 @1073741823 1 ", "--filter=rate", "rate=512K"), "/dev/null"));
    }
}
