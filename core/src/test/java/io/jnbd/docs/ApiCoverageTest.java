package io.jnbd.docs;

import io.jnbd.NbdHandle;
import io.jnbd.internal.ApiTable;
import io.jnbd.testing.ApiMethods;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docs/api-coverage.md is computed, not written: from libnbd-api.tsv, the
 * methods of NbdHandle, the reasons below and the test sources. This fails
 * when the file is out of date; {@code -Djnbd.updateDocs=true} rewrites it.
 */
class ApiCoverageTest {
    private static final Path DOC = Path.of("..", "docs", "api-coverage.md");
    private static final Path TEST_SOURCES = Path.of("src", "test", "java");
    private static final String REGENERATE =
            "./mvnw -q -B -pl core test -Dtest=ApiCoverageTest -Djnbd.updateDocs=true";

    /** Calls jnbd has whose behaviour departs from libnbd's man page, and why. */
    private static final Map<String, String> DIFFERS = Map.ofEntries(
            Map.entry("setTlsVerifyPeer", "also checks the certificate chain where there is no host name to check (a "
                    + "Unix socket or vsock without `setTlsHostname`), where libnbd checks nothing"),
            Map.entry("aioIsProcessing", "always false: commands can always be queued, and replies are read by the "
                    + "engine (a waiting caller or its reader thread), never half-processed between calls"),
            Map.entry("poll", "waits for the engine's progress (a state change or a completed aio command) rather than "
                    + "polling a descriptor, and keeps a read posted meanwhile so that a server hang-up is seen"),
            Map.entry("aioCommandCompleted", "an unknown or already retired cookie gives false, as libnbd; a failed command "
                    + "throws its NbdException (libnbd returns -1 with the command's errno)"),
            Map.entry("getVersion", "jnbd's version; the libnbd API version jnbd implements is "
                    + "`NbdHandle.LIBNBD_API_VERSION`"),
            Map.entry("poll2", "takes a SelectableChannel (the Java object owning the extra descriptor), switched to non-blocking "
                    + "mode while the call waits on it"),
            Map.entry("aioGetFd", "always fails with ENOTSUP: jnbd does its own I/O, so there is no descriptor for a main loop to poll"),
            Map.entry("aioGetDirection", "informational: READ once connected, BOTH while connecting, 0 without a connection"),
            Map.entry("aioNotifyRead", "does nothing: the engine reads as soon as data arrives"),
            Map.entry("aioNotifyWrite", "does nothing: requests are written by the calling thread"));

    private enum Status { DONE, DIFFERS, MISSING }

    private record Row(ApiTable.Call call, List<Method> methods, Status status, List<String> testedBy) {
    }

    @Test
    void docIsUpToDate() throws IOException {
        String expected = render(rows());
        if (Boolean.getBoolean("jnbd.updateDocs")) {
            Files.writeString(DOC, expected);
            return;
        }
        String actual = Files.exists(DOC) ? Files.readString(DOC) : "";
        if (!actual.equals(expected)) {
            fail("docs/api-coverage.md is out of date. Regenerate it with\n    " + REGENERATE
                    + "\nor make it read:\n" + expected);
        }
    }

    @Test
    void differencesAreAboutCallsJnbdHas() {
        List<String> stale = DIFFERS.keySet().stream()
                .filter(n -> !ApiTable.all().containsKey(n) || methods(n).isEmpty())
                .sorted()
                .toList();
        assertEquals(List.of(), stale, "DIFFERS names calls that jnbd does not have");
    }

    private static List<Row> rows() throws IOException {
        Map<String, String> sources = testSources();
        List<Row> rows = new ArrayList<>();
        for (ApiTable.Call call : ApiTable.all().values()) {
            List<Method> methods = methods(call.javaName());
            Status status = methods.isEmpty() ? Status.MISSING
                    : DIFFERS.containsKey(call.javaName()) ? Status.DIFFERS : Status.DONE;
            rows.add(new Row(call, methods, status, methods.isEmpty() ? List.of() : callers(methods, sources)));
        }
        return rows;
    }

    private static List<Method> methods(String javaName) {
        return ApiMethods.publicMethods().stream().filter(m -> m.getName().equals(javaName)).toList();
    }

    /**
     * Test class name → source, for the classes that use NbdHandle: in the
     * others a {@code .shutdown(} or {@code .isUri(} is some other class's.
     */
    private static Map<String, String> testSources() throws IOException {
        Map<String, String> sources = new TreeMap<>();
        try (Stream<Path> files = Files.walk(TEST_SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String source = Files.readString(f);
                if (source.contains("NbdHandle") && !f.endsWith(ApiCoverageTest.class.getSimpleName() + ".java")) {
                    sources.put(f.getFileName().toString().replace(".java", ""), source);
                }
            }
        }
        return sources;
    }

    /**
     * The test classes with a call {@code .name(} in their text. When every
     * overload takes arguments, {@code .name()} does not count, so that
     * {@code String.trim()} is not taken for {@code trim(count, offset)}.
     */
    private static List<String> callers(List<Method> methods, Map<String, String> sources) {
        boolean needsArguments = methods.stream().allMatch(m -> m.getParameterCount() > 0);
        Pattern call = Pattern.compile("\\." + Pattern.quote(methods.getFirst().getName()) + "\\("
                + (needsArguments ? "(?!\\))" : ""));
        return sources.entrySet().stream()
                .filter(e -> call.matcher(e.getValue()).find())
                .map(Map.Entry::getKey)
                .toList();
    }

    private static String render(List<Row> rows) {
        Map<Status, Long> counts = rows.stream().collect(Collectors.groupingBy(Row::status, Collectors.counting()));
        StringBuilder b = new StringBuilder();
        b.append("# libnbd API coverage\n\n");
        b.append("_Generated by ApiCoverageTest from libnbd-api.tsv, NbdHandle and the tests; do not edit. "
                + "Regenerate: `").append(REGENERATE).append("`_\n\n");
        b.append("Of the ").append(rows.size()).append(" calls of libnbd ").append(NbdHandle.LIBNBD_API_VERSION)
                .append(": **").append(counts.getOrDefault(Status.DONE, 0L)).append(" done, ")
                .append(counts.getOrDefault(Status.DIFFERS, 0L)).append(" differ, ")
                .append(counts.getOrDefault(Status.MISSING, 0L)).append(" missing**.\n\n");
        b.append("""
                `done`: the Java method(s) do what libnbd's man page says. `differs`: they exist but depart from \
                it, for the reason given. `missing`: no Java method yet. *Tested by* names the test classes that \
                call the method by name; StateWalkTest also walks every method through all six handle states.

                | libnbd call | Java method(s) | status | tested by |
                |---|---|---|---|
                """);
        for (Row r : rows) {
            b.append("| `nbd_").append(r.call().cName()).append("` | ")
                    .append(r.methods().stream()
                            .map(m -> "`" + ApiMethods.signature(m) + "`")
                            .collect(Collectors.joining("<br>")))
                    .append(" | ").append(switch (r.status()) {
                        case DONE -> "done";
                        case DIFFERS -> "differs: " + DIFFERS.get(r.call().javaName());
                        case MISSING -> "missing";
                    })
                    .append(" | ").append(String.join(", ", r.testedBy())).append(" |\n");
        }
        return b.toString();
    }
}
