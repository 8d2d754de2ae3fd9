package io.jnbd.tools;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The streams a tool reads and writes: the process's own, or a test's.
 *
 * <p>{@code out} is both the text stream and the binary one ({@code jnbd copy
 * ... -} writes raw bytes through it), so it never translates anything.
 * Tools must not use {@link System#out} directly: tests run them in-process.
 *
 * @param in    standard input
 * @param out   standard output, UTF-8, flushed by the caller at exit
 * @param err   standard error, UTF-8
 * @param isTty whether standard output and error are terminals (progress bars, colours)
 */
public record Console(InputStream in, PrintStream out, PrintStream err, boolean isTty) {

    /** The process's standard streams, buffered. */
    public static Console system() {
        var out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                false, StandardCharsets.UTF_8);
        var err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        return new Console(new FileInputStream(FileDescriptor.in), out, err, System.console() != null);
    }

    /** A console for tests: input from {@code in}, output into the given streams, not a terminal. */
    public static Console of(InputStream in, OutputStream out, OutputStream err) {
        return new Console(in, new PrintStream(out, false, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), false);
    }

    public void flush() {
        out.flush();
        err.flush();
    }
}
