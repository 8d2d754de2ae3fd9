package io.jnbd.tools;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code jnbd completion}: prints a bash completion script for the whole
 * {@code jnbd} command, made by picocli from the command model at run time,
 * so every registered subcommand and option is in it.
 */
@Command(name = "completion", addMethodSubcommands = false, mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Print a bash completion script for jnbd, its subcommands and their options.",
                "Use it with:  source <(jnbd completion)",
                "or save it as ~/.local/share/bash-completion/completions/jnbd."})
public final class Completion implements Runnable {
    private final Console console;

    @Spec
    CommandSpec spec;

    public Completion(Console console) {
        this.console = console;
    }

    @Override
    public void run() {
        console.out().print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
    }
}
