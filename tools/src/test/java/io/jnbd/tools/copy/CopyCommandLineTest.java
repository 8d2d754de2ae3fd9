package io.jnbd.tools.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Options and usage errors, as libnbd's test-long-options, test-short-options and test-version check them. */
class CopyCommandLineTest {

    @Test
    void longOptionsListsEveryLongOption() {
        Libnbd122.Result r = Jnbd.run("copy", "--long-options");
        assertEquals(0, r.status());
        List<String> lines = r.out().lines().toList();
        for (String o : List.of("--help", "--allocated", "--connections", "--destination-is-zero", "--flush",
                "--no-extents", "--progress", "--queue-size", "--request-size", "--requests", "--sparse",
                "--synchronous", "--target-is-zero", "--threads", "--verbose", "--version")) {
            assertTrue(lines.contains(o), () -> o + " missing from " + lines);
        }
        assertTrue(lines.stream().allMatch(l -> l.startsWith("--")), r.out());
    }

    @Test
    void shortOptionsListsEveryShortOption() {
        Libnbd122.Result r = Jnbd.run("copy", "--short-options");
        assertEquals(0, r.status());
        List<String> lines = r.out().lines().toList();
        for (String o : List.of("-C", "-p", "-R", "-S", "-T", "-v", "-V")) {
            assertTrue(lines.contains(o), () -> o + " missing from " + lines);
        }
    }

    @Test
    void versionNamesToolAndLibnbdApi() {
        Libnbd122.Result r = Jnbd.run("copy", "--version");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("jnbd copy "), r.out());
        assertTrue(r.out().contains("libnbd API 1.22"), r.out());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--request-size=1000 | --request-size: must be a power of 2 within 4096-33554432: 1000",
        "--request-size=64M | --request-size: must be a power of 2 within 4096-33554432: 64M",
        "--request-size=5X | --request-size: could not parse size: unknown suffix: X",
        "--sparse=100 | --sparse: must be a power of 2, between 512-4294967295: 100",
        "--connections=0 | --connections: could not parse: 0",
        "--requests=many | --requests: could not parse: many",
        "--threads=-1 | --threads: could not parse: -1",
        "--queue-size=8G | --queue-size is too large: 8G",
        "--progress=x | --progress: could not parse: x",
    })
    void badOptionValuesExitWithOne(String option, String message) {
        Libnbd122.Result r = Jnbd.run("copy", option, "/dev/null", "null:");
        assertEquals(1, r.status());
        assertEquals("jnbd copy: " + message + "\n", r.stderr());
    }

    @Test
    void sourceAndDestinationAreRequiredAndAlone() {
        assertEquals(1, Jnbd.run("copy", "/dev/null").status());
        Libnbd122.Result r = Jnbd.run("copy", "/dev/null", "null:", "extra");
        assertEquals(1, r.status());
        assertTrue(r.stderr().startsWith("jnbd copy: too many parameters"), r.stderr());
        assertEquals(1, Jnbd.run("copy", "--", "[", "nbdkit", "null:").status());
    }

    @Test
    void missingSourceFileIsNamed() {
        Libnbd122.Result r = Jnbd.run("copy", "/nonexistent/jnbd-copy", "null:");
        assertEquals(1, r.status());
        assertEquals("jnbd copy: /nonexistent/jnbd-copy: No such file or directory\n", r.stderr());
    }

    @Test
    void sizesReadAndPrintLikeLibnbd() {
        assertEquals(256 << 10, Sizes.parse("256K"));
        assertEquals(32L << 20, Sizes.parse("32m"));
        assertEquals(1024, Sizes.parse("2s"));
        assertEquals(7L << 60, Sizes.parse("7E"));
        assertEquals(100, Sizes.parse("100b"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("8E"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("1MiB"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("-1"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse(""));
        assertEquals("1M", Sizes.human(1 << 20));
        assertEquals("1000", Sizes.human(1000));
        assertEquals("3K", Sizes.human(3072));
        assertEquals("0", Sizes.human(0));
    }
}
