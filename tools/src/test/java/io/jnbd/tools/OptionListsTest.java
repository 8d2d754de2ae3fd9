package io.jnbd.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hidden --long-options and --short-options, the same in every tool: sorted, each name once, none hidden. */
class OptionListsTest {

    @ParameterizedTest
    @ValueSource(strings = {"info", "copy", "dump", "sh"})
    void longOptions(String tool) {
        List<String> names = list(tool, "--long-options");
        assertTrue(names.stream().allMatch(n -> n.startsWith("--") && n.length() > 3), names::toString);
        assertTrue(names.containsAll(List.of("--help", "--version")), names::toString);
        assertFalse(names.contains("--long-options") || names.contains("--short-options"), names::toString);
        assertEquals(names.stream().sorted().distinct().toList(), names, "sorted, each once");
    }

    @ParameterizedTest
    @ValueSource(strings = {"info", "copy", "dump", "sh"})
    void shortOptions(String tool) {
        List<String> names = list(tool, "--short-options");
        assertTrue(names.stream().allMatch(n -> n.matches("-[A-Za-z]")), names::toString);
        assertTrue(names.contains("-V"), names::toString);
        assertEquals(names.stream().sorted().distinct().toList(), names, "sorted, each once");
    }

    private static List<String> list(String tool, String option) {
        Libnbd122.Result r = Jnbd.run(tool, option);
        assertEquals(0, r.status(), r.stderr());
        assertEquals("", r.stderr());
        return r.out().lines().toList();
    }
}
