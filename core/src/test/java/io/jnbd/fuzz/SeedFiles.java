package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks a seed corpus gets, core's and the server's alike: the files
 * match the corpus, every seed still gets as far as it was written to (a seed
 * that a protocol change made invalid would quietly stop guiding the
 * fuzzer), and each fuzz class holds one target with seeds.
 */
public final class SeedFiles {
    private SeedFiles() {
    }

    /**
     * Each seed's file under {@code source} (relative to the module, where
     * Maven runs the tests) holds its bytes; {@code -Djnbd.fuzz.writeSeeds=true}
     * rewrites the files first.
     */
    public static void assertFilesMatch(Path source, List<Seed> seeds) throws IOException {
        boolean write = Boolean.getBoolean("jnbd.fuzz.writeSeeds");
        for (Seed s : seeds) {
            Path file = source.resolve(s.path());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, s.bytes());
            }
            assertTrue(Files.exists(file), file + " is missing: run the tests with -Djnbd.fuzz.writeSeeds=true");
            assertArrayEquals(s.bytes(), Files.readAllBytes(file),
                    file + " is out of date: run the tests with -Djnbd.fuzz.writeSeeds=true");
        }
    }

    public static void assertSeedsHold(List<Seed> seeds) throws Throwable {
        for (Seed s : seeds) {
            assertTrue(s.check().holds(s.bytes()), s.path() + " no longer does what it was written for");
        }
    }

    /**
     * Every {@code *FuzzTest} class in {@code test}'s package has exactly one
     * fuzz method, and it has seeds: Jazzer fuzzes one target per JVM, and
     * fuzz/run.sh gives each class a JVM of its own.
     */
    public static void assertOneTargetPerClassWithSeeds(Class<?> test, List<Seed> seeds)
            throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Path.of(test.getResource(".").toURI());
        List<Path> files;
        try (Stream<Path> list = Files.list(classes)) {
            files = list.filter(f -> f.getFileName().toString().endsWith("FuzzTest.class")).toList();
        }
        assertFalse(files.isEmpty(), "no fuzz classes in " + classes);
        for (Path f : files) {
            String name = f.getFileName().toString();
            Class<?> target = Class.forName(test.getPackageName() + "."
                    + name.substring(0, name.length() - ".class".length()));
            List<Method> methods = Stream.of(target.getDeclaredMethods())
                    .filter(m -> m.isAnnotationPresent(FuzzTest.class)).toList();
            assertEquals(1, methods.size(), target.getSimpleName() + " has " + methods.size() + " fuzz targets");
            String method = methods.getFirst().getName();
            assertTrue(seeds.stream().anyMatch(s -> s.target() == target && s.method().equals(method)),
                    target.getSimpleName() + "#" + method + " has no seeds");
        }
    }
}
