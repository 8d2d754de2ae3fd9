package io.jnbd.tools;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * libnbd's hidden {@code --long-options} and {@code --short-options}: each
 * lists a tool's visible options, one a line, for shell completion scripts
 * written the libnbd way. A mixin; the tool calls {@link #print} first thing.
 */
public final class OptionLists {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    // help = true: the list is printed even when required parameters are missing.
    @Option(names = "--long-options", hidden = true, help = true)
    boolean longOptions;

    @Option(names = "--short-options", hidden = true, help = true)
    boolean shortOptions;

    /** Prints the list asked for, if one was; returns whether it did (the tool then exits with 0). */
    public boolean print(PrintStream out) {
        if (!longOptions && !shortOptions) {
            return false;
        }
        List<String> names = new ArrayList<>();
        for (OptionSpec o : spec.options()) {
            if (o.hidden()) {
                continue;
            }
            for (String name : o.names()) {
                if (name.startsWith("--") == longOptions) {
                    names.add(name);
                }
            }
        }
        names.sort(null);
        names.forEach(out::println);
        return true;
    }
}
