package io.jnbd.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A command line with its {@code [ CMD ARGS ... ]} groups taken out.
 *
 * <p>libnbd's tools name a server to run as a subprocess between a {@code [}
 * and a {@code ]} argument. The words inside are the server's, not the
 * tool's ({@code -U -} must not reach the option parser), so each group is
 * replaced by one placeholder word before parsing; a tool turns a positional
 * parameter back into the command with {@link #command(String)}.
 */
public final class Argv {
    private static final String MARK = "\u0000[ ]#";

    private final List<String> args;
    private final List<List<String>> commands;

    private Argv(List<String> args, List<List<String>> commands) {
        this.args = args;
        this.commands = commands;
    }

    /**
     * Splits out the bracket groups.
     *
     * @throws ToolException if a {@code [} has no matching {@code ]} or encloses nothing
     */
    public static Argv of(String... raw) {
        List<String> args = new ArrayList<>();
        List<List<String>> commands = new ArrayList<>();
        for (int i = 0; i < raw.length; i++) {
            if (!raw[i].equals("[") || afterDoubleDash(raw, i)) {
                args.add(raw[i]);
                continue;
            }
            int end = i + 1;
            while (end < raw.length && !raw[end].equals("]")) {
                end++;
            }
            if (end == raw.length) {
                throw new ToolException(1, "'[' without a matching ']': write the server command as [ CMD ARGS ... ]");
            }
            if (end == i + 1) {
                throw new ToolException(1, "empty command between '[' and ']'");
            }
            args.add(MARK + commands.size());
            commands.add(List.of(raw).subList(i + 1, end));
            i = end;
        }
        return new Argv(List.copyOf(args), List.copyOf(commands));
    }

    private static boolean afterDoubleDash(String[] raw, int i) {
        for (int j = 0; j < i; j++) {
            if (raw[j].equals("--")) {
                return true;
            }
        }
        return false;
    }

    /** The arguments for the option parser, each bracket group one placeholder word. */
    public String[] args() {
        return args.toArray(String[]::new);
    }

    /** The command a placeholder word stands for, or empty if {@code word} is an ordinary argument. */
    public Optional<List<String>> command(String word) {
        if (!word.startsWith(MARK)) {
            return Optional.empty();
        }
        return Optional.of(commands.get(Integer.parseInt(word.substring(MARK.length()))));
    }
}
