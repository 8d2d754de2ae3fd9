package io.jnbd.tools;

import io.jnbd.NbdHandle;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./jnbd}: dispatches to the subcommands. */
@Command(name = "jnbd", mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "NBD client tools (the jnbd counterparts of libnbd's nbdinfo, nbdcopy, nbddump, nbdsh).")
public final class Main implements Runnable {

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            try (NbdHandle h = new NbdHandle()) {
                return new String[] {"jnbd " + h.getVersion() + " (libnbd " + NbdHandle.LIBNBD_API_VERSION + " API)"};
            }
        }
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
