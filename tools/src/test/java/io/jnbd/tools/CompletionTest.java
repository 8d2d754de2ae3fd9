package io.jnbd.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jnbd.testing.Servers;
import io.jnbd.tools.testing.Jnbd;
import io.jnbd.tools.testing.Libnbd122;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code jnbd completion}: a bash completion script for every subcommand and option. */
class CompletionTest {

    private static String script() {
        Libnbd122.Result r = Jnbd.run("completion");
        assertEquals(0, r.status(), r.stderr());
        return r.out();
    }

    /** The subcommands {@code jnbd --help} lists. */
    private static List<String> subcommands() {
        String help = Jnbd.run("--help").out();
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^  ([a-z][a-z-]*)  ").matcher(help.substring(help.indexOf("Commands:")));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void scriptCoversEverySubcommand() {
        String script = script();
        assertTrue(script.contains("complete -F _complete_jnbd"), script);
        List<String> subcommands = subcommands();
        assertTrue(subcommands.containsAll(List.of("dump", "sh", "completion")), subcommands.toString());
        Matcher m = Pattern.compile("function _picocli_jnbd\\(\\) \\{.*?local commands=\"([^\"]*)\"", Pattern.DOTALL)
                .matcher(script);
        assertTrue(m.find(), script);
        assertEquals(subcommands, Arrays.asList(m.group(1).split(" ")));
        for (String sub : subcommands) {
            assertTrue(script.contains("function _picocli_jnbd_" + sub.replace('-', '_') + "()"), sub);
        }
        for (String option : List.of("'--length'", "'--no-colour'", "'--base-allocation'", "'--opt-mode'", "'-u'")) {
            assertTrue(script.contains(option), option);
        }
        // libnbd's hidden option lists are not offered.
        assertFalse(script.contains("--long-options"));
    }

    /** Completes {@code words} (the last one being typed) with the script in bash; returns the candidates. */
    private static List<String> complete(Path script, String... words) throws Exception {
        StringBuilder array = new StringBuilder();
        for (String w : words) {
            array.append(" '").append(w).append('\'');
        }
        String line = String.join(" ", words);
        String program = "source " + script + " 2>/dev/null; COMP_WORDS=(" + array + "); COMP_CWORD="
                + (words.length - 1) + "; COMP_LINE='" + line + "'; COMP_POINT=" + line.length()
                + "; _complete_jnbd jnbd '" + words[words.length - 1] + "' '" + words[words.length - 2]
                + "' 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"";
        Process p = new ProcessBuilder(Servers.require("bash"), "--norc", "-c", program)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return out.lines().filter(s -> !s.isEmpty()).sorted().toList();
    }

    @Test
    void bashCompletesSubcommandsAndOptions() throws Exception {
        Path dir = Servers.tempDir();
        Path script = dir.resolve("jnbd.bash");
        try {
            Files.writeString(script, script());
            assertEquals(List.of("dump"), complete(script, "jnbd", "du"));
            assertEquals(List.of("--length", "--limit"), complete(script, "jnbd", "dump", "--l"));
            assertEquals(List.of("--base-allocation"), complete(script, "jnbd", "sh", "--base"));
            assertTrue(complete(script, "jnbd", "").containsAll(List.of("completion", "dump", "sh")));
        } finally {
            Files.deleteIfExists(script);
            Files.delete(dir);
        }
    }
}
