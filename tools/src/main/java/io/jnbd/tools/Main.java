package io.jnbd.tools;

import io.jnbd.NbdHandle;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code ./jnbd}: dispatches to the subcommands.
 *
 * <p>{@link #run(Console, String...)} runs a tool in-process (the tests do);
 * {@link #main(String[])} runs it on the process's streams and exits with its status.
 *
 * <p>Every tool's {@code @Command} says {@code addMethodSubcommands = false}: none has
 * method subcommands, and looking for them parses the annotations of each of the class's methods at start-up.
 */
@Command(name = "jnbd", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "NBD client tools (the jnbd counterparts of libnbd's nbdinfo, nbdcopy, nbddump, nbdsh).")
public final class Main implements Runnable {

    /** Prints the tool's and the library's versions, as libnbd's tools print theirs. */
    public static final class Version implements CommandLine.IVersionProvider {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public String[] getVersion() {
            try (NbdHandle h = new NbdHandle()) {
                String name = spec == null ? "jnbd" : spec.qualifiedName(" ");
                return new String[] {name + " " + h.getVersion(), "libnbd API " + NbdHandle.LIBNBD_API_VERSION};
            }
        }
    }

    /** A subcommand that can print stack traces for its failures ({@code -v}, {@code --verbose}). */
    public interface Verbose {
        boolean verbose();
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** {@code jnbd} alone: the list of tools, on the console the tools write to. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        Console console = Console.system();
        int status = run(console, args);
        console.flush();
        System.exit(status);
    }

    /** Runs {@code jnbd ARGS} on {@code console} and returns the exit status. */
    public static int run(Console console, String... args) {
        Argv argv;
        try {
            argv = Argv.of(args);
        } catch (ToolException e) {
            console.err().println("jnbd: " + e.getMessage());
            return e.status();
        }
        CommandLine cl = new CommandLine(new Main());
        addSubcommands(cl, console, argv);
        cl.setOut(new PrintWriter(console.out(), true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(console.err(), true, StandardCharsets.UTF_8));
        // libnbd's tools exit with 1 on a usage error.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            console.err().println(c.getCommandSpec().qualifiedName(" ") + ": " + ex.getMessage());
            console.err().println("Try '" + c.getCommandSpec().qualifiedName(" ") + " --help' for more information.");
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            boolean verbose = c.getCommand() instanceof Verbose v && v.verbose();
            String name = c.getCommandSpec().qualifiedName(" ");
            if (verbose) {
                ex.printStackTrace(console.err());
            }
            console.err().println(name + ": " + ex.getMessage());
            return ex instanceof ToolException te ? te.status() : 1;
        });
        return cl.execute(argv.args());
    }

    /**
     * Adds the tools. Building a tool's picocli model costs start-up time, so
     * a command line that names a tool gets only that one; {@code jnbd},
     * {@code jnbd --help} and {@code jnbd completion} get them all.
     */
    private static void addSubcommands(CommandLine cl, Console console, Argv argv) {
        String[] args = argv.args();
        String only = args.length > 0 && !args[0].equals("completion") ? args[0] : null;
        Map<String, Supplier<Object>> tools = new LinkedHashMap<>();
        tools.put("info", () -> io.jnbd.tools.info.InfoCommand.commandLine(console, argv));
        tools.put("copy", () -> new io.jnbd.tools.copy.CopyCommand(console, argv));
        tools.put("dump", () -> new io.jnbd.tools.dump.Dump(console, argv));
        tools.put("sh", () -> io.jnbd.tools.sh.Sh.commandLine(console));
        tools.put("serve", io.jnbd.tools.serve.ServeCommand::new);
        tools.put("completion", () -> new Completion(console));
        if (only != null && tools.containsKey(only)) {
            cl.addSubcommand(only, tools.get(only).get());
            return;
        }
        tools.forEach((name, tool) -> cl.addSubcommand(name, tool.get()));
    }
}
