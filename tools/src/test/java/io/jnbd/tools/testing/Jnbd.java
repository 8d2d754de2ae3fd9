package io.jnbd.tools.testing;

import io.jnbd.tools.Console;
import io.jnbd.tools.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;

/** Runs {@code jnbd ARGS} in-process, as {@code ./jnbd} would, and captures what it prints. */
public final class Jnbd {
    private Jnbd() {
    }

    public static Libnbd122.Result run(String... args) {
        return runWithInput(new byte[0], args);
    }

    public static Libnbd122.Result runWithInput(byte[] stdin, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        Console console = Console.of(new ByteArrayInputStream(stdin), out, err);
        int status = Main.run(console, args);
        console.flush();
        return new Libnbd122.Result(status, out.toByteArray(), err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
