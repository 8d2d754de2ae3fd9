package io.jnbd.tools.copy;

import io.jnbd.NbdHandle;
import io.jnbd.tools.Argv;
import io.jnbd.tools.Console;
import io.jnbd.tools.Main;
import io.jnbd.tools.OptionLists;
import io.jnbd.tools.Server;
import io.jnbd.tools.ToolException;
import java.io.PrintStream;
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

/** {@code jnbd copy}: libnbd 1.22's nbdcopy(1). */
@Command(name = "copy", addMethodSubcommands = false, mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        sortOptions = false,
        description = {"Copy to and from an NBD server (the jnbd counterpart of libnbd's nbdcopy).", "",
            "SOURCE, DESTINATION := - | FILE | DEVICE | NBD-URI | [ CMD ARGS ... ]",
            "DESTINATION += null:", "",
            "Examples:",
            "  jnbd copy nbd://example.com local.img",
            "  jnbd copy local.img nbd://example.com",
            "  jnbd copy nbd://example.com - | file -",
            "  cat disk1 disk2 | jnbd copy -- - [ qemu-nbd -f qcow2 output.qcow2 ]", ""})
public final class CopyCommand implements Callable<Integer>, Main.Verbose {
    private static final int MIN_REQUEST_SIZE = 4096;
    private static final int MAX_REQUEST_SIZE = 32 << 20;
    private static final long UINT_MAX = 0xffffffffL;

    private final Console console;
    private final Argv argv;

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--allocated", description = "Write zeroes as allocated space, never as holes.")
    boolean allocated;

    @Option(names = {"-C", "--connections"}, paramLabel = "N",
            description = "Connections to each NBD server when it allows multi-conn (default 4).")
    String connections;

    @Option(names = {"--destination-is-zero", "--target-is-zero"},
            description = "The destination reads as zeroes already: do not zero it.")
    boolean targetIsZero;

    @Option(names = "--flush", description = "Flush the destination to stable storage at the end.")
    boolean flush;

    @Option(names = "--no-extents", description = "Read everything, not asking the source where its holes are.")
    boolean noExtents;

    @Option(names = "-p", description = "Show a progress bar on standard error.")
    boolean progressBar;

    @Option(names = "--progress", arity = "0..1", paramLabel = "FD", preprocessor = AttachedValueOnly.class,
            description = "Show a progress bar; with =FD, write N/100 lines to descriptor FD instead.")
    String progress;

    @Option(names = "--queue-size", paramLabel = "N",
            description = "Bytes in flight per connection (default 16M).")
    String queueSize;

    @Option(names = "--request-size", paramLabel = "N", description = "Largest request in bytes (default 256K).")
    String requestSize;

    @Option(names = {"-R", "--requests"}, paramLabel = "N",
            description = "Requests in flight per connection (default 64).")
    String requests;

    @Option(names = {"-S", "--sparse"}, paramLabel = "N",
            description = "Detect zero blocks of N bytes in data and make them sparse; 0 turns it off (default 4096).")
    String sparse;

    @Option(names = "--synchronous", description = "Copy in order, one request at a time.")
    boolean synchronous;

    @Option(names = {"-T", "--threads"}, paramLabel = "N",
            description = "Copying threads, at most one per connection (default: the number of processors).")
    String threads;

    @Option(names = {"-v", "--verbose"}, description = "Print what is copied how, and libnbd debug messages.")
    boolean verbose;

    @Mixin
    OptionLists optionLists;

    @Parameters(arity = "0..*", paramLabel = "SOURCE DESTINATION", description = "What to copy, and where.")
    List<String> positional = new ArrayList<>();

    public CopyCommand(Console console, Argv argv) {
        this.console = console;
        this.argv = argv;
    }

    /** Lets {@code --progress} take a value only as {@code --progress=FD}, like getopt's optional arguments. */
    static final class AttachedValueOnly implements CommandLine.IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec commandSpec, ArgSpec argSpec,
                Map<String, Object> info) {
            // picocli reports the separator it split on: "=" when attached, " " when not.
            if (!"=".equals(info.get("separator"))) {
                argSpec.setValue("");
                return true;
            }
            return false;
        }
    }

    @Override
    public boolean verbose() {
        return verbose;
    }

    @Override
    public Integer call() {
        if (optionLists.print(console.out())) {
            return 0;
        }
        int nConnections = parseCount("--connections", connections, 4, false);
        int nRequests = parseCount("--requests", requests, 64, false);
        int nThreads = parseCount("--threads", threads, 0, true);
        long nQueueSize = parseQueueSize();
        int nRequestSize = parseRequestSize();
        long nSparse = parseSparse();
        Progress bar = parseProgress();

        List<Word> words = words();
        if (words.size() != 2) {
            throw usage(words.size() < 2 ? "SOURCE and DESTINATION are required" : "too many parameters");
        }
        boolean wantExtents = !noExtents;
        Endpoint src = null;
        Endpoint dst = null;
        boolean done = false;
        try {
            src = open(words.get(0), true, wantExtents);
            dst = open(words.get(1), false, false);
            if (dst.isReadOnly()) {
                throw new ToolException(1, dst.name + ": the destination is read-only, cannot write to it");
            }
            boolean sync = synchronous || src instanceof StreamEndpoint || dst instanceof StreamEndpoint;
            if (words.get(0).command != null || words.get(1).command != null) {
                nConnections = 1; // multi-conn needs a server that more than one client can reach
            }
            if (!src.canMultiConn() || !dst.canMultiConn()) {
                nConnections = 1;
            }
            if (nThreads == 0) {
                nThreads = Runtime.getRuntime().availableProcessors();
            }
            if (sync) {
                nConnections = 1;
            }
            nConnections = Math.min(nConnections, nThreads);
            nThreads = nConnections;
            nRequestSize = (int) Math.max(nRequestSize, Math.max(src.preferred, dst.preferred));
            nQueueSize = Math.max(nQueueSize, nRequestSize);
            if (nSparse > 0 && nSparse < dst.preferred) {
                nSparse = dst.preferred;
            }
            // A regular file is cut to the source's size: then it reads as zeroes, all hole.
            boolean zeroed = dst.truncate(Math.max(src.size, 0));
            if (src.size >= 0 && dst.size >= 0 && src.size > dst.size) {
                throw new ToolException(1, "error: destination size (" + dst.size
                        + ") is smaller than source size (" + src.size + ")");
            }
            if (verbose) {
                describe(src, "src");
                describe(dst, "dst");
                console.err().println(name() + ": connections=" + nConnections + " requests=" + nRequests
                        + " threads=" + nThreads + " synchronous=" + sync);
            }
            if (nConnections > 1) {
                src.startMultiConn(nConnections);
                dst.startMultiConn(nConnections);
            }
            Plan plan = new Plan(allocated, targetIsZero || zeroed, wantExtents && src.canExtents(), nRequests,
                    nQueueSize, nRequestSize, nSparse, nConnections);
            try (bar) {
                bar.start(src.size);
                if (sync) {
                    new SyncCopier(src, dst, plan, bar).run();
                } else {
                    new MultiThreadCopier(src, dst, plan, bar).run();
                }
                bar.finish();
            }
            Endpoint s = src;
            src = null;
            s.close();
            if (flush) {
                dst.flush();
            }
            Endpoint d = dst;
            dst = null;
            d.close();
            done = true;
            return 0;
        } finally {
            if (!done) {
                abort(src);
                abort(dst);
            }
        }
    }

    /** A positional word: a server command, or a name (URI, file, {@code -}, {@code null:}). */
    private record Word(List<String> command, String name) {
    }

    /**
     * SOURCE and DESTINATION: each a name, or a server command, written
     * {@code [ CMD ARGS ... ]} before or after {@code --}.
     */
    private List<Word> words() {
        List<Word> out = new ArrayList<>();
        for (int i = 0; i < positional.size(); i++) {
            String w = positional.get(i);
            if (w.equals("[")) {
                int close = i + 1;
                while (close < positional.size() && !positional.get(close).equals("]")) {
                    close++;
                }
                if (close == positional.size() || close == i + 1) {
                    throw usage("'[' without a matching ']': write the server command as [ CMD ARGS ... ]");
                }
                out.add(new Word(List.copyOf(positional.subList(i + 1, close)), null));
                i = close;
            } else {
                Server s = Server.of(argv, w);
                out.add(s instanceof Server.Command c ? new Word(c.argv(), null) : new Word(null, w));
            }
        }
        return out;
    }

    private Endpoint open(Word w, boolean source, boolean wantExtents) {
        PrintStream debug = verbose ? console.err() : null;
        if (w.command != null) {
            return new NbdEndpoint(new Server.Command(w.command), source, wantExtents, debug);
        }
        if (!source && w.name.equals("null:")) {
            return new NullEndpoint();
        }
        if (isUri(w.name)) {
            return new NbdEndpoint(new Server.Uri(w.name), source, wantExtents, debug);
        }
        return LocalFiles.open(w.name, source, console);
    }

    private static boolean isUri(String s) {
        try (NbdHandle h = new NbdHandle()) {
            return h.isUri(s);
        }
    }

    private static void abort(Endpoint e) {
        if (e != null) {
            e.abort();
        }
    }

    private void describe(Endpoint e, String which) {
        String prefix = name() + ": " + which + ": ";
        console.err().println(prefix + e.kind() + " \"" + e.name + "\"");
        console.err().println(prefix + "size=" + e.size + " (" + (e.size < 0 ? "-1" : Sizes.human(e.size))
                + "), preferred block size=" + e.preferred);
    }

    private String name() {
        return spec.qualifiedName(" ");
    }

    private ToolException usage(String message) {
        return new ToolException(1, message + "\nTry '" + name() + " --help' for more information.");
    }

    private static int parseCount(String option, String value, int unset, boolean zeroAllowed) {
        if (value == null) {
            return unset;
        }
        try {
            int n = Integer.parseUnsignedInt(value.strip());
            if (n < 0 || (n == 0 && !zeroAllowed)) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ToolException(1, option + ": could not parse: " + value);
        }
    }

    private long parseQueueSize() {
        if (queueSize == null) {
            return 16 << 20;
        }
        long n = parseSize("--queue-size", queueSize);
        if (n > UINT_MAX) {
            throw new ToolException(1, "--queue-size is too large: " + queueSize);
        }
        return n;
    }

    private int parseRequestSize() {
        if (requestSize == null) {
            return 256 << 10;
        }
        long n = parseSize("--request-size", requestSize);
        if (n < MIN_REQUEST_SIZE || n > MAX_REQUEST_SIZE || !Sizes.isPowerOfTwo(n)) {
            throw new ToolException(1, "--request-size: must be a power of 2 within " + MIN_REQUEST_SIZE + "-"
                    + MAX_REQUEST_SIZE + ": " + requestSize);
        }
        return (int) n;
    }

    private long parseSparse() {
        if (sparse == null) {
            return 4096;
        }
        long n = parseSize("--sparse", sparse);
        if (n != 0 && (n < 512 || n > UINT_MAX || !Sizes.isPowerOfTwo(n))) {
            throw new ToolException(1, "--sparse: must be a power of 2, between 512-" + UINT_MAX + ": " + sparse);
        }
        return n;
    }

    private static long parseSize(String option, String value) {
        try {
            return Sizes.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ToolException(1, option + ": " + e.getMessage());
        }
    }

    private Progress parseProgress() {
        if (progress != null && !progress.isEmpty()) {
            int fd;
            try {
                fd = Integer.parseInt(progress.strip());
            } catch (NumberFormatException e) {
                fd = -1;
            }
            if (fd < 0) {
                throw new ToolException(1, "--progress: could not parse: " + progress);
            }
            if (!Native.AVAILABLE) {
                throw new ToolException(1, "--progress=FD needs native access (java --enable-native-access)");
            }
            return Progress.toDescriptor(fd);
        }
        return progressBar || progress != null ? Progress.bar(console.err()) : Progress.none();
    }
}
