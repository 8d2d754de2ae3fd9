package io.jnbd.tools.sh;

import io.jnbd.tools.Console;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import jdk.jshell.tool.JavaShellToolBuilder;

/** The interactive shell: the jshell tool itself (line editing, completion, /commands), local execution. */
final class Interactive {
    private static final String PROMPT_MODE = "jnbd";

    private Interactive() {
    }

    /**
     * Runs the jshell tool on {@code console} until the user quits; returns
     * its exit status ({@code /exit N}). On a terminal the tool reads
     * System.in, which is how it recognises the terminal and edits lines.
     */
    static int run(Console console, String startup) throws Exception {
        Path file = Files.createTempFile("jnbd-sh", ".jsh");
        try {
            Files.writeString(file, startup);
            InputStream in = console.isTty() ? System.in : console.in();
            return JavaShellToolBuilder.builder().in(in, null).out(console.out()).err(console.err())
                    .persistence(promptMode()).interactiveTerminal(console.isTty())
                    .start("--execution", "local", "--class-path", Prelude.classPath(), "--startup", file.toString());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * Preferences for the tool with nbdsh's prompt, {@code nbd> }, as the
     * feedback mode in force: jshell's normal mode, quiet about commands
     * (so our banner replaces its welcome). A mode can be made only by
     * commands, so a silent first run of the tool makes it and the
     * preferences it leaves behind are kept.
     */
    private static Map<String, String> promptMode() throws Exception {
        String commands = "/set mode " + PROMPT_MODE + " normal -quiet\n"
                + "/set prompt " + PROMPT_MODE + " \"nbd> \" \"...> \"\n"
                + "/set mode " + PROMPT_MODE + " -retain\n"
                + "/set feedback " + PROMPT_MODE + " -retain\n"
                + "/exit\n";
        Map<String, String> prefs = new HashMap<>();
        PrintStream discard = new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
        JavaShellToolBuilder.builder().in(new ByteArrayInputStream(commands.getBytes(StandardCharsets.UTF_8)), null)
                .out(discard).err(discard).persistence(prefs).start("--execution", "local", "--no-startup");
        prefs.keySet().removeIf(k -> k.startsWith("HISTORY"));
        return prefs;
    }
}
