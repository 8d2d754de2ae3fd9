package io.jnbd.tools.serve;

import io.jnbd.server.Backend;
import io.jnbd.server.NbdServer;
import io.jnbd.tools.Main;
import io.jnbd.tools.ToolException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jnbd serve}: the embedded server with nbdkit's common flags (shared/CLI.md). */
@Command(name = "serve", addMethodSubcommands = false, mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {
            "Serve a memory, file, null or pattern disk over NBD (the embedded server; nbdkit's common flags).",
            "",
            "Backends: memory SIZE | file PATH | null SIZE | pattern SIZE  (SIZE like 1G, 512M, 100k;"
                    + " nbdkit's size=SIZE and file=PATH forms work too).",
            "Several exports: -e NAME names the export of BACKEND ARGS; each -e NAME=BACKEND:ARG adds one more,"
                    + " e.g. -e disk2=memory:1G -e iso=file:/tmp/x.iso.",
            "Listens on TCP port 10809 unless -U, -p or -s says otherwise, or systemd socket activation"
                    + " (LISTEN_PID/LISTEN_FDS) hands it sockets. Runs in the foreground until killed."
        })
public final class ServeCommand implements Callable<Integer>, Main.Verbose {
    @Option(names = {"-U", "--unix"}, paramLabel = "SOCKET", description = "Listen on a Unix socket (removed at exit).")
    Path socket;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Listen on this TCP port (default 10809).")
    Integer port;

    @Option(names = {"-i", "--ipaddr"}, paramLabel = "ADDR", description = "Listen on this address only.")
    String address;

    @Option(names = {"-s", "--single"}, description = "Serve one client on stdin/stdout, then exit.")
    boolean single;

    @Option(names = {"-r", "--readonly"}, description = "Serve every export read-only.")
    boolean readOnly;

    @Option(names = {"-e", "--export-name"}, paramLabel = "NAME[=BACKEND:ARG]",
            description = "Name the export, or add another export.")
    List<String> exportNames = new ArrayList<>();

    @Option(names = "--exit-with-parent", description = "Exit when the parent process exits.")
    boolean exitWithParent;

    @Option(names = "--tls", paramLabel = "off|on|require",
            description = "Offer TLS (on) or insist on it (require), as nbdkit; needs --tls-certificates.")
    String tls = "off";

    @Option(names = "--tls-certificates", paramLabel = "DIR",
            description = "Directory with server-cert.pem and server-key.pem.")
    Path tlsCertificates;

    @Option(names = {"-f", "--foreground"}, description = "Accepted for nbdkit compatibility: always foreground.")
    boolean foreground;

    @Option(names = {"-v", "--verbose"}, description = "Stack traces on errors.")
    boolean verbose;

    @Parameters(paramLabel = "BACKEND ARGS", description = "memory SIZE, file PATH, null SIZE or pattern SIZE.")
    List<String> backendArgs = new ArrayList<>();

    @Override
    public boolean verbose() {
        return verbose;
    }

    @Override
    public Integer call() throws Exception {
        NbdServer.Builder b = NbdServer.builder().readOnly(readOnly);
        String mainName = "";
        List<String[]> extra = new ArrayList<>();
        for (String e : exportNames) {
            int eq = e.indexOf('=');
            if (eq < 0) {
                mainName = e;
            } else {
                int colon = e.indexOf(':', eq);
                if (colon < 0) {
                    throw new ToolException(1, "-e " + e + ": write NAME=BACKEND:ARG, e.g. disk=memory:1G");
                }
                extra.add(new String[] {e.substring(0, eq), e.substring(eq + 1, colon), e.substring(colon + 1)});
            }
        }
        if (backendArgs.isEmpty() && extra.isEmpty()) {
            throw new ToolException(1, "no backend: try 'jnbd serve memory 1G'");
        }
        List<Backend> opened = new ArrayList<>();
        try {
            if (!backendArgs.isEmpty()) {
                if (backendArgs.size() != 2) {
                    throw new ToolException(1, "expected BACKEND and one argument, e.g. memory 1G or file disk.img");
                }
                opened.add(backend(backendArgs.get(0), backendArgs.get(1)));
                b.export(mainName, opened.getLast());
            }
            for (String[] x : extra) {
                opened.add(backend(x[1], x[2]));
                b.export(x[0], opened.getLast());
            }
            tls(b);
            listen(b);
        } catch (IOException | RuntimeException e) {
            for (Backend o : opened) {
                o.close();
            }
            throw e;
        }
        NbdServer server = b.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "jnbd-serve-shutdown"));
        if (exitWithParent) {
            ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> System.exit(0)));
        }
        server.awaitTermination();
        server.close();
        return 0;
    }

    private void tls(NbdServer.Builder b) {
        switch (tls) {
            case "off" -> {
                return;
            }
            case "on", "require" -> {
                if (tlsCertificates == null) {
                    throw new ToolException(1, "--tls=" + tls + " needs --tls-certificates DIR");
                }
                b.tls(tlsCertificates, tls.equals("require"));
            }
            default -> throw new ToolException(1, "--tls: expected off, on or require, not '" + tls + "'");
        }
    }

    private void listen(NbdServer.Builder b) throws IOException {
        if (NbdServer.isSocketActivated()) {
            b.socketActivation();
            return;
        }
        int modes = (single ? 1 : 0) + (socket != null ? 1 : 0) + (port != null || address != null ? 1 : 0);
        if (modes > 1) {
            throw new ToolException(1, "-s, -U and -p/-i cannot be combined");
        }
        if (single) {
            b.stdio();
        } else if (socket != null) {
            if (Files.exists(socket)) {
                throw new ToolException(1, socket + ": already exists");
            }
            b.unixSocket(socket);
        } else {
            b.tcp(address == null ? "0.0.0.0" : address, port == null ? 10809 : port);
        }
    }

    private Backend backend(String name, String arg) throws IOException {
        String value = arg.replaceFirst("^(size|file)=", "");
        try {
            return switch (name) {
                case "memory" -> Backend.memory(Backend.parseSize(value));
                case "null" -> Backend.nullDevice(Backend.parseSize(value));
                case "pattern" -> Backend.pattern(Backend.parseSize(value));
                case "file" -> Backend.file(Path.of(value), readOnly);
                default -> throw new ToolException(1, "unknown backend '" + name
                        + "': memory, file, null or pattern");
            };
        } catch (IllegalArgumentException e) {
            throw new ToolException(1, name + ": " + e.getMessage());
        }
    }
}
