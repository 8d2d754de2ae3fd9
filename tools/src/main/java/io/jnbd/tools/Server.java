package io.jnbd.tools;

import io.jnbd.NbdHandle;
import java.util.List;

/**
 * A server as libnbd's tools name it on the command line: an NBD URI, or a
 * command to run ({@code [ CMD ARGS ... ]} or the words after {@code --}).
 */
public sealed interface Server {

    /** An NBD URI ({@code nbd://}, {@code nbds+unix://}, ...). */
    record Uri(String uri) implements Server {
        @Override
        public String toString() {
            return uri;
        }
    }

    /** A server command and its arguments, run as a subprocess of the tool. */
    record Command(List<String> argv) implements Server {
        public Command {
            argv = List.copyOf(argv);
        }

        @Override
        public String toString() {
            return "[ " + String.join(" ", argv) + " ]";
        }
    }

    /** The server a positional argument names: a placeholder of {@link Argv} is a command, anything else a URI. */
    static Server of(Argv argv, String word) {
        return argv.command(word).<Server>map(Command::new).orElseGet(() -> new Uri(word));
    }

    /**
     * Connects {@code h}: a URI with {@code connectUri}; a command with systemd
     * socket activation (as nbdinfo, nbdcopy and nbddump do) or over its
     * stdin/stdout ({@code socketActivation} false).
     */
    default void connect(NbdHandle h, boolean socketActivation) {
        switch (this) {
            case Uri u -> h.connectUri(u.uri());
            case Command c when socketActivation -> h.connectSystemdSocketActivation(c.argv());
            case Command c -> h.connectCommand(c.argv());
        }
    }
}
