package io.jnbd.tools.dump;

import io.jnbd.NbdHandle;
import io.jnbd.tools.Argv;
import io.jnbd.tools.Console;
import io.jnbd.tools.Main;
import io.jnbd.tools.OptionLists;
import io.jnbd.tools.Server;
import io.jnbd.tools.ToolException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jnbd dump}: the counterpart of libnbd's nbddump(1), a hexdump of an export. */
@Command(name = "dump", addMethodSubcommands = false, versionProvider = Main.Version.class, sortOptions = false,
        description = "Hexdump the content of a disk over NBD.",
        footer = {"%nNBD is an NBD URI, or [ CMD ARGS ... ] (also after --): a server run with systemd socket "
                + "activation.%n", "Examples:", "  jnbd dump nbd://localhost",
                "  jnbd dump -- [ qemu-nbd -r -f qcow2 file.qcow2 ]"})
public final class Dump implements Callable<Integer> {
    private final Console console;
    private final Argv argv;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    OptionLists optionLists;

    @Option(names = "--help", usageHelp = true, description = "Display brief help and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Display the version and exit.")
    boolean version;

    private Boolean colour;

    @Option(names = {"--color", "--colour", "--colors", "--colours"},
            description = "Force ANSI colours, even when the output is not a terminal.")
    void colour(boolean on) {
        colour = true;
    }

    @Option(names = {"--no-color", "--no-colour", "--no-colors", "--no-colours"},
            description = "Suppress ANSI colours, even on a terminal.")
    void noColour(boolean on) {
        colour = false;
    }

    @Option(names = {"-n", "--length", "--limit"}, paramLabel = "LEN",
            description = "Stop after LEN bytes dumped.")
    String length;

    @Option(names = {"-o", "--offset", "--skip"}, paramLabel = "OFF",
            description = "Start the dump at offset OFF.")
    String offset;

    @Parameters(arity = "1..*", paramLabel = "NBD", description = "NBD URI, or [ CMD ARGS ... ].")
    List<String> server;

    public Dump(Console console, Argv argv) {
        this.console = console;
        this.argv = argv;
    }

    @Override
    public Integer call() {
        if (optionLists.print(console.out())) {
            return 0;
        }
        long limit = length == null ? -1 : parseUnsigned("--length", length);
        long skip = offset == null ? 0 : parseUnsigned("--offset", offset);
        Server target = server();
        boolean colours = colour != null ? colour : console.isTty();
        try (NbdHandle h = new NbdHandle()) {
            h.setUriAllowLocalFile(true);
            h.addMetaContext(HexDump.BASE_ALLOCATION);
            target.connect(h, true);
            // As nbddump: interrupted (^C) mid-line, end the line and reset the terminal's colours.
            Thread restore = new Thread(() -> {
                console.out().print("\n" + HexDump.RESTORE);
                console.out().flush();
            });
            if (colours) {
                Runtime.getRuntime().addShutdownHook(restore);
            }
            try {
                new HexDump(h, console.out(), colours).dump(skip, limit);
            } finally {
                if (colours) {
                    Runtime.getRuntime().removeShutdownHook(restore);
                }
            }
            h.shutdown();
        }
        return 0;
    }

    /** The server: one URI or bracket group, or the words of {@code -- [ CMD ARGS ... ]}. */
    private Server server() {
        if (server.size() == 1) {
            return Server.of(argv, server.getFirst());
        }
        if (server.size() >= 3 && server.getFirst().equals("[") && server.getLast().equals("]")) {
            return new Server.Command(server.subList(1, server.size() - 1));
        }
        throw new CommandLine.ParameterException(spec.commandLine(),
                "expected one NBD URI or [ CMD ARGS ... ], got: " + String.join(" ", server));
    }

    /**
     * Reads a byte count as nbddump does (sscanf {@code %SCNu64}): leading
     * blanks, an optional sign (a minus wraps around), then digits; anything
     * after the digits is ignored and too large a number saturates.
     */
    static long parseUnsigned(String option, String text) {
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
            negative = text.charAt(i) == '-';
            i++;
        }
        int digits = i;
        while (i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            i++;
        }
        if (i == digits) {
            throw new ToolException(1, "could not parse " + option + " option: " + text);
        }
        long value;
        try {
            value = Long.parseUnsignedLong(text.substring(digits, i));
        } catch (NumberFormatException e) {
            return -1;
        }
        return negative ? -value : value;
    }
}
