package io.jnbd.tools.sh;

import io.jnbd.NbdHandle;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** What every jnbd shell starts with: the library on its class path, imports, and {@code h}. */
final class Prelude {
    private Prelude() {
    }

    /**
     * The class path the shell compiles snippets against: where the library
     * and this tool were loaded from (jars under ./jnbd, class directories in
     * tests). At run time the snippets' class loader delegates to the
     * application class loader first, so they get the very classes the tool
     * runs on, and {@code h} is the tool's own object.
     */
    static String classPath() {
        return Stream.of(NbdHandle.class, Handoff.class).map(Prelude::location).distinct()
                .collect(Collectors.joining(File.pathSeparator));
    }

    private static String location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate " + c.getName(), e);
        }
    }

    /**
     * The startup snippets: a few imports (each costs a compilation, some
     * 40 ms), the library's package,
     * {@code assert} switched on (nbdsh scripts use Python's), and, given a
     * hand-off key, {@code h}.
     */
    static String source(String handoffKey) {
        StringBuilder s = new StringBuilder();
        for (String p : new String[] {"java.nio", "java.util", "java.util.concurrent", "io.jnbd"}) {
            s.append("import ").append(p).append(".*;\n");
        }
        // Snippets run on threads whose context loader is the one that defines their classes.
        s.append("Thread.currentThread().getContextClassLoader().setDefaultAssertionStatus(true);\n");
        if (handoffKey != null) {
            s.append("NbdHandle h = ").append(Handoff.class.getName()).append(".take(\"").append(handoffKey)
                    .append("\");\n");
        }
        return s.toString();
    }
}
