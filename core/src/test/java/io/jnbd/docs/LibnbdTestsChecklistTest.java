package io.jnbd.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docs/libnbd-tests.md, the checklist of libnbd's own tests, cannot rot: every
 * test class and method it names as a counterpart exists in the test sources
 * of core, server and tools, and its Counts tables agree with its rows.
 *
 * <p>A counterpart cell reads {@code not yet [why]}, {@code –}, or refs:
 * groups separated by {@code ;}, each {@code Class[.method][, method...]},
 * optionally after {@code partial: }; text in parentheses is commentary.
 */
class LibnbdTestsChecklistTest {
    private static final Path ROOT = Path.of("..");
    private static final Path DOC = ROOT.resolve("docs").resolve("libnbd-tests.md");
    private static final List<String> MODULES = List.of("core", "server", "tools");

    private static final Pattern CLASS_REF = Pattern.compile("([A-Z][A-Za-z0-9]*)(?:\\.([a-z][A-Za-z0-9]*))?");
    private static final Pattern METHOD = Pattern.compile("[a-z][A-Za-z0-9]*");
    private static final Pattern METHOD_DECLARATION = Pattern.compile("\\bvoid\\s+([a-z][A-Za-z0-9]*)\\s*\\(");
    private static final Pattern PARENTHESES = Pattern.compile("\\([^()]*\\)");

    private record Row(String section, String test, String applies, String issue, String counterpart) {
        boolean applicable() {
            return applies.startsWith("yes");
        }

        boolean notYet() {
            return counterpart.startsWith("not yet");
        }

        boolean partial() {
            return counterpart.startsWith("partial:");
        }

        /** "#5 (+#6)" counts under #5. */
        String mainIssue() {
            return issue.split(" ")[0];
        }

        String name() {
            return section + " " + test;
        }
    }

    private static List<Row> rows(List<String> lines) {
        List<Row> rows = new ArrayList<>();
        String section = null;
        for (String line : lines) {
            if (line.startsWith("## ")) {
                section = line.substring(3).trim();
            } else if (section != null && line.startsWith("| ") && !line.startsWith("| Test |")) {
                String[] cells = line.substring(2, line.length() - 2).split(" \\| ", -1);
                assertEquals(5, cells.length, "a row of five cells: " + line);
                rows.add(new Row(section, cells[0].trim(), cells[2].trim(), cells[3].trim(), cells[4].trim()));
            }
        }
        return rows;
    }

    /** Simple class name to the test methods declared in its source, over every module's test sources. */
    private static Map<String, Set<String>> testSources() throws IOException {
        Map<String, Set<String>> classes = new HashMap<>();
        for (String module : MODULES) {
            Path tree = ROOT.resolve(module).resolve("src").resolve("test").resolve("java");
            if (!Files.isDirectory(tree)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(tree)) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> {
                    String name = p.getFileName().toString().replace(".java", "");
                    Set<String> methods = classes.computeIfAbsent(name, k -> new HashSet<>());
                    try {
                        Matcher m = METHOD_DECLARATION.matcher(Files.readString(p));
                        while (m.find()) {
                            methods.add(m.group(1));
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
        return classes;
    }

    /** The problems with one counterpart cell: unreadable parts, unknown classes or methods. */
    private static List<String> check(Row row, Map<String, Set<String>> sources) {
        String cell = row.counterpart();
        if (cell.equals("–") || row.notYet()) {
            return List.of();
        }
        String refs = cell.startsWith("partial:") ? cell.substring("partial:".length()) : cell;
        String previous;
        do {
            previous = refs;
            refs = PARENTHESES.matcher(refs).replaceAll("");
        } while (!refs.equals(previous));
        List<String> problems = new ArrayList<>();
        for (String group : refs.split(";")) {
            String currentClass = null;
            for (String item : group.split(",")) {
                String ref = item.trim();
                Matcher c = CLASS_REF.matcher(ref);
                if (c.matches()) {
                    currentClass = c.group(1);
                    if (!sources.containsKey(currentClass)) {
                        problems.add(row.name() + ": no test class " + currentClass);
                    } else if (c.group(2) != null && !sources.get(currentClass).contains(c.group(2))) {
                        problems.add(row.name() + ": no method " + currentClass + "#" + c.group(2));
                    }
                } else if (METHOD.matcher(ref).matches() && currentClass != null) {
                    if (sources.containsKey(currentClass) && !sources.get(currentClass).contains(ref)) {
                        problems.add(row.name() + ": no method " + currentClass + "#" + ref);
                    }
                } else {
                    problems.add(row.name() + ": cannot read \"" + ref + "\" in: " + cell);
                }
            }
        }
        return problems;
    }

    @Test
    void everyCounterpartExists() throws IOException {
        List<Row> rows = rows(Files.readAllLines(DOC));
        assertTrue(rows.size() > 200, "rows read: " + rows.size());
        Map<String, Set<String>> sources = testSources();
        List<String> problems = new ArrayList<>();
        for (Row row : rows) {
            problems.addAll(check(row, sources));
            if (!row.applies().startsWith("yes") && !row.applies().startsWith("no")) {
                problems.add(row.name() + ": Applies must start with yes or no: " + row.applies());
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " stale counterparts in docs/libnbd-tests.md:\n" + String.join("\n", problems));
        }
    }

    private static String covered(List<Row> rows) {
        long covered = rows.stream().filter(r -> !r.notYet()).count();
        long partial = rows.stream().filter(Row::partial).count();
        return covered + " (" + partial + ")";
    }

    /** The two Counts tables as they must read, computed from the rows. */
    static String countTables(List<Row> rows) {
        List<Row> applicable = rows.stream().filter(Row::applicable).toList();
        StringBuilder b = new StringBuilder();
        b.append("| total | applicable | covered (of which partial) | not yet | not applicable |\n");
        b.append("|---|---|---|---|---|\n");
        b.append("| ").append(rows.size()).append(" | ").append(applicable.size()).append(" | ")
                .append(covered(applicable)).append(" | ").append(applicable.stream().filter(Row::notYet).count())
                .append(" | ").append(rows.size() - applicable.size()).append(" |\n");
        b.append("\n");
        b.append("By issue (applicable rows; `#5 (+#6)` rows count under #5):\n\n");
        b.append("| issue | applicable | covered (of which partial) | not yet |\n");
        b.append("|---|---|---|---|\n");
        Map<String, List<Row>> byIssue = new TreeMap<>();
        applicable.forEach(r -> byIssue.computeIfAbsent(r.mainIssue(), k -> new ArrayList<>()).add(r));
        byIssue.forEach((issue, list) -> b.append("| ").append(issue).append(" | ").append(list.size()).append(" | ")
                .append(covered(list)).append(" | ").append(list.stream().filter(Row::notYet).count()).append(" |\n"));
        return b.toString();
    }

    @Test
    void countsAgreeWithTheRows() throws IOException {
        String doc = Files.readString(DOC);
        String expected = countTables(rows(doc.lines().toList()));
        assertTrue(doc.contains(expected), "the Counts tables of docs/libnbd-tests.md must read:\n" + expected);
    }
}
