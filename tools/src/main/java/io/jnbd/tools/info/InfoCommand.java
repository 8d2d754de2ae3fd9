package io.jnbd.tools.info;

import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import io.jnbd.tools.Argv;
import io.jnbd.tools.Console;
import io.jnbd.tools.Main;
import io.jnbd.tools.OptionLists;
import io.jnbd.tools.Server;
import io.jnbd.tools.ToolException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jnbd info}: nbdinfo(1) of libnbd 1.22, with its options, output
 * (text and JSON, field for field) and exit statuses.
 */
@Command(name = "info", addMethodSubcommands = false, mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        sortOptions = false,
        description = {"Display information and metadata about NBD servers and exports (libnbd's nbdinfo).",
            "NBD is an NBD URI or [ CMD ARGS ... ], a server run with systemd socket activation.",
            "--can, --is and --has (and --cannot, --isnt, --hasnt) print nothing and exit with 0 if true, "
                + "2 if false."})
public final class InfoCommand implements Callable<Integer>, Main.Verbose {
    private static final String DEFAULT_MAP = "base:allocation";

    private final Console console;
    private final Argv argv;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = {"-L", "--list"}, description = "List all the exports on the server.")
    boolean list;

    @Option(names = "--size", description = "Print only the size of the export in bytes.")
    boolean size;

    @Option(names = "--uri", description = "Print only the canonical URI.")
    boolean uri;

    @Option(names = "--map", paramLabel = "CONTEXT", arity = "1", preprocessor = OptionalArgument.class,
            description = "Print the map of a meta context (--map=CONTEXT), by default " + DEFAULT_MAP + ".")
    String map;

    @Option(names = {"--totals", "--total"}, description = "With --map: the total size of each type.")
    boolean totals;

    @Option(names = "--content", description = "Probe the content with file(1) (the default, except with --list).")
    boolean content;

    @Option(names = "--no-content", description = "Do not probe the content.")
    boolean noContent;

    private String flag;
    private boolean negate;
    private Boolean colour;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces of errors.")
    boolean verbose;

    @Mixin
    OptionLists optionLists;

    @Parameters(paramLabel = "NBD", arity = "0..*", description = "NBD-URI | [ CMD ARGS ... ]")
    List<String> words = new ArrayList<>();

    private InfoCommand(Console console, Argv argv) {
        this.console = console;
        this.argv = argv;
    }

    /** The subcommand, parsed as getopt parses nbdinfo's options: a repeated option is no error, the last wins. */
    public static CommandLine commandLine(Console console, Argv argv) {
        return new CommandLine(new InfoCommand(console, argv)).setOverwrittenOptionsAllowed(true);
    }

    @Option(names = {"--can", "--is", "--has", "--have"}, paramLabel = "FLAG",
            description = "Exit with 0 if the export has FLAG (read-only, rotational, tls, structured-reply, "
                    + "extended-headers, connect, read, write, flush, fua, trim, zero, fast-zero, df, cache, "
                    + "multi-conn, block-status-payload), else 2.")
    void can(String name) {
        flag = name;
    }

    @Option(names = {"--cannot", "--can-not", "--cant", "--isnt", "--isnot", "--is-not", "--hasnt", "--hasnot",
        "--has-not", "--havent", "--havenot", "--have-not"}, paramLabel = "FLAG",
            description = "The negation of --can FLAG.")
    void cannot(String name) {
        flag = name;
        negate = true;
    }

    @Option(names = {"--colour", "--color", "--colours", "--colors"}, description = "Colour the output.")
    void colour(boolean on) {
        colour = true;
    }

    @Option(names = {"--no-colour", "--no-color", "--no-colours", "--no-colors"},
            description = "Do not colour the output (by default it is coloured on a terminal).")
    void noColour(boolean on) {
        colour = false;
    }

    @Override
    public boolean verbose() {
        return verbose;
    }

    /** getopt's optional argument: {@code --map=CONTEXT} takes one, {@code --map CONTEXT} does not. */
    static final class OptionalArgument implements CommandLine.IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec commandSpec, ArgSpec argSpec,
                Map<String, Object> info) {
            if (!"=".equals(info.get("separator"))) {
                args.push(DEFAULT_MAP);
            }
            return false;
        }
    }

    @Override
    public Integer call() {
        if (optionLists.print(console.out())) {
            return 0;
        }
        Server server = server();
        int modes = (list ? 1 : 0) + (flag != null ? 1 : 0) + (map != null ? 1 : 0) + (size ? 1 : 0) + (uri ? 1 : 0);
        if (modes > 1) {
            throw new ToolException(1, "you cannot use --can, --cannot, --list, --map, --size and --uri together.");
        }
        if (content && noContent) {
            throw new ToolException(1, "you cannot use --content and --no-content together.");
        }
        if (totals && map == null) {
            throw new ToolException(1, "you must use --totals only with --map option.");
        }
        boolean probe = (content || !list) && !noContent && flag == null && map == null;
        Spool out = new Spool(colour != null ? colour : console.isTty());

        int status = 0;
        NbdHandle h = new NbdHandle();
        try {
            h.setUriAllowLocalFile(true); // for ?tls-psk-file
            h.setOptMode(true);
            if (flag == null && map == null && !size && !uri) {
                h.setFullInfo(true);
            }
            if (map != null) {
                h.addMetaContext(map);
            }
            connect(h, server);
            List<ExportList.Entry> exports = list ? ExportList.collect(h) : null;
            if (size) {
                out.add(h.getSize() + "\n");
            } else if (uri) {
                String u = h.getUri();
                (json ? out.json(u) : out.add(u)).add('\n');
            } else if (flag != null) {
                status = FlagQuery.answer(h, flag, negate);
            } else if (map != null) {
                ExtentMap extents = ExtentMap.read(h, map);
                if (totals) {
                    extents.printTotals(out, json);
                } else {
                    extents.printExtents(out, json);
                }
            } else {
                status = report(h, server, exports, probe, out) ? 0 : 1;
            }
        } catch (NbdException e) {
            throw new ToolException(1, e.getMessage(), e);
        } finally {
            finish(h);
        }
        console.out().print(out);
        return status;
    }

    /** The server: one NBD URI, or a command in brackets (a placeholder word of {@link Argv}, or after --). */
    private Server server() {
        if (words.size() == 1) {
            return Server.of(argv, words.get(0));
        }
        if (words.size() >= 3 && words.getFirst().equals("[") && words.getLast().equals("]")) {
            return new Server.Command(words.subList(1, words.size() - 1));
        }
        throw new CommandLine.ParameterException(spec.commandLine(),
                "expected one server: an NBD URI or [ CMD ARGS ... ]");
    }

    /** Connects (a command with socket activation) and asks for the export's details, which may fail for now. */
    static void connect(NbdHandle h, Server server) {
        server.connect(h, true);
        if (h.aioIsNegotiating()) {
            try {
                h.optInfo();
            } catch (NbdException e) {
                // Later code may set another export name, or fall back on NBD_OPT_GO.
            }
        }
    }

    /**
     * A courtesy NBD_OPT_ABORT (still negotiating) or NBD_CMD_DISC, as
     * libnbd's nbd_shutdown sends, then close; idempotent.
     */
    static void finish(NbdHandle h) {
        try {
            // jnbd's shutdown() does not end negotiation as libnbd 1.22's does: abort it here.
            if (h.aioIsNegotiating()) {
                h.optAbort();
            } else if (h.aioIsReady() || h.aioIsProcessing()) {
                h.shutdown();
            }
        } catch (NbdException e) {
            // Already shut down, or dead: nothing to say goodbye to.
        }
        h.close();
    }

    /** The default output: the connection's protocol, then the export, or each export with --list. */
    private boolean report(NbdHandle h, Server server, List<ExportList.Entry> exports, boolean probe, Spool out) {
        String protocol = h.getProtocol();
        boolean tls = h.getTlsNegotiated();
        boolean structured = h.getStructuredRepliesNegotiated();
        boolean extended = h.getExtendedHeadersNegotiated();
        if (json) {
            out.add("{\n\"protocol\": ").json(protocol).add(",\n");
            out.add("\"TLS\": " + tls + ",\n\"structured\": " + structured + ",\n\"extended\": " + extended + ",\n");
        } else {
            out.add("protocol: " + protocol + (tls ? " with" : " without") + " TLS, using "
                    + (extended ? "extended" : structured ? "structured" : "simple") + " packets\n");
        }
        String prog = spec.qualifiedName(" ");
        var report = new ExportReport(out, console.err(), prog, json, list, server instanceof Server.Uri,
                probe ? new Content() : null);
        boolean ok = exports == null
                ? report.show(h, null, true, true)
                : ExportList.showAll(exports, h, server, probe, report, json, out);
        if (json) {
            out.add("}\n");
        }
        return ok;
    }
}
