package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;

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
 * Keeps the seed corpus honest: the files match {@link SeedCorpus}, every
 * fuzz target has seeds, and every seed still gets as far as it was written
 * to (a seed that a protocol change made invalid would quietly stop guiding
 * the fuzzer). {@code -Djnbd.fuzz.writeSeeds=true} rewrites the files.
 */
class SeedCorpusTest {
    /** Relative to the module, where Maven runs the tests. */
    private static final Path SOURCE = Path.of("src/test/resources/io/jnbd/fuzz");

    @Test
    void filesMatchTheSeedCorpus() throws IOException {
        boolean write = Boolean.getBoolean("jnbd.fuzz.writeSeeds");
        for (SeedCorpus.Seed s : SeedCorpus.all()) {
            Path file = SOURCE.resolve(s.path());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, s.bytes());
            }
            assertTrue(Files.exists(file), file + " is missing: run the tests with -Djnbd.fuzz.writeSeeds=true");
            assertArrayEquals(s.bytes(), Files.readAllBytes(file),
                    file + " is out of date: run the tests with -Djnbd.fuzz.writeSeeds=true");
        }
    }

    @Test
    void seedsGetAsFarAsIntended() throws Throwable {
        for (SeedCorpus.Seed s : SeedCorpus.all()) {
            assertTrue(s.check().holds(s.bytes()), s.path() + " no longer does what it was written for");
        }
    }

    /**
     * Each fuzz class holds exactly one target: Jazzer fuzzes one target per
     * JVM, and fuzz/run.sh gives each class a JVM of its own.
     */
    @Test
    void everyFuzzClassHasOneTargetWithSeeds() throws IOException, URISyntaxException, ClassNotFoundException {
        List<SeedCorpus.Seed> seeds = SeedCorpus.all();
        Path classes = Path.of(SeedCorpusTest.class.getResource(".").toURI());
        List<Path> files;
        try (Stream<Path> list = Files.list(classes)) {
            files = list.filter(f -> f.getFileName().toString().endsWith("FuzzTest.class")).toList();
        }
        assertFalse(files.isEmpty(), "no fuzz classes in " + classes);
        for (Path f : files) {
            String name = f.getFileName().toString();
            Class<?> target = Class.forName(getClass().getPackageName() + "."
                    + name.substring(0, name.length() - ".class".length()));
            List<Method> methods = Stream.of(target.getDeclaredMethods())
                    .filter(m -> m.isAnnotationPresent(FuzzTest.class)).toList();
            assertEquals(1, methods.size(), target.getSimpleName() + " has " + methods.size() + " fuzz targets");
            String method = methods.getFirst().getName();
            assertTrue(seeds.stream().anyMatch(s -> s.target() == target && s.method().equals(method)),
                    target.getSimpleName() + "#" + method + " has no seeds in SeedCorpus");
        }
    }
}
