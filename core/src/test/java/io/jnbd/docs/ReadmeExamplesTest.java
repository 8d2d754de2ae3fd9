package io.jnbd.docs;

import io.jnbd.testing.Servers;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs every Java example of the README exactly as written, as a compact
 * source file on the java launcher, and checks what it prints.
 */
class ReadmeExamplesTest {
    private static final Pattern EXAMPLE = Pattern.compile(
            "<!-- example: ([a-z0-9-]+) -->\\s*```java\\n(.*?)```", Pattern.DOTALL);

    /** A line each example must print, proving it did its job. */
    private static final Map<String, String> EXPECTED = Map.of(
            "connect-command", "read back: hello, world",
            "aio-connect-command", "ready: true, size: 2097152",
            "connect-vsock", "vsock supported: ",
            "futures", "64 MiB read, last word: " + ((64L << 20) - 8));

    @TestFactory
    List<DynamicTest> readmeExamplesRun() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        String readme = Files.readString(root.resolve("README.md"));
        Matcher m = EXAMPLE.matcher(readme);
        List<DynamicTest> tests = new ArrayList<>();
        while (m.find()) {
            String name = m.group(1);
            String source = m.group(2);
            tests.add(DynamicTest.dynamicTest(name, () -> run(name, source)));
        }
        assertEquals(EXPECTED.keySet(), tests.stream().map(DynamicTest::getDisplayName)
                .collect(java.util.stream.Collectors.toSet()), "every README example has an expectation");
        return tests;
    }

    private static void run(String name, String source) throws Exception {
        Servers.require("nbdkit");
        Path dir = Servers.tempDir();
        Path file = dir.resolve("Example.java");
        Files.writeString(file, source);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("jnbd.classes", "target/classes"), file.toString())
                .redirectErrorStream(true).start();
        boolean finished = p.waitFor(60, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!finished) {
            p.destroyForcibly();
        }
        assertTrue(finished, name + " did not finish: " + out);
        assertEquals(0, p.exitValue(), name + " failed:\n" + out);
        assertTrue(out.contains(EXPECTED.get(name)), name + " printed:\n" + out);
    }
}
