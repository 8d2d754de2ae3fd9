package io.jnbd.tools.sh;

import io.jnbd.tools.Console;
import io.jnbd.tools.ToolException;
import java.util.Locale;
import java.util.stream.Collectors;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;

/**
 * The non-interactive shell of {@code -c}: Java code run snippet by snippet
 * in one JShell (local execution), stopping at the first that fails.
 */
final class Script implements AutoCloseable {
    private static final String NBD_EXCEPTION = "io.jnbd.NbdException";

    private final JShell shell;
    private final Console console;

    Script(Console console, String startup) {
        this.console = console;
        this.shell = JShell.builder().executionEngine("local").in(console.in()).out(console.out())
                .err(console.err()).build();
        shell.addToClasspath(Prelude.classPath());
        run(startup);
    }

    /**
     * Runs {@code code}, one or more snippets (statements, expressions,
     * declarations); values are not printed.
     *
     * @throws ToolException naming the snippet that did not compile, the
     *         exception one threw (an NbdException by its message alone, as
     *         nbdsh does), or input that ends inside a snippet
     */
    void run(String code) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String rest = code;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            switch (info.completeness()) {
                case EMPTY -> {
                    return;
                }
                case DEFINITELY_INCOMPLETE, CONSIDERED_INCOMPLETE ->
                    throw failed("incomplete code: " + oneLine(rest), null);
                default -> {
                    evaluate(info.source());
                    rest = info.remaining();
                }
            }
        }
    }

    private void evaluate(String source) {
        try {
            for (SnippetEvent e : shell.eval(source)) {
                if (e.exception() != null) {
                    throw failed(describe(e.exception()), e.exception());
                }
                if (e.status() == Snippet.Status.REJECTED) {
                    String diagnostics = shell.diagnostics(e.snippet()).filter(Diag::isError)
                            .map(d -> oneLine(d.getMessage(Locale.ROOT))).collect(Collectors.joining("; "));
                    throw failed(oneLine(source) + ": " + diagnostics, null);
                }
            }
        } finally {
            console.out().flush();
        }
    }

    private static String describe(JShellException e) {
        return switch (e) {
            case EvalException ee when ee.getExceptionClassName().equals(NBD_EXCEPTION) -> ee.getMessage();
            case EvalException ee -> ee.getExceptionClassName() + (ee.getMessage() == null ? "" : ": " + ee.getMessage());
            case UnresolvedReferenceException ue -> "unresolved reference: " + ue.getSnippet().source().strip();
            default -> e.toString();
        };
    }

    private static ToolException failed(String message, Throwable cause) {
        return new ToolException(1, "command line script failed: " + message, cause);
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\n\\s*", " ");
    }

    @Override
    public void close() {
        shell.close();
    }
}
