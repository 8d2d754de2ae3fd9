package io.jnbd.tools.sh;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.tools.Console;
import io.jnbd.tools.Main;
import io.jnbd.tools.OptionLists;
import io.jnbd.tools.ToolException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Stack;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * {@code jnbd sh}: the counterpart of libnbd's nbdsh(1), on JShell. The
 * library is imported and {@code h} is a handle; {@code -c} runs Java code,
 * otherwise the jshell tool runs interactively.
 */
@Command(name = "sh", addMethodSubcommands = false, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Network Block Device (NBD) shell: JShell with the jnbd library imported and a handle "
                + "called h.", "Without -c, an interactive shell."},
        footer = {"%nOptions are carried out in command-line order: --opt-mode and --base-allocation before -u, "
                + "-c before or after.", "", "Examples:",
                "  jnbd sh -u nbd://localhost -c 'System.out.println(h.getSize())'",
                "  jnbd sh -c - < script.jsh"})
public final class Sh implements Callable<Integer>, Main.Verbose {

    /** One option whose effect depends on its place on the command line. */
    sealed interface Step {
    }

    record Code(String code) implements Step {
    }

    record Uri(String uri) implements Step {
    }

    record OptMode() implements Step {
    }

    record BaseAllocation() implements Step {
    }

    private final Console console;
    private final List<Step> steps = new ArrayList<>();

    @CommandLine.Spec
    CommandSpec spec;

    @Mixin
    OptionLists optionLists;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Display brief help and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Display the version and exit.")
    boolean version;

    // The options consumed by InOrder declare their names and help here; their values go to steps, in order.
    @Option(names = "--base-allocation", parameterConsumer = InOrder.class,
            description = "Request the base:allocation meta context (before connecting).")
    boolean baseAllocation;

    @Option(names = {"-c", "--command"}, paramLabel = "CODE", parameterConsumer = InOrder.class,
            description = "Run Java code (one or more snippets) and exit; may be repeated. '-' reads the code "
                    + "from standard input.")
    String command;

    @Option(names = "-n", description = "Do not create the handle h.")
    boolean noHandle;

    @Option(names = "--opt-mode", parameterConsumer = InOrder.class,
            description = "Request opt mode (before connecting): negotiate with h.optGo() and others.")
    boolean optMode;

    @Option(names = {"-u", "--uri"}, paramLabel = "URI", parameterConsumer = InOrder.class,
            description = "Connect h to the NBD URI.")
    String uri;

    @Option(names = {"-v", "--verbose"}, description = "Debug messages from h, and stack traces of failures.")
    boolean verbose;

    public Sh(Console console) {
        this.console = console;
    }

    /** The command line for Main: nbdsh, like any Python argparse program, takes unambiguous abbreviations. */
    public static CommandLine commandLine(Console console) {
        return new CommandLine(new Sh(console)).setAbbreviatedOptionsAllowed(true);
    }

    @Override
    public boolean verbose() {
        return verbose;
    }

    /** Records -c, -u, --opt-mode and --base-allocation in the order given. */
    static final class InOrder implements CommandLine.IParameterConsumer {
        @Override
        public void consumeParameters(Stack<String> args, ArgSpec arg, CommandSpec spec) {
            OptionSpec option = (OptionSpec) arg;
            List<Step> steps = ((Sh) spec.userObject()).steps;
            if (option.arity().max() == 0) {
                steps.add(option.longestName().equals("--opt-mode") ? new OptMode() : new BaseAllocation());
                return;
            }
            if (args.isEmpty()) {
                throw new CommandLine.MissingParameterException(spec.commandLine(), arg,
                        "Missing required parameter for option '" + option.longestName() + "' ("
                                + option.paramLabel() + ")");
            }
            String value = args.pop();
            steps.add(option.longestName().equals("--uri") ? new Uri(value) : new Code(value));
        }
    }

    @Override
    public Integer call() throws Exception {
        if (optionLists.print(console.out())) {
            return 0;
        }
        boolean configures = steps.stream().anyMatch(s -> !(s instanceof Code));
        if (noHandle && configures) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n cannot be used with --base-allocation, --opt-mode or --uri");
        }
        boolean interactive = steps.stream().noneMatch(Code.class::isInstance);
        NbdHandle h = noHandle ? null : new NbdHandle();
        String key = h == null ? null : Handoff.deposit(h);
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ClassLoader savedLoader = Thread.currentThread().getContextClassLoader();
        // A snippet may call System.exit: what it printed must still come out.
        Thread flushAtExit = new Thread(console::flush);
        Runtime.getRuntime().addShutdownHook(flushAtExit);
        try {
            // Snippets run in this JVM: their System.out and System.err are the tool's.
            System.setOut(console.out());
            System.setErr(console.err());
            if (h != null) {
                h.setHandleName("jnbd-sh");
                if (verbose) {
                    h.setDebug(true);
                }
            }
            String startup = Prelude.source(key);
            if (interactive) {
                steps.forEach(step -> configure(h, step));
                console.out().print(banner(h));
                return Interactive.run(console, startup);
            }
            try (Script script = new Script(console, startup)) {
                for (Step step : steps) {
                    if (step instanceof Code c) {
                        script.run(c.code().equals("-") ? stdin() : c.code());
                    } else {
                        configure(h, step);
                    }
                }
            }
            return 0;
        } finally {
            console.flush();
            System.setOut(savedOut);
            System.setErr(savedErr);
            // JShell's local engine makes its class loader the context loader of the thread that creates it.
            Thread.currentThread().setContextClassLoader(savedLoader);
            Runtime.getRuntime().removeShutdownHook(flushAtExit);
            if (h != null) {
                Handoff.discard(key);
                h.close();
            }
        }
    }

    /** Carries out -u, --opt-mode or --base-allocation; a failure is reported as nbdsh reports it. */
    private static void configure(NbdHandle h, Step step) {
        try {
            switch (step) {
                case Uri u -> h.connectUri(u.uri());
                case OptMode o -> h.setOptMode(true);
                case BaseAllocation b -> h.addMetaContext("base:allocation");
                case Code c -> throw new IllegalArgumentException("code is run by the shell");
            }
        } catch (NbdException e) {
            throw new ToolException(1, "command line script failed: " + e.getMessage(), e);
        }
    }

    private String stdin() throws IOException {
        return new String(console.in().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String banner(NbdHandle h) {
        String handle;
        if (h == null) {
            handle = "There is no handle (-n): create one with  var h = new NbdHandle();";
        } else if (h.aioIsReady()) {
            handle = "h is an NbdHandle, connected to " + h.getUri() + ".";
        } else if (h.aioIsNegotiating()) {
            handle = "h is an NbdHandle in opt mode: negotiate, then h.optGo().";
        } else {
            handle = "h is a new NbdHandle, not connected: h.connectUri(\"nbd://...\") connects it.";
        }
        return String.join("\n",
                "",
                "jnbd sh: JShell with the jnbd library (io.jnbd.*) imported.",
                handle,
                "",
                String.format("  %-42s %s", "h.getSize()", "the size of the export"),
                String.format("  %-42s %s", "var buf = new byte[512]; h.pread(buf, 0)", "read the first sector"),
                String.format("  %-42s %s", "h.<Tab>", "complete a method name"),
                String.format("  %-42s %s", "/help", "jshell's commands"),
                String.format("  %-42s %s", "/exit or Ctrl-D", "quit"),
                "", "");
    }
}
